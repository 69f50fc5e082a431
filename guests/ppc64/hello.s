# kvm-guest: arch=ppc64
# A POWER guest that prints through the ppc64 machine's output port: each byte stored (stb) at
# physical 0x10000000 is written to the guest's output. Built like the seed's guest
# (as -mbig -mpower8, linked at 0x100); `--endian little` builds and runs it little-endian too.
# Like the seed's guest it has no halt: it ends by running off the end of its code.
    .text
    .globl _start
_start:
    lis   9,0x1000          # r9 = 0x10000000, the output port
    lis   10,message@ha     # r10 = the message (linked absolute: the machine runs in real mode)
    addi  10,10,message@l
next:
    lbz   3,0(10)           # r3 = the next byte
    cmpwi 3,0
    beq   done              # the terminating NUL ends the loop
    stb   3,0(9)            # one byte to the output port
    addi  10,10,1
    b     next
done:
    li    3,42              # a result a test can read

    .section .rodata
message:
    .asciz "Hello from POWER!\n"
