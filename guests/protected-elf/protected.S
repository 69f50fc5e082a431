/*
 * protected.S - a guest started directly in 32-bit protected mode from its ELF, for
 * KVM Guest Studio (the "start in PM, load an ELF" way of the KVM slides: no real-mode boot).
 *
 * The VMM loads the PT_LOAD segments at 1 MiB and enters _start with CR0.PE set, flat 4 GiB
 * segments and ESP = 0xA0000. The guest checks CR0 itself, reports on the debug console,
 * stores a magic value at `magic` (in .data) and halts with it in EAX.
 * Builds for `--mode protected` (paging off) and `--mode paged32` (paging on).
 */
#include "kvm-guest.h"

#define CR0_PE    0x00000001
#define CR0_PG    0x80000000
#define MAGIC     0x600dc0de

        .code32
        .section .start, "ax"
        .globl  _start
_start:
        cld
        movl    %cr0, %ebx

        movl    $pm_yes, %esi
        testl   $CR0_PE, %ebx
        jnz     1f
        movl    $pm_no, %esi            /* cannot happen in 32-bit code, but say so if it does */
1:      call    debug_puts

        movl    $paging_on, %esi
        testl   $CR0_PG, %ebx
        jnz     2f
        movl    $paging_off, %esi
2:      call    debug_puts

        movl    $MAGIC, magic           /* a store through flat DS to the data segment */
        movl    magic, %eax             /* and back: EAX = 0x600dc0de at the halt */
        cli
3:      hlt
        jmp     3b

        .text
/* debug_puts: writes the NUL-terminated string at %esi to the debug console. Clobbers %eax, %esi. */
debug_puts:
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, $DEBUG_CONSOLE_PORT
        jmp     1b
2:      ret

        .section .rodata
pm_yes:     .asciz  "protected mode: yes\n"
pm_no:      .asciz  "protected mode: no\n"
paging_on:  .asciz  "paging: on\n"
paging_off: .asciz  "paging: off\n"

        .data
        .globl  magic
        .balign 4
magic:  .long   0
