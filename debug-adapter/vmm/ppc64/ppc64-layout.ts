// The ppc64 machine's physical memory map: RAM from 0 (the System Reset vector 0x100 is where the
// seed's guest is linked and starts), and one output device above RAM.
//
// The output port: a store of one byte (stb) to OUTPUT_PORT writes that byte to the guest's output
// (stdout in the CLI, the Debug Console in a debug session); loads from it return 0. In real mode the
// top four bits of an effective address are ignored, so 0x10000000 and 0xF0000000_10000000 both
// reach it. `lis 9,0x1000` puts its address in r9.
export const OUTPUT_PORT = 0x1000_0000;
/** Unicorn maps MMIO in whole pages. */
export const OUTPUT_PORT_SIZE = 0x1000;
/** The seed's start: the System Reset interrupt vector. */
export const PPC64_RESET_VECTOR = 0x100n;
export const PPC64_DEFAULT_MEMORY = 2 * 1024 * 1024;
