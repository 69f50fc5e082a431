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

/* The VMM ends the run at `hlt` with interrupts off; the loop only guards against an NMI. */
static inline __attribute__((noreturn)) void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt" : : : "memory");
}

#endif /* !__ASSEMBLER__ */

#endif /* KVM_GUEST_H */
