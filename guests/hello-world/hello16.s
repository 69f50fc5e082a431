# hello16.s - the 16-bit variant of kvm-hello-world, for KVM Guest Studio.
#
# Run with --mode real --load-address 0 --entry 0000:0000: the flat image sits at physical 0,
# so offsets in the image are physical addresses. It greets on the debug console (port 0xE9),
# then stores 42 at physical 0x400 and halts with 42 in AX.

        .code16
        .section .start, "ax"
        .globl  _start
_start:
        cld
        movw    $greeting, %si
        movw    $0xe9, %dx              # debug console
1:      movb    %cs:(%si), %al          # through CS: correct wherever the image is loaded
        testb   %al, %al
        jz      2f
        outb    %al, %dx
        incw    %si
        jmp     1b
2:
        movw    $42, %ax
        movw    %ax, 0x400              # DS = 0: physical 0x400, past this small image
3:      hlt
        jmp     3b                      # only reached if something wakes the vCPU

        .section .rodata
greeting:
        .asciz  "Hello, world!\n"
