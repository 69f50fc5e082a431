/*
 * hello.c - a kvm-hello-world style guest in C, for KVM Guest Studio.
 *
 * The same source builds for `--mode protected`, `--mode paged32` and `--mode long`: the VMM
 * starts it at _start with flat segments and a stack, so plain C runs from the first
 * instruction. It greets on the debug console, leaves 42 at physical 0x400 (a 32-bit long
 * in protected/paged32, a 64-bit long in long mode) and halts with 42 in EAX.
 */
#include "kvm-guest.h"

/* Section .start is linked first, at the load address: the ELF entry. */
void __attribute__((noreturn, section(".start"))) _start(void)
{
    debug_puts("Hello, world!\n");

    /* volatile: the store is the guest's result, the VMM reads it back after the halt. */
    *(volatile long *)0x400 = 42;

    for (;;)
        __asm__ volatile("hlt" : : "a"(42) : "memory");
}
