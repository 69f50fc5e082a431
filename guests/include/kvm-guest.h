/*
 * kvm-guest.h - the small runtime of KVM Guest Studio guests.
 *
 * Usable from C (.c) and from preprocessed assembly (.S): the assembler only sees the
 * #defines, the C part is guarded by __ASSEMBLER__. The guest toolchain puts this folder on
 * the include path, so write `#include "kvm-guest.h"`.
 */
#ifndef KVM_GUEST_H
#define KVM_GUEST_H

/* ---- I/O ports the VMM emulates ------------------------------------------------------ */

/* Linux Journal pseudo-serial port: every byte written is printed as is. */
#define IO_PORT_PSEUDO_SERIAL 0xf1
/* Debug console (the port Bochs, QEMU and kvm-hello-world use): byte out = character out. */
#define DEBUG_CONSOLE_PORT    0xe9
/* First 16550 UART. Port numbers above 0xff need %dx in `in`/`out`. */
#define COM1_PORT             0x3f8

/* 16550 register offsets from the base port (with LCR.DLAB = 0). */
#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding register (write) */
#define UART_IER 1 /* interrupt enable */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_MSR 6 /* modem status */
#define UART_SCR 7 /* scratch */

/* Line status register bits. */
#define UART_LSR_DR    0x01 /* data ready */
#define UART_LSR_OE    0x02 /* overrun error */
#define UART_LSR_PE    0x04 /* parity error */
#define UART_LSR_FE    0x08 /* framing error */
#define UART_LSR_BI    0x10 /* break interrupt */
#define UART_LSR_THRE  0x20 /* transmit holding register empty: ok to write THR */
#define UART_LSR_TEMT  0x40 /* transmitter empty */
#define UART_LSR_FIFOE 0x80 /* error in receive FIFO */

/* ---- Memory layout (see guests/README.md) --------------------------------------------- */

/* The VMM's GDT, page tables and boot stack live in [RESERVED_BASE, RESERVED_END). */
#define KVM_GUEST_RESERVED_BASE   0x90000
#define KVM_GUEST_RESERVED_END    0xa0000
/* ESP/RSP at _start in protected and long mode (grows down, below the reserved region). */
#define KVM_GUEST_STACK_TOP       0xa0000
/* Where protected and long-mode ELF guests are linked (see the scripts in guests/ld). */
#define KVM_GUEST_LOAD_ADDRESS    0x100000
/* Where a real-mode flat image goes by default; it starts at F000:FFF0. */
#define KVM_GUEST_REAL_IMAGE_BASE 0xf0000

/* ---- Machine description, interrupt controllers, virtio-mmio (see README: "Devices and interrupts") */

/* At entry in protected, paged32 and long mode EBX/RBX holds the address of struct start_info. */
#define KVM_GUEST_START_INFO      0x98000
#define MEMORY_FLAG_READ_ONLY     1
#define MEMORY_USE_FREE           0
#define MEMORY_USE_KERNEL         1 /* the loaded ELF */
#define MEMORY_USE_INIT           2 /* start_info, GDT, page tables, boot stack */

/* I/O APIC (82093AA, 24 inputs): select a register at IOREGSEL, read/write it at IOWIN. */
#define IOAPIC_BASE               0xfec00000
#define IOAPIC_IOREGSEL           0x00
#define IOAPIC_IOWIN              0x10
#define IOAPIC_REG_REDIR(n)       (0x10 + 2 * (n)) /* low dword; high dword (destination) at +1 */
#define IOAPIC_REDIR_LEVEL        (1u << 15)
#define IOAPIC_REDIR_MASKED       (1u << 16)

/* 8254 PIT: counters at 0x40-0x42, control word at 0x43; 1193182 Hz; counter 0 is ISA IRQ 0, which is
   I/O APIC input 2 (as PC firmware overrides it). */
#define PIT_COUNTER0              0x40
#define PIT_COUNTER2              0x42
#define PIT_CONTROL               0x43
#define PIT_HZ                    1193182
#define PIT_IOAPIC_INPUT          2

/* Local APIC (xAPIC MMIO). Interrupts are held until SVR bit 8 enables it. */
#define LAPIC_BASE                0xfee00000
#define LAPIC_TPR                 0x080
#define LAPIC_EOI                 0x0b0
#define LAPIC_SVR                 0x0f0
#define LAPIC_SVR_ENABLE          (1u << 8)
#define LAPIC_LVT_TIMER           0x320
#define LAPIC_TIMER_INITIAL       0x380 /* counts down at 1 GHz / divide */
#define LAPIC_TIMER_CURRENT       0x390
#define LAPIC_TIMER_DIVIDE        0x3e0 /* 0xb = divide by 1 */
#define LAPIC_LVT_MASKED          (1u << 16)
#define LAPIC_TIMER_PERIODIC      (1u << 17)

/* virtio-mmio (virtio 1.x, register map version 2); devices are listed in start_info. */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000 /* 0x74726976 "virt" */
#define VIRTIO_MMIO_VERSION             0x004 /* 2 */
#define VIRTIO_MMIO_DEVICE_ID           0x008 /* 3 console, 4 entropy */
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100
#define VIRTIO_STATUS_ACKNOWLEDGE       1
#define VIRTIO_STATUS_DRIVER            2
#define VIRTIO_STATUS_DRIVER_OK         4
#define VIRTIO_STATUS_FEATURES_OK       8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED            128
#define VIRTIO_ID_CONSOLE               3
#define VIRTIO_ID_RNG                   4
#define VIRTQ_DESC_F_NEXT               1
#define VIRTQ_DESC_F_WRITE              2
#define VIRTQ_DESC_F_INDIRECT           4

#ifndef __ASSEMBLER__

#include <stdint.h> /* a freestanding header: no libc needed */

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

/* Polls THRE first: a real 16550 drops bytes written while the holding register is full. */
static inline void serial_putc(char c)
{
    while (!(inb(COM1_PORT + UART_LSR) & UART_LSR_THRE)) {
    }
    outb(COM1_PORT + UART_THR, (uint8_t)c);
}

static inline void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

static inline void debug_putc(char c)
{
    outb(DEBUG_CONSOLE_PORT, (uint8_t)c);
}

static inline void debug_puts(const char *s)
{
    while (*s)
        debug_putc(*s++);
}

static inline void pseudo_serial_puts(const char *s)
{
    while (*s)
        outb(IO_PORT_PSEUDO_SERIAL, (uint8_t)*s++);
}

struct start_info {
    uint32_t ioapic_base;
    uint32_t mem_size;
    uint32_t mem_entries; /* struct memory_map_entry records right after this struct */
    uint32_t dev_size;    /* bytes of each device's MMIO window */
    uint32_t dev_entries; /* struct device_map_entry records right after the memory map */
};
struct memory_map_entry { uint32_t base, size, flags, use; };
struct device_map_entry { uint32_t base_addr, interrupt_num; }; /* interrupt_num: I/O APIC input */

static inline const struct memory_map_entry *start_info_memory(const struct start_info *si)
{
    return (const struct memory_map_entry *)(si + 1);
}

static inline const struct device_map_entry *start_info_devices(const struct start_info *si)
{
    return (const struct device_map_entry *)(start_info_memory(si) + si->mem_entries);
}

static inline uint32_t mmio_read32(uintptr_t address)
{
    return *(volatile uint32_t *)address;
}

static inline void mmio_write32(uintptr_t address, uint32_t value)
{
    *(volatile uint32_t *)address = value;
}

/* Split virtqueue layout (virtio 1.x, 2.7). */
struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct virtq_used_elem { uint32_t id; uint32_t len; };

/* The VMM ends the run at `hlt` with interrupts off; the loop only guards against an NMI. */
static inline __attribute__((noreturn)) void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt" : : : "memory");
}

#endif /* !__ASSEMBLER__ */

#endif /* KVM_GUEST_H */
