/*
 * kernel1.S - Linux Journal "Linux KVM as a Learning Tool", Listing 4.
 * Clears AX and spins: no output, one vCPU at 100% until stopped (Ctrl-C).
 */
.code16                   // 16-bit real-address mode code
start:
        xor %ax, %ax
1:
        jmp 1b            // spin forever

. = 0xfff0                // image offset 0xFFF0 = physical 0xFFFF0, the reset vector
        ljmp    $0xf000, $start
