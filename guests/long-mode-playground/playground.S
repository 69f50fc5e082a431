/*
 * playground.S - a long-mode playground guest for KVM Guest Studio.
 *
 * Starts in 64-bit mode (the VMM sets up paging, flat segments, RSP = 0xA0000). It prints on
 * the 16550 UART at 0x3F8, polling LSR.THRE before each byte, then reads 32 bits from an
 * address with no RAM behind it: the identity map covers it, so the read leaves the guest as
 * an MMIO exit and the VMM answers. It prints the value and whether it was all ones
 * (what an empty bus returns on a PC), then halts.
 */
#include "kvm-guest.h"

/* Above RAM but below 4 GiB, inside the VMM's identity map. Also spelled out in `probe_msg`. */
#define MMIO_PROBE_ADDRESS 0xd0000000

        .code64
        .section .start, "ax"
        .globl  _start
_start:
        cld
        leaq    banner(%rip), %rsi
        call    serial_puts

        movl    $MMIO_PROBE_ADDRESS, %ebx       /* zero-extends into %rbx */
        movl    (%rbx), %r12d                   /* the MMIO read: 4 bytes */

        leaq    probe_msg(%rip), %rsi
        call    serial_puts
        movl    %r12d, %edi
        call    serial_put_hex32
        movl    $0x0a, %edi                    /* '\n' */
        call    serial_putc

        leaq    all_ones_yes(%rip), %rsi
        cmpl    $0xffffffff, %r12d
        je      1f
        leaq    all_ones_no(%rip), %rsi
1:      call    serial_puts

        movl    %r12d, %eax                     /* leave the value for `info registers` */
        cli
2:      hlt
        jmp     2b

        .text
/* serial_putc: sends the byte in %dil to COM1. Clobbers %eax, %edx. */
serial_putc:
        movw    $(COM1_PORT + UART_LSR), %dx
1:      inb     %dx, %al
        testb   $UART_LSR_THRE, %al
        jz      1b                              /* wait until the holding register is free */
        movw    $(COM1_PORT + UART_THR), %dx
        movl    %edi, %eax
        outb    %al, %dx
        ret

/* serial_puts: sends the NUL-terminated string at %rsi. Clobbers %eax, %edx, %edi, %rsi. */
serial_puts:
1:      movzbl  (%rsi), %edi
        testl   %edi, %edi
        jz      2f
        call    serial_putc
        incq    %rsi
        jmp     1b
2:      ret

/* serial_put_hex32: sends %edi as 8 hex digits. Clobbers %eax, %ecx, %edx, %edi, %r8d. */
serial_put_hex32:
        movl    %edi, %r8d
        movl    $8, %ecx
1:      roll    $4, %r8d                        /* next nibble, most significant first */
        movl    %r8d, %edi
        andl    $0xf, %edi
        leaq    hex_digits(%rip), %rax
        movzbl  (%rax,%rdi), %edi
        call    serial_putc
        decl    %ecx
        jnz     1b
        ret

        .section .rodata
banner:
        .asciz  "long-mode playground: hello from 64-bit mode on the 16550 UART\n"
probe_msg:
        .asciz  "mmio read32 [0xd0000000] = 0x"
all_ones_yes:
        .asciz  "all ones: yes (nothing answers at that address)\n"
all_ones_no:
        .asciz  "all ones: no\n"
hex_digits:
        .ascii  "0123456789abcdef"
