/*
 * realmode-int.S - real-mode software interrupt through the IVT (test guest for exception delivery).
 * kvm-guest: mode=real
 *
 * Runs at the reset vector like guests/linux-journal/kernel2.S (image at 0xF0000, F000:FFF0). It
 * sets SS:SP = 9800:8000 and DS = 0 itself (so it runs the same under QEMU's -bios), installs
 * IVT[0x42] = F000:int42, sets FLAGS = 0x0203 (IF, CF), executes `int $0x42` and halts after the handler returns.
 *
 * Expected, per SDM vol. 2 "INT n" (REAL-ADDRESS-MODE) and vol. 3 20.1.4:
 *   The processor pushes FLAGS, CS, IP (SP 0x8000 → 0x7FFA), clears IF, TF and AC and jumps to
 *   IVT[0x42]. The handler sees:
 *     [SS:SP]   = IP of `after_int` (the instruction after the 2-byte INT)   → stored at 0x500
 *     [SS:SP+2] = 0xF000 (CS)                                              → stored at 0x502
 *     [SS:SP+4] = 0x0203 (FLAGS before INT: IF | reserved bit 1 | CF)      → stored at 0x504
 *     FLAGS inside the handler = 0x0003 (IF cleared, CF kept)              → stored at 0x506
 *     SP inside the handler    = 0x7FFA                                    → stored at 0x508
 *   and checks them itself. Output on port 0xF1 (pseudo-serial), exactly:
 *     "before int\nin handler\nframe ok\nafter iret\n"
 *   ("frame BAD\n" instead of "frame ok\n" if any check fails.)
 *   At the halt: BX = 0x4242 (set by the handler), IF = 0 (cli), SP = 0x8000, CS = 0xF000.
 */
#include "kvm-guest.h"

#define IVT_42   (0x42 * 4)
#define RECORD   0x500

        .code16
start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    $0x9800, %ax
        movw    %ax, %ss
        movw    $0x8000, %sp

        movw    $int42, IVT_42          /* IVT[0x42].offset  (DS = 0) */
        movw    %cs, IVT_42 + 2         /* IVT[0x42].segment */

        movw    $msg_before, %si
        call    puts

        xorw    %bx, %bx
        pushw   $0x0203                 /* FLAGS = IF | bit 1 | CF exactly at the INT */
        popfw
        int     $0x42
after_int:
        cli
        movw    $msg_after, %si
        call    puts
        hlt
1:      jmp     1b

/* int42: records the frame and its view of FLAGS/SP, checks them, sets BX, returns. */
int42:
        movw    %sp, %bp
        movw    (%bp), %ax              /* %bp addresses SS */
        movw    %ax, RECORD
        movw    2(%bp), %ax
        movw    %ax, RECORD + 2
        movw    4(%bp), %ax
        movw    %ax, RECORD + 4
        pushfw
        popw    %ax
        movw    %ax, RECORD + 6
        movw    %sp, RECORD + 8

        movw    $msg_in, %si
        call    puts

        movw    $msg_bad, %si
        cmpw    $after_int, RECORD
        jne     2f
        cmpw    $0xf000, RECORD + 2
        jne     2f
        cmpw    $0x0203, RECORD + 4
        jne     2f
        cmpw    $0x0003, RECORD + 6
        jne     2f
        cmpw    $0x7ffa, RECORD + 8
        jne     2f
        movw    $msg_ok, %si
2:      call    puts
        movw    $0x4242, %bx
        iret

/* puts: writes the NUL-terminated string at CS:SI to port 0xF1. Clobbers AL, SI. */
puts:
1:      movb    %cs:(%si), %al
        testb   %al, %al
        jz      2f
        outb    %al, $IO_PORT_PSEUDO_SERIAL
        incw    %si
        jmp     1b
2:      ret

msg_before: .asciz "before int\n"
msg_in:     .asciz "in handler\n"
msg_ok:     .asciz "frame ok\n"
msg_bad:    .asciz "frame BAD\n"
msg_after:  .asciz "after iret\n"

. = 0xfff0                              /* reset vector */
        ljmp    $0xf000, $start
