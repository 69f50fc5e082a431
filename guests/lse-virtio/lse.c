// kvm-guest: mode=protected
// kvm-guest: devices=virtio-rng,virtio-console
/*
 * A guest written the LSE "writing a VMM" way: started in 32-bit protected mode from its ELF (it
 * builds for long mode too: `--mode long`, with RBX instead of EBX and 64-bit gates), it
 * finds the machine in the start_info struct at EBX, drives a virtio-rng device with an interrupt
 * (IDT + I/O APIC + local APIC EOI) for 16 random bytes, then talks through virtio-console: it
 * prints a line there and echoes one line of input back, waiting at most a second for it (a local
 * APIC timer interrupt ends the wait).
 */
#include "kvm-guest.h"
#include "kvm-guest-virtio.h" /* IDT gates, I/O APIC routing, a small virtio-mmio driver */

#define RNG_VECTOR     0x30
#define CONSOLE_VECTOR 0x31
#define TIMER_VECTOR   0x32

/* ---- entry and interrupt stubs --------------------------------------------------------------- */

void lse_main(const struct start_info *si);
void irq_dispatch(uint32_t vector);

#ifdef __x86_64__
__asm__(".section .start, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "    mov %rbx, %rdi\n" /* struct start_info * */
        "    call lse_main\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n"
        ".text\n"
        ".macro irq_stub vector\n" /* the registers the C ABI lets irq_dispatch change */
        "irq_stub_\\vector:\n"
        "    push %rax; push %rcx; push %rdx; push %rsi; push %rdi; push %r8; push %r9; push %r10; push %r11\n"
        "    mov $\\vector, %edi\n"
        "    call irq_dispatch\n"
        "    pop %r11; pop %r10; pop %r9; pop %r8; pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n"
        "    iretq\n"
        ".endm\n"
        "irq_stub 0x30\n"
        "irq_stub 0x31\n"
        "irq_stub 0x32\n");
#else
__asm__(".section .start, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "    push %ebx\n" /* struct start_info * */
        "    call lse_main\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n"
        ".text\n"
        ".macro irq_stub vector\n"
        "irq_stub_\\vector:\n"
        "    pushal\n"
        "    push $\\vector\n"
        "    call irq_dispatch\n"
        "    add $4, %esp\n"
        "    popal\n"
        "    iret\n"
        ".endm\n"
        "irq_stub 0x30\n"
        "irq_stub 0x31\n"
        "irq_stub 0x32\n");
#endif
extern char irq_stub_0x30[], irq_stub_0x31[], irq_stub_0x32[];

/* ---- output ------------------------------------------------------------------------------------ */

static void put_hex(uint32_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        serial_putc("0123456789abcdef"[(v >> (i * 4)) & 0xf]);
}

static void put_dec(uint32_t v)
{
    char buf[11];
    int n = 0;
    do
        buf[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        serial_putc(buf[--n]);
}

/* ---- the devices ------------------------------------------------------------------------------ */

static struct virtq rng_queue;
static struct virtq console_queues[2]; /* receiveq0, transmitq0 */
static uint32_t rng_base, console_base;
static volatile uint32_t rng_interrupts, console_interrupts, timer_fired;
static uint8_t random_bytes[16];
static char input_line[64];
static char output_line[96];

void irq_dispatch(uint32_t vector)
{
    if (vector == RNG_VECTOR) {
        uint32_t status = mmio_read32(rng_base + VIRTIO_MMIO_INTERRUPT_STATUS);
        mmio_write32(rng_base + VIRTIO_MMIO_INTERRUPT_ACK, status); /* lowers the line before the EOI */
        rng_interrupts++;
    } else if (vector == CONSOLE_VECTOR) {
        uint32_t status = mmio_read32(console_base + VIRTIO_MMIO_INTERRUPT_STATUS);
        mmio_write32(console_base + VIRTIO_MMIO_INTERRUPT_ACK, status);
        console_interrupts++;
    } else if (vector == TIMER_VECTOR) {
        timer_fired = 1;
    }
    mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

/*
 * Waits with HLT (IF = 1) until the device's interrupt for the request came (its handler counted
 * it: *interrupts moved past `seen`) or, with `timeout`, the timer fired; then takes the used-ring
 * entry. Waiting for the interrupt, not only the used ring, makes the run the same on every CPU.
 */
static int wait_used(struct virtq *vq, volatile uint32_t *interrupts, uint32_t seen, int timeout)
{
    for (;;) {
        __asm__ volatile("cli" : : : "memory");
        if (*interrupts != seen || (timeout && timer_fired)) {
            __asm__ volatile("sti" : : : "memory");
            break;
        }
        __asm__ volatile("sti; hlt" : : : "memory"); /* STI's shadow: no interrupt is lost between them */
    }
    if (*(volatile uint16_t *)&vq->used.idx == vq->last_used)
        return -1;
    return (int)vq->used.ring[vq->last_used++ % QUEUE_SIZE].len;
}

static void console_write(const char *s, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < sizeof output_line; i++)
        output_line[i] = s[i];
    uint32_t seen = console_interrupts;
    virtq_post(console_base, 1, &console_queues[1], 0, output_line, n, 0);
    wait_used(&console_queues[1], &console_interrupts, seen, 0);
}

static uint32_t length(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

void lse_main(const struct start_info *si)
{
    static const char *const uses[] = { "free", "kernel", "init" };
    serial_puts("start_info at 0x");
    put_hex((uint32_t)(uintptr_t)si, 8);
    serial_puts(": ");
    put_dec(si->mem_size >> 10);
    serial_puts(" KiB of RAM, I/O APIC at 0x");
    put_hex(si->ioapic_base, 8);
    serial_puts("\nmemory map:\n");
    const struct memory_map_entry *m = start_info_memory(si);
    for (uint32_t i = 0; i < si->mem_entries; i++) {
        serial_puts("  0x");
        put_hex(m[i].base, 8);
        serial_puts("-0x");
        put_hex(m[i].base + m[i].size - 1, 8);
        serial_puts(m[i].flags & MEMORY_FLAG_READ_ONLY ? " ro " : " rw ");
        serial_puts(m[i].use < 3 ? uses[m[i].use] : "?");
        serial_putc('\n');
    }
    serial_puts("devices:\n");
    const struct device_map_entry *d = start_info_devices(si);
    uint32_t rng_irq = 0, console_irq = 0;
    for (uint32_t i = 0; i < si->dev_entries; i++) {
        uint32_t id = mmio_read32(d[i].base_addr + VIRTIO_MMIO_DEVICE_ID);
        serial_puts("  0x");
        put_hex(d[i].base_addr, 8);
        serial_puts(" irq ");
        put_dec(d[i].interrupt_num);
        serial_puts(id == VIRTIO_ID_RNG ? " virtio-rng\n" : id == VIRTIO_ID_CONSOLE ? " virtio-console\n" : " unknown\n");
        if (id == VIRTIO_ID_RNG && !rng_base)
            rng_base = d[i].base_addr, rng_irq = d[i].interrupt_num;
        if (id == VIRTIO_ID_CONSOLE && !console_base)
            console_base = d[i].base_addr, console_irq = d[i].interrupt_num;
    }

    ioapic_base = si->ioapic_base;
    set_gate(RNG_VECTOR, irq_stub_0x30);
    set_gate(CONSOLE_VECTOR, irq_stub_0x31);
    set_gate(TIMER_VECTOR, irq_stub_0x32);
    load_idt();
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);

    if (rng_base && virtio_init(rng_base, VIRTIO_ID_RNG, &rng_queue, 1)) {
        ioapic_route(rng_irq, RNG_VECTOR);
        virtq_post(rng_base, 0, &rng_queue, 0, random_bytes, sizeof random_bytes, 1);
        int n = wait_used(&rng_queue, &rng_interrupts, 0, 0);
        serial_puts("virtio-rng: ");
        put_dec((uint32_t)(n < 0 ? 0 : n));
        serial_puts(" random bytes:");
        for (int i = 0; i < n; i++) {
            serial_putc(' ');
            put_hex(random_bytes[i], 2);
        }
        serial_puts("\nvirtio-rng interrupts: ");
        put_dec(rng_interrupts);
        serial_putc('\n');
    } else {
        serial_puts("no virtio-rng (run with --device virtio-rng)\n");
    }

    if (console_base && virtio_init(console_base, VIRTIO_ID_CONSOLE, console_queues, 2)) {
        ioapic_route(console_irq, CONSOLE_VECTOR);
        console_write("hello through virtio-console\n", 29);
        /* One line of input, or a second of silence: the local APIC timer (1 GHz, divide by 1) ends the wait. */
        uint32_t seen = console_interrupts;
        virtq_post(console_base, 0, &console_queues[0], 0, input_line, sizeof input_line, 1);
        lapic_timer_start(TIMER_VECTOR, 1000000000u);
        int n = wait_used(&console_queues[0], &console_interrupts, seen, 1);
        if (n > 0) {
            static char echo[96] = "echo: ";
            uint32_t k = length(echo);
            for (int i = 0; i < n && k < sizeof echo - 1; i++)
                echo[k++] = input_line[i];
            if (echo[k - 1] != '\n')
                echo[k++] = '\n';
            console_write(echo, k);
        } else {
            console_write("no input within a second\n", 25);
        }
        serial_puts("virtio-console interrupts: ");
        put_dec(console_interrupts);
        serial_putc('\n');
    } else {
        serial_puts("no virtio-console (run with --device virtio-console)\n");
    }
    serial_puts("done\n");
}
