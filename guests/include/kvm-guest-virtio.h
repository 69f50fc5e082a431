/*
 * kvm-guest-virtio.h - a small driver kit for C guests on KVM Guest Studio's LSE machine:
 * IDT gates, I/O APIC routing and a split-virtqueue virtio-mmio driver (virtio 1.x, version-2
 * register map). Include after kvm-guest.h. Used by guests/lse-virtio/lse.c and the benchmarks.
 */
#ifndef KVM_GUEST_VIRTIO_H
#define KVM_GUEST_VIRTIO_H

#include "kvm-guest.h"

#ifndef QUEUE_SIZE
#define QUEUE_SIZE 8 /* descriptors per virtqueue this driver sets up */
#endif

/* ---- IDT, I/O APIC, local APIC ------------------------------------------------------------------ */

#ifdef __x86_64__
struct idt_gate { uint16_t offset_low, selector; uint8_t ist, type; uint16_t offset_mid; uint32_t offset_high, zero; };
#define CODE_SELECTOR 0x18 /* the monitor's 64-bit code segment */
#else
struct idt_gate { uint16_t offset_low, selector; uint8_t zero, type; uint16_t offset_high; };
#define CODE_SELECTOR 0x08
#endif
static struct idt_gate idt[256];

static inline void set_gate(int vector, void *handler)
{
    uintptr_t a = (uintptr_t)handler;
    /* An interrupt gate (type 0x8e: present, DPL 0, IF cleared on entry); 64-bit in long mode. */
#ifdef __x86_64__
    idt[vector] = (struct idt_gate){ (uint16_t)a, CODE_SELECTOR, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
#else
    idt[vector] = (struct idt_gate){ (uint16_t)a, CODE_SELECTOR, 0, 0x8e, (uint16_t)(a >> 16) };
#endif
}

static inline void load_idt(void)
{
    struct { uint16_t limit; uintptr_t base; } __attribute__((packed)) idtr = { sizeof idt - 1, (uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

static uint32_t ioapic_base;

static inline void ioapic_route(uint32_t input, uint32_t vector)
{
    mmio_write32(ioapic_base + IOAPIC_IOREGSEL, IOAPIC_REG_REDIR(input) + 1);
    mmio_write32(ioapic_base + IOAPIC_IOWIN, 0); /* destination: APIC ID 0 */
    mmio_write32(ioapic_base + IOAPIC_IOREGSEL, IOAPIC_REG_REDIR(input));
    mmio_write32(ioapic_base + IOAPIC_IOWIN, vector | IOAPIC_REDIR_LEVEL); /* fixed, physical, active high, unmasked */
}

/* Starts the local APIC timer counting the bus clock undivided (1 GHz here: `initial` is in ns); `lvt`
   is the vector, plus LAPIC_TIMER_PERIODIC for a periodic timer. */
static inline void lapic_timer_start(uint32_t lvt, uint32_t initial)
{
    mmio_write32(LAPIC_BASE + LAPIC_TIMER_DIVIDE, 0xb); /* divide by 1 */
    mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, lvt);
    mmio_write32(LAPIC_BASE + LAPIC_TIMER_INITIAL, initial);
}

/* ---- virtio-mmio ------------------------------------------------------------------------------- */

struct virtq {
    struct virtq_desc desc[QUEUE_SIZE];
    struct { uint16_t flags, idx, ring[QUEUE_SIZE]; } avail;
    struct { uint16_t flags, idx; struct virtq_used_elem ring[QUEUE_SIZE]; } used __attribute__((aligned(4)));
    uint16_t last_used;
} __attribute__((aligned(16)));

static inline int virtio_init(uint32_t base, uint32_t device_id, struct virtq *queues, int nqueues)
{
    if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 || mmio_read32(base + VIRTIO_MMIO_VERSION) != 2 ||
        mmio_read32(base + VIRTIO_MMIO_DEVICE_ID) != device_id)
        return 0;
    mmio_write32(base + VIRTIO_MMIO_STATUS, 0);
    mmio_write32(base + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_write32(base + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_write32(base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_write32(base + VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 (bit 32) and nothing else */
    mmio_write32(base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_write32(base + VIRTIO_MMIO_DRIVER_FEATURES, 0);
    mmio_write32(base + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(mmio_read32(base + VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return 0;
    for (int q = 0; q < nqueues; q++) {
        mmio_write32(base + VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
        if (mmio_read32(base + VIRTIO_MMIO_QUEUE_NUM_MAX) < QUEUE_SIZE)
            return 0;
        mmio_write32(base + VIRTIO_MMIO_QUEUE_NUM, QUEUE_SIZE);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)queues[q].desc);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)&queues[q].avail);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)&queues[q].used);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
        mmio_write32(base + VIRTIO_MMIO_QUEUE_READY, 1);
    }
    mmio_write32(base + VIRTIO_MMIO_STATUS,
                 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    return 1;
}

/* Makes descriptor `d` available on `vq` with one buffer, and notifies the device. */
static inline void virtq_post(uint32_t base, int queue, struct virtq *vq, int d, void *buf, uint32_t len, int device_writes)
{
    vq->desc[d] = (struct virtq_desc){ (uintptr_t)buf, len, (uint16_t)(device_writes ? VIRTQ_DESC_F_WRITE : 0), 0 };
    vq->avail.ring[vq->avail.idx % QUEUE_SIZE] = (uint16_t)d;
    __asm__ volatile("" : : : "memory"); /* the ring entry before the index (x86 keeps store order) */
    vq->avail.idx++;
    mmio_write32(base + VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)queue);
}

#ifdef __x86_64__
/* _start for a 64-bit C guest: calls `main_fn` (void), then halts with interrupts off. */
#define KVM_GUEST_START64(main_fn)                                                                       \
    __asm__(".section .start, \"ax\"\n.globl _start\n_start:\n    call " #main_fn "\n1:  cli\n    hlt\n" \
            "    jmp 1b\n.text\n")

/* A 64-bit interrupt entry `name` (for set_gate) that saves the registers the C ABI lets `handler`
   (void) change, calls it and returns with IRETQ. */
#define KVM_GUEST_IRQ_STUB64(name, handler)                                                              \
    __asm__(".text\n" #name ":\n"                                                                      \
            "    push %rax; push %rcx; push %rdx; push %rsi; push %rdi; push %r8; push %r9; push %r10; push %r11\n" \
            "    call " #handler "\n"                                                                    \
            "    pop %r11; pop %r10; pop %r9; pop %r8; pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n" \
            "    iretq\n");                                                                             \
    extern char name[]
#endif

#endif /* KVM_GUEST_VIRTIO_H */
