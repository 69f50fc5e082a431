// kvm-guest: mode=protected
/*
 * Enables its local APIC (SVR), sets IF, and in the middle of a loop of 1,000 iterations that count
 * in memory around it sends itself a fixed IPI (vector 0x40) through the ICR; then spins — no HLT —
 * counting iterations until the handler has run (at most 2,000,000). Prints the counter (3,006 when
 * no instruction ran twice), how often the handler ran (once) and the iterations waited on COM1, and
 * ends through isa-debug-exit with 0. QEMU TCG takes the IPI before the loop's next instruction;
 * eventinj-style kvm-unit-tests rely on that (they send a self-IPI and clear IF at once).
 */
#include "mb-test.h"

MULTIBOOT1_MINIMAL_ENTRY;

volatile unsigned hits, counter;
__asm__(".text\n"
        "isr40:\n"
        "    incl hits\n"
        "    movl $0, 0xfee000b0\n" /* EOI */
        "    iret\n");
extern char isr40[];
static unsigned long long idt[256];
static struct __attribute__((packed)) { unsigned short limit; unsigned base; } idtr = { sizeof(idt) - 1, 0 };

void kernel_main(void) {
  unsigned a = (unsigned)isr40;
  idt[0x40] = (a & 0xffff) | (0x08ull << 16) | (0x8e00ull << 32) | ((unsigned long long)(a >> 16) << 48);
  idtr.base = (unsigned)idt;
  __asm__ volatile("lidt %0" : : "m"(idtr));
  *(volatile unsigned *)0xfee000f0 = 0x1ff; /* SVR: APIC software-enabled, spurious vector 0xff */
  __asm__ volatile("sti");
  unsigned seen = 0;
  for (unsigned i = 0; i < 1000; i++) {
    counter++;
    if (i == 500) {
      /* ICR: to self, fixed, vector 0x40 — with counting before and after it in the same block, so
         that an instruction run twice (or skipped) around the store shows in the counter */
      __asm__ volatile("incl counter\n incl counter\n incl counter\n"
                       "movl $0x00044040, 0xfee00300\n"
                       "incl counter\n incl counter\n incl counter\n" ::: "memory");
      seen = hits; /* the handler has run before this load */
    }
    counter += 2;
  }
  unsigned n = 0;
  while (hits == 0 && n < 2000000) n++;
  serial_puts("counter=");
  put_dec(counter);
  serial_puts(" handler runs=");
  put_dec(hits);
  serial_puts(" right after the ICR write=");
  put_dec(seen);
  serial_puts(" iterations waited=");
  put_dec(n);
  serial_puts("\n");
  __asm__ volatile("outb %b0, %w1" : : "a"(0), "Nd"((unsigned short)0xf4));
}
