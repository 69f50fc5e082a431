/*
 * A 64-bit long-mode guest: the monitor sets up paging (identity map of 4 GiB with 2 MiB pages),
 * a GDT and RSP = 0xA0000. It prints on the 16550 UART through a function and halts.
 */
#include "kvm-guest.h"

        .code64
        .section .start, "ax"
        .globl  _start
_start:
        leaq    message(%rip), %rsi
        call    puts
        movq    $42, %rax
        hlt

        .text
/* puts: writes the NUL-terminated string at %rsi to COM1, waiting for the transmitter. */
puts:
1:      movzbl  (%rsi), %ecx
        testl   %ecx, %ecx
        jz      3f
        movw    $(COM1_PORT + UART_LSR), %dx
2:      inb     %dx, %al
        testb   $UART_LSR_THRE, %al
        jz      2b
        movw    $(COM1_PORT + UART_THR), %dx
        movl    %ecx, %eax
        outb    %al, %dx
        incq    %rsi
        jmp     1b
3:      ret

        .section .rodata
message:
        .asciz  "Hello from long mode!\n"
