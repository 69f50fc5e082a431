// kvm-guest: mode=protected
/*
 * A Multiboot kernel that ends through isa-debug-exit as its command line says:
 * "<kernel> VALUE WIDTH PORT" (hex or decimal; WIDTH 1, 2 or 4 bytes; PORT 0xf4–0xf7), so that one
 * kernel checks every status under kvm-guest and under QEMU. After the OUT it prints "after exit"
 * on COM1, which no exit status may ever show.
 */
#include "mb-test.h"

MULTIBOOT1_MINIMAL_ENTRY;

static const char *skip_word(const char *s) {
  while (*s == ' ') s++;
  while (*s && *s != ' ') s++;
  while (*s == ' ') s++;
  return s;
}

static uint32_t number(const char *s) {
  uint32_t v = 0, base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s += 2;
  for (;; s++) {
    uint32_t d = *s >= '0' && *s <= '9' ? (uint32_t)(*s - '0') : (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f' ? (uint32_t)((*s | 0x20) - 'a' + 10) : 99;
    if (d >= base) return v;
    v = v * base + d;
  }
}

void kernel_main(uint32_t magic, const uint32_t *mbi) {
  (void)magic;
  const char *cmd = (const char *)mbi[4]; /* cmdline (flags bit 2) */
  const char *a = skip_word(cmd), *b = skip_word(a), *c = skip_word(b);
  uint32_t value = number(a), width = number(b);
  uint16_t port = (uint16_t)number(c);
  if (width == 1) __asm__ volatile("outb %b0, %w1" : : "a"(value), "Nd"(port));
  else if (width == 2) __asm__ volatile("outw %w0, %w1" : : "a"(value), "Nd"(port));
  else __asm__ volatile("outl %0, %w1" : : "a"(value), "Nd"(port));
  serial_puts("after exit\n");
}
