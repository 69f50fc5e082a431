/*
 * A real-mode kernel started at the PC's reset vector (F000:FFF0), as in the Linux Journal
 * launcher: the 64 KiB image is loaded at 0xF0000. It prints on the 16550 UART and halts.
 * Press F5 to build and debug it; set a breakpoint by clicking left of a line number.
 */
#include "kvm-guest.h"

.code16
start:
    mov     $message, %si
1:  mov     %cs:(%si), %al          // DS is 0: read the string through CS
    test    %al, %al
    jz      2f
    mov     $(COM1_PORT + UART_THR), %dx
    out     %al, %dx
    inc     %si
    jmp     1b
2:  hlt                             // interrupts are off: the guest ends here

message:
    .asciz  "Hello from real mode!\n"

. = 0xfff0                          // the reset vector
    ljmp    $0xf000, $start
