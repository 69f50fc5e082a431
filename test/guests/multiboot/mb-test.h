/* Shared by the Multiboot test kernels: a minimal Multiboot v1 header with an entry that sets a
   stack and calls kernel_main(EAX, EBX), and decimal/hex printing on COM1. */
#include "kvm-guest.h"

#define MULTIBOOT1_MINIMAL_ENTRY                                   \
  __asm__(".section .start, \"ax\"\n"                              \
          ".align 4\n"                                             \
          "    .long 0x1BADB002, 0, -0x1BADB002\n"                 \
          ".globl _start\n"                                        \
          "_start:\n"                                              \
          "    mov $0x9f000, %esp\n"                               \
          "    push %ebx\n"                                        \
          "    push %eax\n"                                        \
          "    call kernel_main\n"                                 \
          "1:  cli\n"                                              \
          "    hlt\n"                                              \
          "    jmp 1b\n"                                           \
          ".text\n")

static inline void put_dec(uint32_t v) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) != 0 && i > 0);
  serial_puts(&buf[i]);
}

/* "0x" and `digits` hex digits. */
static inline void put_hex(uint64_t v, int digits) {
  serial_puts("0x");
  for (int i = digits - 1; i >= 0; i--) serial_putc("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
}
