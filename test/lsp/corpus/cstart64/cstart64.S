/* A 64-bit test kernel's entry (in the style of kvm-unit-tests' x86/cstart64.S): built with
 * -m64, entered in 32-bit code from a multiboot loader, so its first .code directive is .code32. */
#include "common.h"

.globl start
.globl ring0stacktop

.bss
	. = . + 4096
ring0stacktop:

.data
.align 4096
ptl4:
	.quad ptl3 + 7
.align 4096
ptl3:
	.quad 0x83

.section .init
.code32
mb_magic = 0x1BADB002
mb_flags = 0x0
	.long mb_magic, mb_flags, 0 - (mb_magic + mb_flags)

MSR_EFER = 0xc0000080
EFER_LME = (1 << 8)

start:
	mov $ptl4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	bts $5, %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	bts $8, %eax
	wrmsr
	mov %cr0, %eax
	bts $31, %eax
	mov %eax, %cr0
	ljmp $8, $start64

.code64
start64:
	mov $ring0stacktop, %rsp
#ifdef __x86_64__
	/* Only in the 64-bit build: the per-CPU GS base. */
	mov $MSR_GS_BASE, %ecx
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	movq %cr0, %rax
	movq %rax, %cr0
#else
	this would not assemble in a 64-bit build
#endif
#ifdef CONFIG_SMP
	call smp_init
#endif
	SAVE_REGS
	load_port 0x12345
	call main
	mov %eax, %edi
	call exit
1:	hlt
	jmp 1b
