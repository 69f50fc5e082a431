// QEMU's isa-debug-exit device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`): a guest write of
// any width (aligned to it) in the 4-port window ends the machine, and QEMU exits with status
// (value << 1) | 1, so that a guest can never look like a clean QEMU exit (0). kvm-unit-tests and
// many OS-development test runners end their guests this way. Reads return 0, as QEMU's do.
//
// The device cannot stop a vCPU by itself (it runs inside the accelerator's run): it latches the
// value, and the vCPU ends its run once the access is served (VcpuExit 'guest-exit').
import type { PortDevice } from './bus';

export const ISA_DEBUG_EXIT_PORT = 0xf4;
export const ISA_DEBUG_EXIT_PORTS = 4;

/** The written value, once a guest has written one: what the vCPU's run() looks at after port I/O. */
export interface GuestExitLatch {
  code: number | undefined;
}

export class IsaDebugExit implements PortDevice {
  readonly name = 'isa-debug-exit (0xf4)';
  constructor(private readonly latch: GuestExitLatch) {}
  ioRead(): number {
    return 0;
  }
  ioWrite(port: number, size: number, value: number): void {
    // QEMU's memory core drops an access that is not aligned to its size within the window (the
    // device does not declare unaligned access valid): a 2-byte write at 0xf5 or a 4-byte write
    // at 0xf6 is ignored and the guest goes on (measured with qemu-system-x86_64 7.2).
    if ((port - ISA_DEBUG_EXIT_PORT) % size !== 0) return;
    // The first write ends the machine; later elements of a REP OUTS are never seen under QEMU.
    if (this.latch.code !== undefined) return;
    this.latch.code = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
  }
}

/**
 * The process exit status QEMU gives for a value: (value << 1) | 1, of which a process keeps the
 * low 8 bits (exit(3)).
 */
export function guestExitStatus(value: number): number {
  return ((value << 1) | 1) & 0xff;
}
