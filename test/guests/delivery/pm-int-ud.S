/*
 * pm-int-ud.S - 32-bit protected-mode IDT delivery: `int $0x80` and #UD (test guest for exception delivery).
 * kvm-guest: mode=protected
 *
 * Starts in 32-bit protected mode with the monitor's GDT (CS = 0x08) and ESP = 0xA0000, and loads
 * its own IDT (in .bss, 0x81 entries, limit 0x407) with:
 *   vector 0x80: 32-bit interrupt gate (type 0xE), DPL 0, CS:int80
 *   vector 6:    32-bit trap gate (type 0xF), DPL 0, CS:ud_handler
 *
 * Expected, per SDM vol. 3 6.12.1 (figure 6-4, no privilege change), 6.13 and 17.3.1.1:
 *   int $0x80 with EFLAGS = 0x00000202 (set by popf just before): the handler finds
 *     [ESP] = after_int (EIP of the next instruction)   → stored at 0x500
 *     [ESP+4] = CS (0x08)                               → stored at 0x504
 *     [ESP+8] = 0x00000202 (no RF: INT n is not a fault) → stored at 0x508
 *     EFLAGS in the handler = 0x00000002 (interrupt gate: IF cleared) → stored at 0x50C
 *   ud2 at `ud_site` with EFLAGS = 0x00000002: #UD is a fault, no error code; the handler finds
 *     [ESP] = ud_site (the ud2 itself)                  → stored at 0x510
 *     [ESP+4] = CS (0x08)                               → stored at 0x514
 *     [ESP+8] = 0x00010002 (RF = 1 in a fault's image)  → stored at 0x518
 *     ESP in the handler = 0xA0000 - 12 = 0x9FFF4       → stored at 0x51C
 *   and adds 2 to the saved EIP to skip the ud2, then irets.
 *   The guest checks the values itself. Output on the debug console (0xE9), exactly:
 *     "pm-int-ud: start\nint 0x80 handler\nint 0x80 frame ok\n#UD handler\nud2 frame ok\ndone\n"
 *   ("... BAD\n" lines instead of "... ok\n" on a mismatch; the RF line is reported separately as
 *   "ud2 eflags image 0x... (want 0x00010002)\n" only when it differs, since some emulators do not
 *   set RF.) At the halt: EAX = 0x600DC0DE, EBX = 0x80, ESP = 0xA0000, IF = 0.
 */
#include "kvm-guest.h"

#define REC 0x500

        .code32
        .section .start, "ax"
        .globl  _start
_start:
        cld
        movl    $msg_start, %esi
        call    puts

        /* Gates: ebx = selector (our CS), eax = handler, ecx = vector, edx = type/attribute word. */
        movw    %cs, %bx
        movl    $int80, %eax
        movl    $0x80, %ecx
        movl    $0x8e00, %edx           /* P=1 DPL=0 type 0xE (32-bit interrupt gate) */
        call    set_gate
        movl    $ud_handler, %eax
        movl    $6, %ecx
        movl    $0x8f00, %edx           /* P=1 DPL=0 type 0xF (32-bit trap gate) */
        call    set_gate
        lidt    idt_desc

        xorl    %ebx, %ebx
        pushl   $0x202
        popfl
        int     $0x80
after_int:
        cli
        movl    $msg_int_bad, %esi
        cmpl    $after_int, REC
        jne     1f
        movzwl  REC + 4, %eax
        movw    %cs, %dx
        movzwl  %dx, %edx
        cmpl    %edx, %eax
        jne     1f
        cmpl    $0x202, REC + 8
        jne     1f
        cmpl    $0x002, REC + 12
        jne     1f
        movl    $msg_int_ok, %esi
1:      call    puts

        pushl   $0x002
        popfl
        .globl  ud_site
ud_site:
        ud2
        movl    $msg_ud_bad, %esi
        cmpl    $ud_site, REC + 0x10
        jne     2f
        movzwl  REC + 0x14, %eax
        movw    %cs, %dx
        movzwl  %dx, %edx
        cmpl    %edx, %eax
        jne     2f
        cmpl    $0x9fff4, REC + 0x1c
        jne     2f
        movl    $msg_ud_ok, %esi
2:      call    puts
        cmpl    $0x10002, REC + 0x18
        je      3f
        movl    $msg_rf, %esi
        call    puts
        movl    REC + 0x18, %eax
        call    put_hex32
        movl    $msg_rf_want, %esi
        call    puts
3:      movl    $msg_done, %esi
        call    puts
        movl    $0x600dc0de, %eax
        movl    $0x80, %ebx
        cli
4:      hlt
        jmp     4b

        .text
/* int80: interrupt gate handler. Records its frame and EFLAGS, prints, irets. */
int80:
        pushl   %eax                    /* frame now at ESP+4 */
        movl    4(%esp), %eax
        movl    %eax, REC
        movl    8(%esp), %eax
        movl    %eax, REC + 4
        movl    12(%esp), %eax
        movl    %eax, REC + 8
        pushfl
        popl    %eax
        movl    %eax, REC + 12
        pushl   %esi
        movl    $msg_int, %esi
        call    puts
        popl    %esi
        popl    %eax
        iret

/* ud_handler: trap gate handler for #UD (no error code). Records, skips the 2-byte ud2, irets. */
ud_handler:
        movl    %esp, REC + 0x1c
        pushl   %eax
        movl    4(%esp), %eax
        movl    %eax, REC + 0x10
        movl    8(%esp), %eax
        movl    %eax, REC + 0x14
        movl    12(%esp), %eax
        movl    %eax, REC + 0x18
        addl    $2, 4(%esp)             /* resume after the ud2 */
        pushl   %esi
        movl    $msg_ud, %esi
        call    puts
        popl    %esi
        popl    %eax
        iret

/* set_gate: IDT[ecx] = 32-bit gate to bx:eax with attribute word dx. Clobbers edi. */
set_gate:
        leal    idt(,%ecx,8), %edi
        movw    %ax, (%edi)
        movw    %bx, 2(%edi)
        movw    %dx, 4(%edi)
        pushl   %eax
        shrl    $16, %eax
        movw    %ax, 6(%edi)
        popl    %eax
        ret

/* puts: writes the NUL-terminated string at %esi to the debug console. Clobbers %al, %esi. */
puts:
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, $DEBUG_CONSOLE_PORT
        jmp     1b
2:      ret

/* put_hex32: prints %eax as 0x%08x. Clobbers %eax, %ecx, %edx. */
put_hex32:
        movl    %eax, %edx
        movb    $'0', %al
        outb    %al, $DEBUG_CONSOLE_PORT
        movb    $'x', %al
        outb    %al, $DEBUG_CONSOLE_PORT
        movl    $8, %ecx
1:      roll    $4, %edx
        movl    %edx, %eax
        andl    $0xf, %eax
        movb    hexdigits(%eax), %al
        outb    %al, $DEBUG_CONSOLE_PORT
        loop    1b
        ret

        .section .rodata
hexdigits:    .ascii "0123456789abcdef"
msg_start:    .asciz "pm-int-ud: start\n"
msg_int:      .asciz "int 0x80 handler\n"
msg_int_ok:   .asciz "int 0x80 frame ok\n"
msg_int_bad:  .asciz "int 0x80 frame BAD\n"
msg_ud:       .asciz "#UD handler\n"
msg_ud_ok:    .asciz "ud2 frame ok\n"
msg_ud_bad:   .asciz "ud2 frame BAD\n"
msg_rf:       .asciz "ud2 eflags image "
msg_rf_want:  .asciz " (want 0x00010002)\n"
msg_done:     .asciz "done\n"

        .data
        .balign 8
idt_desc:
        .word   0x81 * 8 - 1            /* limit 0x407: vectors 0..0x80 */
        .long   idt

        .bss
        .balign 8
idt:    .skip   0x81 * 8
