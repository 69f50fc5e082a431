// kvm-guest: mode=protected
/*
 * Reads QEMU's fw_cfg through the legacy I/O interface (16-bit selector at 0x510, 8-bit data at
 * 0x511; QEMU docs/specs/fw_cfg.rst) and prints every item it knows of on COM1: signature, ID,
 * UUID, RAM size, NOGRAPHIC, NB_CPUS, MAX_CPUS, the file directory, and the contents of etc/e820
 * and of every etc/kvm-guest/ file. A Multiboot kernel, so that QEMU runs it too. Ends through
 * isa-debug-exit with 0.
 */
#include "mb-test.h"

MULTIBOOT1_MINIMAL_ENTRY;

static void select_item(uint16_t key) {
  __asm__ volatile("outw %0, %1" : : "a"(key), "Nd"((uint16_t)0x510));
}

static uint16_t inw(uint16_t port) {
  uint16_t v;
  __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static uint8_t data8(void) {
  return inb(0x511);
}

static uint64_t read_le(int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)data8() << (8 * i);
  return v;
}

static uint32_t read_be32(void) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = (v << 8) | data8();
  return v;
}

static int starts_with(const char *s, const char *prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return 1;
}

static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

struct file { uint32_t size; uint16_t select; char name[56]; };
static struct file files[64];

void kernel_main(void) {
  select_item(0x0000);
  serial_puts("signature=\"");
  for (int i = 0; i < 4; i++) serial_putc((char)data8());
  serial_puts("\" then ");
  put_hex(data8(), 2);
  serial_putc('\n');
  select_item(0x0001);
  serial_puts("id=");
  put_hex(read_le(4), 8);
  serial_putc('\n');
  select_item(0x0002);
  serial_puts("uuid=");
  for (int i = 0; i < 16; i++) {
    uint8_t b = data8();
    serial_putc("0123456789abcdef"[b >> 4]);
    serial_putc("0123456789abcdef"[b & 15]);
  }
  serial_putc('\n');
  select_item(0x0003);
  serial_puts("ram_size=");
  put_hex(read_le(8), 16);
  serial_putc('\n');
  select_item(0x0005);
  serial_puts("nb_cpus=");
  put_dec((uint32_t)read_le(2));
  serial_putc('\n');
  select_item(0x000f);
  serial_puts("max_cpus=");
  put_dec((uint32_t)read_le(2));
  serial_putc('\n');
  select_item(0x4000); /* the write-channel bit: QEMU masks it when reading */
  serial_puts("key 0x4000 reads ");
  put_hex(read_le(4), 8);
  serial_putc('\n');
  select_item(0x0000);
  uint16_t w = inw(0x511);
  uint8_t next = data8();
  serial_puts("inw 0x511 reads ");
  put_hex(w, 4);
  serial_puts(", then inb 0x511 reads ");
  put_hex(next, 2);
  serial_puts(", inb 0x510 reads ");
  put_hex(inb(0x510), 2);
  serial_putc('\n');
  select_item(0x3fff);
  serial_puts("key 0x3fff reads ");
  put_hex(read_le(4), 8);
  serial_putc('\n');

  select_item(0x0019);
  uint32_t count = read_be32();
  serial_puts("files=");
  put_dec(count);
  serial_putc('\n');
  if (count > 64) count = 64;
  for (uint32_t i = 0; i < count; i++) {
    files[i].size = read_be32();
    files[i].select = (uint16_t)((data8() << 8) | data8());
    (void)read_le(2);
    for (int j = 0; j < 56; j++) files[i].name[j] = (char)data8();
    files[i].name[55] = 0;
  }
  for (uint32_t i = 0; i < count; i++) {
    const struct file *f = &files[i];
    if (!starts_with(f->name, "etc/kvm-guest/") && !same(f->name, "etc/e820")) continue;
    serial_puts("file \"");
    serial_puts(f->name);
    serial_puts("\" select=");
    put_hex(f->select, 4);
    serial_puts(" size=");
    put_dec(f->size);
    serial_putc('\n');
    select_item(f->select);
    if (same(f->name, "etc/e820")) {
      for (uint32_t e = 0; e + 20 <= f->size; e += 20) {
        uint64_t base = read_le(8), len = read_le(8);
        uint32_t type = (uint32_t)read_le(4);
        serial_puts("  e820 base=");
        put_hex(base, 16);
        serial_puts(" length=");
        put_hex(len, 16);
        serial_puts(" type=");
        put_dec(type);
        serial_putc('\n');
      }
    } else {
      serial_puts("  bytes:");
      for (uint32_t b = 0; b < f->size && b < 32; b++) {
        serial_putc(' ');
        put_hex(data8(), 2);
      }
      serial_putc('\n');
    }
  }
  serial_puts("done\n");
  __asm__ volatile("outb %b0, %w1" : : "a"(0), "Nd"((uint16_t)0xf4));
}
