# A Multiboot v1 kernel that is not an ELF file: a flat image whose header sets flag 16 (the
# "a.out kludge") and gives its load addresses. Linked at 0x200000 into a flat binary; 16 bytes
# of 0xAA follow load_end_addr in the file, inside what bss_end_addr declares as bss: a loader that
# follows the header loads up to load_end_addr only and zeroes the bss (Multiboot 0.6.96 §3.1.3).
# It prints what it checked on COM1 and ends through isa-debug-exit with 0x21 when all is well.
        .code32
        .text
header:
        .long 0x1BADB002
        .long 0x00010000                 # flags: address fields valid (bit 16)
        .long -(0x1BADB002 + 0x00010000)
        .long header                     # header_addr
        .long header                     # load_addr
        .long load_end                   # load_end_addr
        .long bss_end                    # bss_end_addr
        .long entry                      # entry_addr
entry:
        mov $0x9f000, %esp
        mov $msg_magic, %esi
        cmp $0x2BADB002, %eax
        jne fail
        call puts
        mov $load_end, %edi              # the bss must read as zeros, not as the file's 0xAA bytes
        mov $(bss_end - load_end), %ecx
        xor %eax, %eax
        repe scasb
        jne bss_dirty
        mov $msg_bss, %esi
        call puts
        mov $0x21, %eax
        out %eax, $0xf4
        hlt
bss_dirty:
        mov $msg_dirty, %esi
fail:
        call puts
        mov $0x3f, %eax
        out %eax, $0xf4
        hlt
puts:   lodsb
        test %al, %al
        jz 1f
        mov $0x3f8, %dx
        out %al, %dx
        jmp puts
1:      ret
msg_magic: .asciz "kludge: EAX=0x2BADB002, loaded at 0x200000\n"
msg_bss:   .asciz "kludge: bss zeroed\n"
msg_dirty: .asciz "kludge: bss NOT zeroed\n"
        .balign 4
load_end:
        .fill 16, 1, 0xaa                # in the file, past load_end_addr: never loaded
        .fill 48, 1, 0xaa
bss_end:
