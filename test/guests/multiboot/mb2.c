// kvm-guest: mode=protected
/*
 * A Multiboot2 kernel: its header (8-byte aligned, with an information request tag for the tags
 * it needs) and a walk over the boot information tags it gets (Multiboot2 Specification §3.6),
 * printing every field on COM1 and checking the structure: EAX = 0x36D76289, 8-byte aligned tags
 * ending with the end tag at total_size. Ends through isa-debug-exit with the number of failed checks.
 */
#include "mb-test.h"

__asm__(".section .start, \"ax\"\n"
        ".balign 8\n"
        "mb2_header:\n"
        "    .long 0xE85250D6, 0, mb2_end - mb2_header\n"
        "    .long 0x100000000 - (0xE85250D6 + (mb2_end - mb2_header))\n"
        "    .short 1, 0\n"                      /* information request: cmdline, loader name, */
        "    .long 28, 1, 2, 3, 4, 6\n"          /* module, basic meminfo, mmap */
        "    .balign 8\n"
        "    .short 0, 0\n"                      /* end tag */
        "    .long 8\n"
        "mb2_end:\n"
        ".globl _start\n"
        "_start:\n"
        "    mov $0x9f000, %esp\n"
        "    push %ebx\n"
        "    push %eax\n"
        "    call kernel_main\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n"
        ".text\n");

static unsigned failures;

static void check(int ok, const char *what) {
  serial_puts(ok ? "ok: " : "FAIL: ");
  serial_puts(what);
  serial_putc('\n');
  if (!ok) failures++;
}

void kernel_main(uint32_t magic, uint32_t info) {
  serial_puts("mb2: EAX=");
  put_hex(magic, 8);
  serial_puts(" EBX=");
  put_hex(info, 8);
  serial_putc('\n');
  check(magic == 0x36D76289, "EAX holds 0x36D76289");
  check((info & 7) == 0, "the information is 8-byte aligned");
  uint32_t total = *(const uint32_t *)info;
  serial_puts("total_size=");
  put_dec(total);
  serial_putc('\n');
  uint32_t p = info + 8;
  int ended = 0;
  while (p < info + total) {
    uint32_t type = ((const uint32_t *)p)[0], size = ((const uint32_t *)p)[1];
    const uint32_t *w = (const uint32_t *)p;
    const char *s = (const char *)(p + 8);
    serial_puts("tag ");
    put_dec(type);
    serial_puts(" size=");
    put_dec(size);
    switch (type) {
      case 1: serial_puts(" cmdline=\""); serial_puts(s); serial_putc('"'); break;
      case 2: serial_puts(" loader=\""); serial_puts(s); serial_putc('"'); break;
      case 3:
        serial_puts(" mod_start=");
        put_hex(w[2], 8);
        serial_puts(" mod_end=");
        put_hex(w[3], 8);
        serial_puts(" string=\"");
        serial_puts((const char *)(p + 16));
        serial_puts("\" first=\"");
        for (uint32_t i = 0; i < w[3] - w[2] && i < 40 && ((const char *)w[2])[i] != '\n'; i++) serial_putc(((const char *)w[2])[i]);
        serial_putc('"');
        break;
      case 4: serial_puts(" mem_lower="); put_dec(w[2]); serial_puts(" mem_upper="); put_dec(w[3]); break;
      case 6: {
        serial_puts(" entry_size=");
        put_dec(w[2]);
        serial_puts(" entry_version=");
        put_dec(w[3]);
        for (uint32_t e = p + 16; e + w[2] <= p + size; e += w[2]) {
          const uint32_t *m = (const uint32_t *)e;
          serial_puts("\n  mmap base=");
          put_hex(m[0], 8);
          serial_puts(" length=");
          put_hex(m[2], 8);
          serial_puts(" type=");
          put_dec(m[4]);
        }
        break;
      }
      case 0: ended = 1; break;
    }
    serial_putc('\n');
    if (type == 0) {
      check(size == 8 && p + 8 == info + total, "the end tag (size 8) ends the information at total_size");
      break;
    }
    p += (size + 7) & ~7u;
  }
  check(ended, "an end tag was found");
  serial_puts("checks failed: ");
  put_dec(failures);
  serial_putc('\n');
  __asm__ volatile("outl %0, %1" : : "a"(failures), "Nd"((uint16_t)0xf4));
}
