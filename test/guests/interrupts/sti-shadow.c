// kvm-guest: mode=long
/*
 * STI's one-instruction shadow, twice: with a timer interrupt already pending while IF = 0, the
 * guest executes `sti; cli` (the shadow covers the CLI: no interrupt may come between them, SDM vol.
 * 2, STI), then `sti; hlt` (the interrupt comes after the HLT has started and wakes it, so the
 * handler returns after the HLT). A CPU that delivered it between STI and HLT would leave the guest
 * asleep for ever. It prints the ticks seen after each step.
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h"

#define TICK_VECTOR 0x41

void shadow_main(void);
void tick(void);

KVM_GUEST_START64(shadow_main);
KVM_GUEST_IRQ_STUB64(tick_stub, tick);

static volatile uint32_t ticks;

void tick(void)
{
    ticks++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

void shadow_main(void)
{
    set_gate(TICK_VECTOR, tick_stub);
    load_idt();
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
    lapic_timer_start(TICK_VECTOR, 100000); /* one-shot, 100 µs */
    /* IF = 0 until the tick is pending in IRR (word 2, bit 1 for vector 0x41), then a while longer. */
    while (!(mmio_read32(LAPIC_BASE + 0x200 + 0x20) & (1u << 1)))
        ;
    for (volatile uint32_t i = 0; i < 300000; i++)
        ;
    __asm__ volatile("sti; cli" : : : "memory");
    serial_puts(ticks == 0 ? "sti; cli: no interrupt in the shadow\n" : "sti; cli: an interrupt came in the shadow\n");
    for (volatile int i = 0; i < 10; i++)
        ;
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    serial_puts(ticks == 1 ? "sti; hlt: woken by the pending tick\n" : "sti; hlt: wrong tick count\n");
}
