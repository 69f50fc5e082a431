// kvm-guest: mode=long
// kvm-guest: devices=virtio-rng
/*
 * A hostile driver, for the monitor's robustness tests: it hands virtio-rng a descriptor pointing
 * far outside guest RAM, then a descriptor chain that loops on itself, notifies before DRIVER_OK,
 * writes a read-only register and makes 1-byte register accesses. Per the virtio spec the device
 * sets DEVICE_NEEDS_RESET for the broken rings; the guest prints the status it reads back after each,
 * resets the device (status 0) and finally makes one good request, which must still work.
 * No interrupts: it polls the used ring.
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h"

static struct virtq queue;
static uint8_t buffer[16];

static void put_hex(uint32_t v)
{
    for (int i = 7; i >= 0; i--)
        serial_putc("0123456789abcdef"[(v >> (i * 4)) & 0xf]);
}

static void status(uint32_t base, const char *what)
{
    serial_puts(what);
    serial_puts(": status 0x");
    put_hex(mmio_read32(base + VIRTIO_MMIO_STATUS));
    serial_putc('\n');
}

static void fresh(uint32_t base)
{
    for (unsigned i = 0; i < sizeof queue; i++)
        ((volatile uint8_t *)&queue)[i] = 0;
    virtio_init(base, VIRTIO_ID_RNG, &queue, 1);
}

void __attribute__((section(".start"))) _start(void)
{
    const struct start_info *si;
    __asm__ volatile("" : "=b"(si));
    uint32_t base = start_info_devices(si)[0].base_addr;

    mmio_write32(base + VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK */
    mmio_write32(base + VIRTIO_MMIO_MAGIC_VALUE, 0); /* a read-only register */
    *(volatile uint8_t *)(uintptr_t)(base + VIRTIO_MMIO_STATUS) = 1; /* a 1-byte register write */

    fresh(base);
    queue.desc[0] = (struct virtq_desc){ 0xffffffff00000000ull, 16, VIRTQ_DESC_F_WRITE, 0 };
    queue.avail.ring[0] = 0;
    queue.avail.idx = 1;
    mmio_write32(base + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    status(base, "buffer outside RAM");

    fresh(base);
    queue.desc[0] = (struct virtq_desc){ (uintptr_t)buffer, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 };
    queue.desc[1] = (struct virtq_desc){ (uintptr_t)buffer, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0 };
    queue.avail.ring[0] = 0;
    queue.avail.idx = 1;
    mmio_write32(base + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    status(base, "descriptor loop");

    fresh(base);
    virtq_post(base, 0, &queue, 0, buffer, sizeof buffer, 1);
    while (*(volatile uint16_t *)&queue.used.idx == 0)
        __asm__ volatile("pause");
    serial_puts("good request after reset: ");
    put_hex(queue.used.ring[0].len);
    serial_puts(" bytes\n");
    halt_forever();
}
