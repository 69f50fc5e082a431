// kvm-guest: mode=long
/*
 * A freestanding C guest. The monitor starts it at _start (section .start, linked at 1 MiB) with
 * a stack, flat segments and, in long mode, identity-mapped paging. The marker above says which
 * mode F5 uses; change it to protected to build the same code as 32-bit.
 */
#include "kvm-guest.h"

static unsigned fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

void __attribute__((noreturn, section(".start"))) _start(void)
{
    serial_puts("Hello from C!\n");
    volatile unsigned result = fib(10);
    *(volatile unsigned *)0x400 = result;
    for (;;)
        __asm__ volatile("hlt" : : "a"(result) : "memory");
}
