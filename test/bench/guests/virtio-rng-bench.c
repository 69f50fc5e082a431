// kvm-guest: mode=long
// kvm-guest: devices=virtio-rng
/*
 * The virtio benchmark's guest: `requests` virtio-rng requests of `bytes` each, one at a time, each
 * waited for with HLT until its interrupt handler (I/O APIC → local APIC → IDT → InterruptACK + EOI)
 * has run. The benchmark writes the two numbers at BENCH_PARAMS before the run and reads back the
 * bytes received and interrupts taken; with 4096-byte requests it measures throughput, with 1-byte
 * requests the interrupt round trip (notify → device → interrupt → handler → EOI → wake).
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h"

#define BENCH_PARAMS 0x8000 /* u32 requests, u32 bytes per request; then u32 received, u32 interrupts */
#define RNG_VECTOR   0x30

void bench_main(const struct start_info *si);
void irq_dispatch(void);

__asm__(".section .start, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "    mov %rbx, %rdi\n"
        "    call bench_main\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n"
        ".text\n"
        "irq_stub:\n"
        "    push %rax; push %rcx; push %rdx; push %rsi; push %rdi; push %r8; push %r9; push %r10; push %r11\n"
        "    call irq_dispatch\n"
        "    pop %r11; pop %r10; pop %r9; pop %r8; pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n"
        "    iretq\n");
extern char irq_stub[];

static struct virtq queue;
static uint32_t rng_base;
static volatile uint32_t interrupts;
static uint8_t buffer[4096];

void irq_dispatch(void)
{
    mmio_write32(rng_base + VIRTIO_MMIO_INTERRUPT_ACK, mmio_read32(rng_base + VIRTIO_MMIO_INTERRUPT_STATUS));
    interrupts++;
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

void bench_main(const struct start_info *si)
{
    volatile uint32_t *params = (volatile uint32_t *)BENCH_PARAMS;
    uint32_t requests = params[0], bytes = params[1] > sizeof buffer ? sizeof buffer : params[1], received = 0;
    const struct device_map_entry *d = start_info_devices(si);
    if (si->dev_entries == 0)
        return;
    rng_base = d[0].base_addr;
    ioapic_base = si->ioapic_base;
    set_gate(RNG_VECTOR, irq_stub);
    load_idt();
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
    if (!virtio_init(rng_base, VIRTIO_ID_RNG, &queue, 1))
        return;
    ioapic_route(d[0].interrupt_num, RNG_VECTOR);
    for (uint32_t i = 0; i < requests; i++) {
        uint32_t seen = interrupts;
        virtq_post(rng_base, 0, &queue, 0, buffer, bytes, 1);
        for (;;) {
            __asm__ volatile("cli" : : : "memory");
            if (interrupts != seen)
                break;
            __asm__ volatile("sti; hlt" : : : "memory");
        }
        __asm__ volatile("sti" : : : "memory");
        received += queue.used.ring[queue.last_used++ % QUEUE_SIZE].len;
    }
    params[2] = received;
    params[3] = interrupts;
}
