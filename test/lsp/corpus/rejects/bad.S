/* The assembler rejects this file: the errors must still be reported. */
.code32
.globl start
start:
	movl %eax, %cr0
	movl %rax, %ebx
	jmp 2f
	call external_function
	ret
