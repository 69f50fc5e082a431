// The software CPU's main-thread side: what the session sees of the accelerator (openSoftwareCpu)
// and the VM backend, whose only live duty is the kick: uc_emu_stop on the worker's engine.
import type { AcceleratorInfo, InterruptWiring, KickHandle, MemoryRegionInfo, VmBackend, Watch } from '../accelerator';
import type { GuestMemory } from '../guest-memory';
import type { TcgVcpuInit } from './tcg-vcpu';
import { emuStopByAddress, unicorn } from './unicorn-lib';

/** Loads Unicorn (throws SoftwareCpuUnavailable with install instructions) and describes it. */
export function openSoftwareCpu(): AcceleratorInfo {
  const lib = unicorn();
  return {
    name: 'tcg',
    label: `software CPU (Unicorn ${lib.version.text})`,
    capabilities: {
      nativeBreakpoints: Infinity,
      singleStep: true,
      watchKinds: ['read', 'write', 'readWrite'],
      modes: ['real', 'protected', 'paged32', 'long'],
    },
    notes: {
      engine: `Unicorn ${lib.version.text} (QEMU TCG, libunicorn.so.2 from the system)`,
      speed: 'binary translation (QEMU TCG): slower than hardware KVM for CPU-bound code; each port exit costs ~0.15 µs of user time',
      exceptions: 'delivered by the monitor through the guest IVT/IDT (Unicorn only reports them)',
      ...(lib.version.major === 2 && lib.version.minor === 0
        ? { paging: 'identity-mapped page tables only (Unicorn 2.0.x accesses physical = linear; fixed in 2.1): other mappings are refused with a message' }
        : {}),
    },
  };
}

export class TcgVm implements VmBackend {
  private engine: bigint | undefined;

  constructor(readonly info: AcceleratorInfo, private readonly memory: GuestMemory, wiring: InterruptWiring) {
    if (wiring.irqchip === 'kernel') throw new Error('the software CPU has no in-kernel irqchip: its interrupt controllers are the monitor\'s (use irqchip auto or monitor)');
  }

  vcpuInit(): TcgVcpuInit {
    return {};
  }

  attach(handle: KickHandle): void {
    if (handle.kind !== 'tcg') throw new Error(`the software CPU cannot use a ${handle.kind} kick handle`);
    this.engine = handle.engine;
  }

  /**
   * uc_emu_stop on the worker's engine, by address (the handle is the worker's pointer). Unicorn
   * forgets a stop requested while it is not inside uc_emu_start: the caller sets CTL.STOP first
   * (run() checks it before starting) and kicks again if the vCPU is still running.
   */
  kick(): void {
    if (this.engine !== undefined) emuStopByAddress(this.engine);
  }

  /** Watches are memory hooks armed by the vCPU itself: nothing to prepare. */
  prepareWatches(_watches: Watch[]): void {}

  regions(): MemoryRegionInfo[] {
    return [{ guestPhysical: 0, size: this.memory.size, hostVirtual: this.memory.hostAddress, access: 'read-write (memory hooks for watches)' }];
  }

  describe(): Record<string, string> {
    return {
      memory: 'one region at guest-physical 0, shared with the engine by uc_mem_map_ptr',
      'run area': 'none: exits are hook callbacks inside uc_emu_start',
      'MMIO': 'everything above RAM is one uc_mmio_map region served by the bus; a memory hook on it keeps 8-byte and unaligned accesses whole',
      kick: this.engine === undefined ? 'not attached' : `uc_emu_stop on engine 0x${this.engine.toString(16)}`,
    };
  }

  destroy(): void {
    this.engine = undefined;
  }
}
