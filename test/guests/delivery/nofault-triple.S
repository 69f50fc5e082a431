/*
 * nofault-triple.S - an exception with no IDT: triple fault (test guest for exception delivery).
 * kvm-guest: mode=protected
 *
 * Starts in 32-bit protected mode with the monitor's state: empty IDT (base 0, limit 0). It prints
 * on the debug console (port 0xE9), then executes `ud2`.
 *
 * Expected, per SDM vol. 3 6.15 (tables 6-4, 6-5) and 6.10 (IDT limit): #UD finds no IDT entry
 * → #GP(6·8+2+1 = 0x33) (benign then contributory: delivered serially) → no entry for 13 either
 * → #GP(0x6B) after #GP: contributory + contributory → #DF → no entry for 8 → triple fault
 * (shutdown). Output, exactly: "about to ud2\n"; nothing after it; the run ends in a triple fault
 * (`kvm-guest run` exit status 3) with EIP at `ud_site` (the ud2) and ESP = 0xA0000.
 */
#include "kvm-guest.h"

        .code32
        .section .start, "ax"
        .globl  _start
_start:
        movl    $msg, %esi
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, $DEBUG_CONSOLE_PORT
        jmp     1b
2:
        .globl  ud_site
ud_site:
        ud2
        movl    $msg_bad, %esi          /* never reached */
        jmp     1b
3:      hlt
        jmp     3b

        .section .rodata
msg:     .asciz "about to ud2\n"
msg_bad: .asciz "ud2 returned?!\n"
