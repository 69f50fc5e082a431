// kvm-guest: mode=long
// kvm-guest: devices=virtio-console
/*
 * 8-byte MMIO accesses, each one MOV: a store and a load at an address no device decodes, at the
 * console's config space (a store to emerg_wr, a load of cols/rows/max_nr_ports) and at virtio
 * registers (which take aligned 32-bit accesses only). KVM reports each as one 8-byte access
 * (kvm_run.mmio.len = 8); the software CPU must hand each to the monitor whole as well.
 */
#include "kvm-guest.h"

#define UNMAPPED 0xd0000000u

/* One MOV each, whatever the compiler would make of a volatile 64-bit access. */
#define STORE64(address, value) __asm__ volatile("movq %0, (%1)" : : "r"((uint64_t)(value)), "r"((uintptr_t)(address)) : "memory")
#define LOAD64(address, out) __asm__ volatile("movq (%1), %0" : "=r"(out) : "r"((uintptr_t)(address)) : "memory")

static void put_hex64(const char *what, uint64_t v)
{
    serial_puts(what);
    for (int i = 15; i >= 0; i--)
        serial_putc("0123456789abcdef"[(v >> (i * 4)) & 0xf]);
    serial_putc('\n');
}

void __attribute__((section(".start"))) _start(void)
{
    const struct start_info *si;
    __asm__ volatile("" : "=b"(si));
    uint32_t base = start_info_devices(si)[0].base_addr;

    uint64_t unmapped, config, magic;
    STORE64(UNMAPPED, 0x1122334455667788ull);
    LOAD64(UNMAPPED + 8, unmapped);
    STORE64(base + VIRTIO_MMIO_CONFIG + 8, '!' | 0x4847464544434200ull); /* emerg_wr: its low byte is output */
    LOAD64(base + VIRTIO_MMIO_CONFIG, config);
    STORE64(base + VIRTIO_MMIO_QUEUE_DESC_LOW, 0x0000000100002000ull); /* QueueDescLow + High at once */
    LOAD64(base + VIRTIO_MMIO_MAGIC_VALUE, magic);

    serial_putc('\n');
    put_hex64("unmapped: ", unmapped);
    put_hex64("config: ", config);
    put_hex64("registers: ", magic);
    halt_forever();
}
