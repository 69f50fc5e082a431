/*
 * Built the way kvm-unit-tests builds its x86_64 tests: a 64-bit program linked at 4 MiB, turned into
 * an ELF32 file with `objcopy -O elf32-i386`, whose 32-bit Multiboot entry enters long mode itself
 * (its own GDT, PAE page tables with 2 MiB pages, EFER.LME through WRMSR, CR0.PG, a far jump), then
 * prints on COM1 and ends through isa-debug-exit with 0x2a.
 */
        .section .init, "ax"
        .code32
        .align 4
        .long 0x1BADB002, 0, -0x1BADB002
        .globl start
start:
        mov $stack_top, %esp
        mov %ebx, mb_info
        lgdt gdt_desc
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %ss
        /* PML4[0] → PDPT, PDPT[0] → PD, PD[0..511] = 2 MiB identity pages (the first 1 GiB) */
        mov $pdpt + 3, %eax
        mov %eax, pml4
        mov $pd + 3, %eax
        mov %eax, pdpt
        xor %ecx, %ecx
1:      mov %ecx, %eax
        shl $21, %eax
        or $0x83, %eax
        mov %eax, pd(,%ecx,8)
        inc %ecx
        cmp $512, %ecx
        jne 1b
        mov %cr4, %eax
        bts $5, %eax                    /* PAE */
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $0xc0000080, %ecx           /* EFER */
        rdmsr
        bts $8, %eax                    /* LME */
        wrmsr
        mov %cr0, %eax
        bts $31, %eax                   /* PG */
        mov %eax, %cr0
        ljmp $0x08, $start64

        .code64
start64:
        lea msg(%rip), %rsi
2:      lodsb
        test %al, %al
        jz 3f
        mov $0x3f8, %dx
        out %al, %dx
        jmp 2b
3:      mov $0x2a, %eax
        out %eax, $0xf4
        hlt

        .data
        .align 16
gdt:    .quad 0
        .quad 0x00af9b000000ffff        /* 64-bit code */
        .quad 0x00cf93000000ffff        /* data */
gdt_desc:
        .word gdt_desc - gdt - 1
        .quad gdt
mb_info: .long 0
msg:    .asciz "long mode from an objcopied ELF64\n"

        .bss
        .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096
        .skip 4096
stack_top:
