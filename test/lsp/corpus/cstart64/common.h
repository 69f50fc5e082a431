/* Shared by the entry files (in the style of kvm-unit-tests' x86 headers). */
#ifndef COMMON_H
#define COMMON_H

#define MSR_GS_BASE 0xc0000101
#define X86_CR0_PG  0x80000000
#define X86_CR4_PAE 0x00000020

#ifdef __ASSEMBLER__
/* Loads a 16-bit value; a value that does not fit is cut by the assembler (with a warning). */
.macro load_port value
	movw $\value, %dx
.endm

/* Saves the registers the C code may clobber. */
#define SAVE_REGS \
	push %rax; \
	push %rcx; \
	push %rdx
#endif

#endif
