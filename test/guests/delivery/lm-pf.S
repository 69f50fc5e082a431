/*
 * lm-pf.S - 64-bit #PF delivery: CR2, error code, saved RIP, aligned frame (test guest for exception delivery).
 * kvm-guest: mode=long
 *
 * Starts in long mode with the monitor's identity map (2 MiB pages, CR3 = 0x91000), the monitor's
 * GDT (CS = 0x18) and RSP = 0xA0000. It builds its own 4-level tables in .bss mapping 0–2 MiB with
 * 4 KiB pages (P|RW, supervisor) except the page at PF_PAGE = 0x180000, which is not present, loads
 * CR3, loads an IDT (in .bss) with a 64-bit interrupt gate (type 0xE, IST 0) for #PF, misaligns RSP
 * by 8 (RSP = 0x9FFF8), and stores to PF_PAGE + 0x123 at `pf_site`.
 *
 * Expected, per SDM vol. 3 4.7 (error code), 6.14.2 (64-bit frame, 16-byte alignment) and 6.15:
 *   CR2              = 0x180123                                     → stored at 0x500
 *   error code       = 0x2 (P=0 not present, W/R=1 write, U/S=0 CPL 0, RSVD=0, I/D=0) → 0x508
 *   saved RIP        = pf_site (the faulting store; #PF is a fault)  → stored at 0x510
 *   saved RSP        = 0x9FFF8 (the interrupted RSP)                 → stored at 0x518
 *   RSP in handler   = 0x9FFF0 - 48 = 0x9FFC0 (aligned down to 0x9FFF0 first, then SS, RSP,
 *                      RFLAGS, CS, RIP, error code)                   → stored at 0x520
 *   saved CS         = 0x18, saved SS = 0x10, saved RFLAGS = 0x10002 (RF = 1 in a fault's image)
 *                                                                   → stored at 0x528, 0x530, 0x538
 * The handler checks CR2, the error code, RIP, the saved RSP and the handler RSP, prints, halts.
 * Output on the debug console (0xE9), exactly:
 *   "lm-pf: start\n#PF handler\npage fault frame ok\n"
 *   ("page fault frame BAD\n" on a mismatch; "rflags image differs\n" is printed after the ok/BAD
 *   line only if the saved RFLAGS is not 0x10002.) At the halt (inside the handler): RAX = 0x600DC0DE,
 *   IF = 0; the store never happened (no RAM was written at 0x180123).
 */
#include "kvm-guest.h"

#define REC      0x500
#define PF_PAGE  0x180000
#define PF_ADDR  (PF_PAGE + 0x123)

        .code64
        .section .start, "ax"
        .globl  _start
_start:
        cld
        leaq    msg_start(%rip), %rsi
        call    puts

        /* PT: 512 × 4 KiB identity pages, P|RW, except PF_PAGE. */
        leaq    pt(%rip), %rdi
        xorl    %ecx, %ecx
1:      movq    %rcx, %rax
        shlq    $12, %rax
        orq     $3, %rax
        cmpq    $(PF_PAGE >> 12), %rcx
        jne     2f
        xorl    %eax, %eax
2:      movq    %rax, (%rdi,%rcx,8)
        incq    %rcx
        cmpq    $512, %rcx
        jne     1b
        leaq    pt(%rip), %rax
        orq     $3, %rax
        movq    %rax, pd(%rip)
        leaq    pd(%rip), %rax
        orq     $3, %rax
        movq    %rax, pdpt(%rip)
        leaq    pdpt(%rip), %rax
        orq     $3, %rax
        movq    %rax, pml4(%rip)
        leaq    pml4(%rip), %rax
        movq    %rax, %cr3

        /* IDT[14] = 64-bit interrupt gate to CS:pf_handler. */
        leaq    pf_handler(%rip), %rax
        leaq    idt + 14 * 16(%rip), %rdi
        movw    %ax, (%rdi)
        movw    %cs, %dx
        movw    %dx, 2(%rdi)
        movw    $0x8e00, 4(%rdi)        /* P=1 DPL=0 type 0xE, IST 0 */
        shrq    $16, %rax
        movw    %ax, 6(%rdi)
        shrq    $16, %rax
        movl    %eax, 8(%rdi)
        movl    $0, 12(%rdi)
        lidt    idt_desc(%rip)

        pushq   $0x2                    /* RFLAGS = 0x2 at the fault */
        popfq                           /* RSP back to 0xA0000 */
        leaq    -8(%rsp), %rsp          /* RSP = 0x9FFF8: not 16-byte aligned (lea: flags untouched) */
        movl    $0xdeadbeef, %eax
        movq    $PF_ADDR, %rbx
        .globl  pf_site
pf_site:
        movl    %eax, (%rbx)
        leaq    msg_returned(%rip), %rsi
        call    puts
3:      hlt
        jmp     3b

        .text
/* pf_handler: records CR2 and the frame, checks them, prints and halts (never returns). */
pf_handler:
        movq    %rsp, REC + 0x20
        movq    %cr2, %rax
        movq    %rax, REC
        movq    (%rsp), %rax
        movq    %rax, REC + 0x08        /* error code */
        movq    8(%rsp), %rax
        movq    %rax, REC + 0x10        /* RIP */
        movq    16(%rsp), %rax
        movq    %rax, REC + 0x28        /* CS */
        movq    24(%rsp), %rax
        movq    %rax, REC + 0x38        /* RFLAGS */
        movq    32(%rsp), %rax
        movq    %rax, REC + 0x18        /* RSP */
        movq    40(%rsp), %rax
        movq    %rax, REC + 0x30        /* SS */
        leaq    msg_handler(%rip), %rsi
        call    puts

        leaq    msg_bad(%rip), %rsi
        cmpq    $PF_ADDR, REC
        jne     1f
        cmpq    $0x2, REC + 0x08
        jne     1f
        leaq    pf_site(%rip), %rax
        cmpq    %rax, REC + 0x10
        jne     1f
        cmpq    $0x9fff8, REC + 0x18
        jne     1f
        cmpq    $0x9ffc0, REC + 0x20
        jne     1f
        leaq    msg_ok(%rip), %rsi
1:      call    puts
        cmpq    $0x10002, REC + 0x38
        je      2f
        leaq    msg_rflags(%rip), %rsi
        call    puts
2:      movl    $0x600dc0de, %eax
        cli
3:      hlt
        jmp     3b

/* puts: writes the NUL-terminated string at %rsi to the debug console. Clobbers %al, %rsi. */
puts:
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, $DEBUG_CONSOLE_PORT
        jmp     1b
2:      ret

        .section .rodata
msg_start:    .asciz "lm-pf: start\n"
msg_handler:  .asciz "#PF handler\n"
msg_ok:       .asciz "page fault frame ok\n"
msg_bad:      .asciz "page fault frame BAD\n"
msg_rflags:   .asciz "rflags image differs\n"
msg_returned: .asciz "store returned?!\n"

        .data
        .balign 8
idt_desc:
        .word   32 * 16 - 1
        .quad   idt

        .bss
        .balign 4096
pml4:   .skip   4096
pdpt:   .skip   4096
pd:     .skip   4096
pt:     .skip   4096
idt:    .skip   32 * 16
