/*
 * Built the way kvm-unit-tests builds its x86_64 tests: a 64-bit program linked at 4 MiB, turned into
 * an ELF32 file with `objcopy -O elf32-i386`, whose 32-bit Multiboot entry enters long mode itself
 * (its own GDT, PAE page tables with 2 MiB pages, EFER.LME through WRMSR, CR0.PG, a far jump), then
 * does what kvm-unit-tests' start-up (x86/cstart64.S) asks of the machine: reads its local APIC ID
 * at 0xFEE00020, takes an INT3 through its own 64-bit IDT and returns with IRETQ, broadcasts
 * INIT and SIPI through the ICR, reads fw_cfg's NB_CPUS; it prints each result on COM1 and ends
 * through isa-debug-exit with 0x2a.
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
        /* PML4[0] → PDPT, PDPT[0..3] → 4 PDs of 2 MiB identity pages: the first 4 GiB, APICs included */
        mov $pdpt + 3, %eax
        mov %eax, pml4
        mov $pd + 3, %eax
        mov %eax, pdpt
        add $4096, %eax
        mov %eax, pdpt + 8
        add $4096, %eax
        mov %eax, pdpt + 16
        add $4096, %eax
        mov %eax, pdpt + 24
        xor %ecx, %ecx
1:      mov %ecx, %eax
        shl $21, %eax
        or $0x83, %eax                  /* present, writable, 2 MiB */
        mov %eax, pd(,%ecx,8)
        inc %ecx
        cmp $2048, %ecx
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
        call puts
        /* local APIC ID (bits 31:24 of 0xFEE00020) */
        lea msg_apic(%rip), %rsi
        call puts
        mov $0xfee00020, %eax
        mov (%rax), %eax
        shr $24, %eax
        call putdigit
        /* an IDT with a 64-bit interrupt gate for #BP (vector 3), then INT3 */
        lea bp_handler(%rip), %rax
        lea idt(%rip), %rdi
        mov %ax, 3*16(%rdi)              /* offset 15:0 */
        movw $0x08, 3*16+2(%rdi)         /* selector */
        movw $0x8e00, 3*16+4(%rdi)       /* present, DPL 0, 64-bit interrupt gate */
        shr $16, %rax
        mov %ax, 3*16+6(%rdi)            /* offset 31:16 */
        shr $16, %rax
        mov %eax, 3*16+8(%rdi)           /* offset 63:32 */
        lidt idt_desc(%rip)
        int3
        lea msg_back(%rip), %rsi
        call puts
        /* INIT, then STARTUP, to all but self (what smp_init does) */
        mov $0xfee00300, %eax
        movl $0x000c4500, (%rax)
        movl $0x000c4600, (%rax)
        /* fw_cfg NB_CPUS (key 5), two bytes little-endian */
        lea msg_cpus(%rip), %rsi
        call puts
        mov $5, %ax
        mov $0x510, %dx
        out %ax, %dx
        mov $0x511, %dx
        in %dx, %al
        movzbl %al, %eax
        call putdigit
        mov $0x2a, %eax
        out %eax, $0xf4
        hlt

bp_handler:
        lea msg_bp(%rip), %rsi
        call puts
        iretq

puts:   lodsb
        test %al, %al
        jz 1f
        mov $0x3f8, %dx
        out %al, %dx
        jmp puts
1:      ret

putdigit:                               /* EAX (0–9) and a newline */
        add $'0', %al
        mov $0x3f8, %dx
        out %al, %dx
        mov $'\n', %al
        out %al, %dx
        ret

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
msg_apic: .asciz "apic id "
msg_bp: .asciz "int3 handled\n"
msg_back: .asciz "back from iretq\n"
msg_cpus: .asciz "nb_cpus "
        .align 8
idt_desc:
        .word 256 * 16 - 1
        .quad idt

        .bss
        .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4 * 4096
idt:    .skip 4096
        .skip 4096
stack_top:
