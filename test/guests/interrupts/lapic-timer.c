// kvm-guest: mode=long
/*
 * The local APIC timer alone (no devices): periodic, 2 ms at 1 GHz ÷ 1; the guest sleeps in
 * `sti; hlt` and counts ticks in its handler until 5, masks the timer, then checks that a
 * software-disabled APIC holds a pending tick (SVR bit 8 clear) and prints what it saw.
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h"

#define TICK_VECTOR 0x40

void timer_main(void);
void tick(void);

KVM_GUEST_START64(timer_main);
KVM_GUEST_IRQ_STUB64(tick_stub, tick);

static volatile uint32_t ticks;

void tick(void)
{
    ticks++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

void timer_main(void)
{
    set_gate(TICK_VECTOR, tick_stub);
    load_idt();
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
    lapic_timer_start(TICK_VECTOR | LAPIC_TIMER_PERIODIC, 2000000);
    while (ticks < 5)
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, TICK_VECTOR | LAPIC_TIMER_PERIODIC | LAPIC_LVT_MASKED);
    serial_puts(ticks == 5 ? "ticks: 5\n" : "ticks: wrong\n");
    /* Software-disabled: a tick that fires now is held, not delivered, even with IF = 1. */
    mmio_write32(LAPIC_BASE + LAPIC_SVR, 0xff);
    mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, TICK_VECTOR);
    mmio_write32(LAPIC_BASE + LAPIC_TIMER_INITIAL, 1000);
    for (volatile int i = 0; i < 200000; i++)
        __asm__ volatile("sti; nop; cli");
    serial_puts(ticks == 5 ? "disabled APIC held the tick\n" : "a tick arrived while the APIC was disabled\n");
}
