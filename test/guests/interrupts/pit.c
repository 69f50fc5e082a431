// kvm-guest: mode=long
/*
 * The 8254 PIT's counter 0 as a PC kernel uses it: mode 2 (rate generator) at 1193182 / 11932 ≈ 100 Hz,
 * its output on ISA IRQ 0 = I/O APIC input 2 (edge), vector 0x20. The guest sleeps in `sti; hlt`
 * until 5 ticks, then latches counter 2 twice (mode 0, counting down from 0xffff) and checks the
 * count went down, and prints what it saw.
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h"

#define PIT_VECTOR 0x20

void pit_main(void);
void tick(void);

KVM_GUEST_START64(pit_main);
KVM_GUEST_IRQ_STUB64(tick_stub, tick);

static volatile uint32_t ticks;

void tick(void)
{
    /* Stop counter 0 at once on the fifth tick (mode 0, no count written): a sixth period must not end
       while the guest is still on its way out, however slowly the host runs it. */
    if (++ticks == 5)
        outb(0x43, 0x30);
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

static uint16_t latch2(void)
{
    outb(0x43, 0x80); /* counter 2, latch */
    uint8_t lo = inb(0x42);
    uint8_t hi = inb(0x42);
    return (uint16_t)(lo | (hi << 8));
}

void pit_main(void)
{
    set_gate(PIT_VECTOR, tick_stub);
    load_idt();
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
    ioapic_base = IOAPIC_BASE;
    mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, IOAPIC_REG_REDIR(2) + 1);
    mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, 0);
    mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, IOAPIC_REG_REDIR(2));
    mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, PIT_VECTOR); /* fixed, edge, active high, unmasked */
    outb(0x43, 0x34); /* counter 0, lsb then msb, mode 2 */
    outb(0x40, 11932 & 0xff);
    outb(0x40, 11932 >> 8);
    while (ticks < 5)
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    serial_puts(ticks == 5 ? "pit ticks: 5\n" : "pit ticks: wrong\n");
    outb(0x43, 0xb0); /* counter 2, lsb then msb, mode 0 */
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    uint16_t a = latch2();
    /* Far longer than one PIT tick (0.84 µs), far shorter than the 55 ms after which it wraps. */
    for (volatile int i = 0; i < 10000; i++)
        ;
    uint16_t b = latch2();
    serial_puts(b < a ? "counter 2 counts down\n" : "counter 2 does not count\n");
}
