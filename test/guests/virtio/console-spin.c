// kvm-guest: mode=long
// kvm-guest: devices=virtio-console
/*
 * Console input for a guest that never waits: interrupts masked, no HLT, no MMIO while it spins on
 * its receive queue's used ring. Its receive buffer is in the available ring before DRIVER_OK (the
 * spec lets a driver fill a queue before it sets DRIVER_OK, and forbids notifying before), so no
 * QueueNotify ever tells the device about it: the input reaches the guest only if the monitor looks
 * at the console while the guest runs. It then echoes what came through transmitq and halts.
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h"

static struct virtq queues[2]; /* receiveq0, transmitq0 */
static char input[64];
static char echo[80];

void __attribute__((section(".start"))) _start(void)
{
    const struct start_info *si;
    __asm__ volatile("cli" : "=b"(si));
    uint32_t base = start_info_devices(si)[0].base_addr;

    struct virtq *rx = &queues[0];
    rx->desc[0] = (struct virtq_desc){ (uintptr_t)input, sizeof input, VIRTQ_DESC_F_WRITE, 0 };
    rx->avail.ring[0] = 0;
    rx->avail.idx = 1;
    if (!virtio_init(base, VIRTIO_ID_CONSOLE, queues, 2)) {
        serial_puts("no virtio-console\n");
        halt_forever();
    }
    /* Until a newline: the bytes may come in more than one piece (later buffers are notified). */
    uint32_t k = 0;
    for (const char *p = "echo: "; *p; p++)
        echo[k++] = *p;
    for (uint16_t used = 0;; used++) {
        while (*(volatile uint16_t *)&rx->used.idx == used)
            __asm__ volatile("pause" : : : "memory");
        uint32_t n = rx->used.ring[used % QUEUE_SIZE].len;
        for (uint32_t i = 0; i < n && k < sizeof echo; i++)
            echo[k++] = input[i];
        if (k == sizeof echo || echo[k - 1] == '\n')
            break;
        virtq_post(base, 0, rx, 0, input, sizeof input, 1);
    }
    virtq_post(base, 1, &queues[1], 0, echo, k, 0);
    while (*(volatile uint16_t *)&queues[1].used.idx == 0)
        __asm__ volatile("pause" : : : "memory");
    halt_forever();
}
