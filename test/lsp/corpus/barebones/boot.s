/* Multiboot entry in the style of the OSDev wiki's Bare Bones boot.s: assembled on its own
 * (i686-elf-as boot.s), it calls into C and leaves kernel_main to the linker. */
.set ALIGN,    1<<0             /* align loaded modules on page boundaries */
.set MEMINFO,  1<<1             /* provide a memory map */
.set FLAGS,    ALIGN | MEMINFO  /* the Multiboot 'flag' field */
.set MAGIC,    0x1BADB002       /* lets the boot loader find the header */
.set CHECKSUM, -(MAGIC + FLAGS) /* proves we are multiboot */

.section .multiboot
.align 4
.long MAGIC
.long FLAGS
.long CHECKSUM

.section .bss
.align 16
stack_bottom:
.skip 16384 # 16 KiB
stack_top:

.section .text
.global _start
.type _start, @function
_start:
	mov $stack_top, %esp
	pushl %ebx
	call kernel_main
	cli
1:	hlt
	jmp 1b

.global gdt_flush
.extern gdt_pointer
gdt_flush:
	lgdt gdt_pointer
	ljmp $0x08, $.Lreload
.Lreload:
	movw $0x10, %ax
	movw %ax, %ds
	ret

.extern isr_handler
isr_common:
	pusha
	call isr_handler
	popa
	addl $8, %esp
	iret

.size _start, . - _start
