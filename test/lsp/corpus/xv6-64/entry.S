/* A multiboot entry of a 64-bit kernel (in the style of xv6-64's entry.S): built with -m64,
 * it starts with a .code64 header, enters in 32-bit code, builds page tables, enables long
 * mode and jumps to C. mboot_load_addr & co. come from the linker script. */
#define mboot_magic 0x1badb002
#define mboot_flags 0x00010000
#include "mmu.h"

.code64
.global mboot_header
.global mboot_entry

mboot_header:
  .long mboot_magic
  .long mboot_flags
  .long (-mboot_magic -mboot_flags)     # checksum
  .long mboot_load_addr                 # header_addr
  .long mboot_load_addr
  .long mboot_load_end
  .long mboot_bss_end
  .long mboot_entry_addr

.code32
mboot_entry:
  xor %eax, %eax
  mov $0x1000, %edi
  mov $0x2000, %ecx
  rep stosb

  mov $(0x2000 | PTE_P | PTE_W), %eax
  mov %eax, 0x1000
  mov $(0x0 | PTE_P | PTE_PS | PTE_W), %eax
  mov %eax, 0x2000
  xor %ebx, %ebx

.global entry32mp
entry32mp:
  mov $0x1000, %eax
  mov %eax, %cr3
  lgdt (gdtr64 - mboot_header + mboot_load_addr)
  mov %cr4, %eax
  bts $5, %eax
  mov %eax, %cr4
  mov $MSR_EFER, %ecx
  rdmsr
  bts $8, %eax
  wrmsr
  mov %cr0, %eax
  orl $(CR0_PG | CR0_WP | CR0_MP), %eax
  mov %eax, %cr0
  ljmp $8, $(entry64low - mboot_header + mboot_load_addr)

.align 16
gdtr64:
  .word gdt64_end - gdt64_begin - 1
  .quad gdt64_begin - mboot_header + mboot_load_addr

.align 16
gdt64_begin:
  .long 0x00000000, 0x00000000
  .long 0x00000000, 0x00209800
  .long 0x00000000, 0x00009000
gdt64_end:

.align 16
.code64
entry64low:
  movabs $entry64high, %rax
  jmp *%rax

.global _start
_start:
entry64high:
  xor %rax, %rax
  mov %ax, %ss
  mov %ax, %ds
  test %ebx, %ebx
  jnz entry64mp
  movabs $0xFFFF800000010000, %rax
  mov %rax, %rsp
  jmp main

entry64mp:
  mov $0x7000, %rax
  mov -16(%rax), %rsp
  jmp mpenter

.global syscall_entry
syscall_entry:
  push %r11
  push $USER_CS
  push %rcx
  iretq
