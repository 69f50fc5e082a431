/*
 * A guest started directly in 32-bit protected mode: flat segments, a stack at 0xA0000, paging
 * off, entered at _start (the image is linked at 1 MiB). It prints on the debug console (port
 * 0xE9), keeps a counter in memory and halts.
 */
#include "kvm-guest.h"

        .code32
        .section .start, "ax"
        .globl  _start
_start:
        movl    $message, %esi
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, $DEBUG_CONSOLE_PORT
        incl    counter
        jmp     1b
2:      movl    counter, %eax           // EAX = characters printed
        hlt

        .section .rodata
message:
        .asciz  "Hello from protected mode!\n"

        .data
        .globl  counter
counter:
        .long   0
