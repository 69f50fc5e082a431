/*
 * kernel3.S - Linux Journal "Linux KVM as a Learning Tool", Listing 12.
 * Prints "Hello, World!\n" with a single `rep outsb`: one I/O exit for the whole string.
 * The string is addressed through CS (DS is 0, the image is in segment F000), hence the `cs`
 * prefixes; the one on `lea` does nothing, and as says so in a warning.
 */
#include "runtime.h"

.code16
start:
    mov     $(IO_PORT_PSEUDO_SERIAL), %dx
    cs lea  greeting, %si
    mov     $14, %cx        // strlen("Hello, World!\n")
    cs rep/outsb            // CS:SI -> port DX, CX times
    hlt

.align 16
greeting:
    .asciz  "Hello, World!\n"

. = 0xfff0                  // reset vector
    ljmp    $0xf000, $start
