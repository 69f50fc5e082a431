/*
 * Sleeps with interrupts enabled and nothing armed to wake it: `sti; hlt` in a loop, after one line
 * on the UART. With the monitor's controllers nothing can ever raise an interrupt, so the run ends
 * halted; with KVM's in-kernel ones the vCPU sleeps in the kernel, as on QEMU, until a stop.
 */
        .code64
        .section .start, "ax"
        .globl  _start
_start:
        leaq    msg(%rip), %rsi
        movw    $0x3f8, %dx
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, %dx
        jmp     1b
2:      sti
sleep:  hlt
        jmp     sleep

        .section .rodata
msg:    .asciz  "sleeping with interrupts on\n"
