/*
 * kernel2.S - Linux Journal "Linux KVM as a Learning Tool", Listing 10.
 * Prints "Hello\n" on the pseudo-serial port, one `outb` (one I/O exit) per character.
 */
#include "runtime.h"

.code16
start:
    mov    $0x48,%al    // 'H'
    outb   %al,$IO_PORT_PSEUDO_SERIAL
    mov    $0x65,%al    // 'e'
    outb   %al,$IO_PORT_PSEUDO_SERIAL
    mov    $0x6c,%al    // 'l'
    outb   %al,$IO_PORT_PSEUDO_SERIAL
    mov    $0x6c,%al    // 'l'
    outb   %al,$IO_PORT_PSEUDO_SERIAL
    mov    $0x6f,%al    // 'o'
    outb   %al,$IO_PORT_PSEUDO_SERIAL
    mov    $0x0a,%al    // '\n'
    outb   %al,$IO_PORT_PSEUDO_SERIAL

    hlt                 // done: the VMM sees the halt

. = 0xfff0              // reset vector
    ljmp    $0xf000, $start
