// kvm-guest: mode=protected
/*
 * A Multiboot "bare bones" kernel in the OSDev style (boot.s + kernel.c, here in one file: the
 * project builds one source per guest, so boot.s is the top-level assembly below). Any Multiboot
 * loader starts it — `kvm-guest run`, F5, GRUB, `qemu-system-x86_64 -kernel` — and it checks the
 * Multiboot information it is given against the specification (0.6.96, §3.2–3.3), prints what it
 * found on COM1, and ends through isa-debug-exit (port 0xf4) with 0 when every check passed, else
 * with the number of failed checks: the exit status is then (value << 1) | 1, 1 meaning "all good".
 */
#include "kvm-guest.h"

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MB_ALIGN   (1u << 0) /* modules on page boundaries */
#define MB_MEMINFO (1u << 1) /* mem_* and mmap_* fields */
#define MB_FLAGS   (MB_ALIGN | MB_MEMINFO)

/* ---- boot.s: the Multiboot header, a stack, and the call into C ------------------------------ */
/* Each instruction line carries a `.loc` for its own line of this file (DWARF 5 file 0 is the
   primary source), so breakpoints and steps work in this assembly as in the C below. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define LOC ".loc 0 " STR(__LINE__) "\n"
__asm__(".section .start, \"ax\"\n"
        ".align 4\n"
        "multiboot_header:\n"
        "    .long 0x1BADB002\n"                 /* magic */
        "    .long 3\n"                          /* flags: ALIGN | MEMINFO */
        "    .long -(0x1BADB002 + 3)\n"          /* checksum */
        ".globl _start\n"
        "_start:\n"
        LOC "    mov $stack_top, %esp\n"         /* the loader gives no stack (§3.2): our own */
        LOC "    push %ebx\n"                    /* the Multiboot information */
        LOC "    push %eax\n"                    /* the boot loader's magic value */
        LOC "    call kernel_main\n"
        "1:\n"
        LOC "    cli\n"
        LOC "    hlt\n"
        LOC "    jmp 1b\n"
        ".bss\n"
        ".align 16\n"
        "stack_bottom: .skip 16384\n"
        "stack_top:\n"
        ".text\n");

struct multiboot_info {
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name, apm_table;
} __attribute__((packed));

struct multiboot_mmap_entry {
  uint32_t size;
  uint64_t addr, len;
  uint32_t type;
} __attribute__((packed));

struct multiboot_module {
  uint32_t mod_start, mod_end, string, reserved;
} __attribute__((packed));

static void isa_debug_exit(uint32_t value) {
  __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"((uint16_t)0xf4));
}

static void put(const char *s) {
  serial_puts(s);
}

static void put_hex(uint32_t v) {
  char buf[11] = "0x";
  for (int i = 0; i < 8; i++) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xf];
  buf[10] = 0;
  put(buf);
}

static void put_dec(uint32_t v) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) != 0 && i > 0);
  put(&buf[i]);
}

static unsigned failures;

static void check(int ok, const char *what) {
  put(ok ? "ok: " : "FAIL: ");
  put(what);
  put("\n");
  if (!ok) failures++;
}

static int cstring_ok(uint32_t addr) {
  const char *s = (const char *)addr;
  for (int i = 0; i < 4096; i++)
    if (s[i] == 0) return 1;
  return 0;
}

void kernel_main(uint32_t magic, const struct multiboot_info *mbi) {
  put("multiboot kernel: EAX=");
  put_hex(magic);
  put(" EBX=");
  put_hex((uint32_t)mbi);
  put("\n");
  check(magic == MULTIBOOT_BOOTLOADER_MAGIC, "EAX holds 0x2BADB002");
  uint32_t cr0;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  check((cr0 & 1) && !(cr0 & 0x80000000u), "protected mode, paging off");
  uint32_t eflags;
  __asm__ volatile("pushf; pop %0" : "=r"(eflags));
  check(!(eflags & 0x200) && !(eflags & 0x20000), "EFLAGS.IF = 0, EFLAGS.VM = 0");
  if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
    isa_debug_exit(1 + failures);
    return;
  }

  put("flags=");
  put_hex(mbi->flags);
  put("\n");
  /* The header asked for MEMINFO: mem_* (bit 0) and the memory map (bit 6) must be there. */
  check(mbi->flags & (1u << 0), "flags bit 0: mem_lower/mem_upper");
  check(mbi->flags & (1u << 6), "flags bit 6: memory map");
  put("mem_lower=");
  put_dec(mbi->mem_lower);
  put(" KiB mem_upper=");
  put_dec(mbi->mem_upper);
  put(" KiB\n");
  check(mbi->mem_lower <= 640, "mem_lower is at most 640 KiB");

  uint64_t lower_end = 0, upper_end = 0;
  if (mbi->flags & (1u << 6)) {
    uint32_t p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
    unsigned n = 0;
    int sizes_ok = 1;
    while (p < end) {
      const struct multiboot_mmap_entry *e = (const struct multiboot_mmap_entry *)p;
      put("mmap: base=");
      put_hex((uint32_t)e->addr);
      put(" length=");
      put_hex((uint32_t)e->len);
      put(" type=");
      put_dec(e->type);
      put("\n");
      if (e->size < 20) sizes_ok = 0;
      if (e->type == 1 && e->addr == 0) lower_end = e->len;
      if (e->type == 1 && e->addr == 0x100000) upper_end = e->addr + e->len;
      p += e->size + 4; /* size does not count itself */
      n++;
    }
    check(n > 0 && p == end && sizes_ok, "memory map entries fill mmap_length exactly, each size >= 20");
    check(lower_end > 0 && upper_end > 0x100000, "available RAM at 0 and at 1 MiB");
    /* mem_upper is "maximally" the RAM up to the first hole above 1 MiB and "not guaranteed to be
       this value" (§3.3): loaders differ (QEMU counts what its BIOS keeps for itself), so it is
       printed, not compared. */
  }

  if (mbi->flags & (1u << 2)) {
    check(cstring_ok(mbi->cmdline), "command line is a C string");
    put("cmdline=\"");
    put((const char *)mbi->cmdline);
    put("\"\n");
  } else {
    put("no command line\n");
  }
  if (mbi->flags & (1u << 9)) {
    check(cstring_ok(mbi->boot_loader_name), "boot loader name is a C string");
    put("boot_loader_name=\"");
    put((const char *)mbi->boot_loader_name);
    put("\"\n");
  }
  if (mbi->flags & (1u << 3)) {
    put("mods_count=");
    put_dec(mbi->mods_count);
    put("\n");
    const struct multiboot_module *m = (const struct multiboot_module *)mbi->mods_addr;
    extern char _end[];
    for (uint32_t i = 0; i < mbi->mods_count; i++) {
      put("module ");
      put_dec(i);
      put(": string=\"");
      put((const char *)m[i].string);
      put("\" size=");
      put_dec(m[i].mod_end - m[i].mod_start);
      put(" first line=\"");
      const char *c = (const char *)m[i].mod_start;
      for (uint32_t j = 0; j < m[i].mod_end - m[i].mod_start && j < 60 && c[j] != '\n'; j++) serial_putc(c[j]);
      put("\"\n");
      check((m[i].mod_start & 0xfff) == 0, "module starts on a page boundary (header flag 0)");
      check(m[i].mod_start >= (uint32_t)_end || m[i].mod_end <= 0x100000, "module does not overlap the kernel");
      check(upper_end == 0 || m[i].mod_end <= upper_end, "module lies in RAM");
    }
  }
  put("checks failed: ");
  put_dec(failures);
  put("\n");
  isa_debug_exit(failures);
}
