// The KVM accelerator's main-thread side: the VM fd over the monitor's guest RAM (memory slots), and
// the kick that interrupts KVM_RUN in the worker (immediate_exit + a signal to its thread).
import { CAP, IOCTL } from './kvm-abi';
import * as libc from '../libc';
import { KvmSystem, kvmImplementation } from './kvm-system';
import { MemorySlots } from './memory-slots';
import { supportedCpuid } from './cpuid';
import * as L from '../guest-layout';
import type { AcceleratorInfo, InterruptWiring, KickHandle, MemoryRegionInfo, VmBackend, Watch } from '../accelerator';
import { createKernelIrqchip } from './kernel-irqchip';
import { KICK_SIGNAL, kickVcpu } from './vcpu-kick';
import type { KvmVcpuInit } from './kvm-vcpu';
import type { GuestMemory } from '../guest-memory';
import { CPU_MODES } from '../../toolchain/modes';

let kickHandlerInstalled = false;

/** A handler must exist for the kick signal: an ignored signal would not interrupt KVM_RUN. */
function installKickHandler(): void {
  if (kickHandlerInstalled) return;
  process.on(KICK_SIGNAL, () => {});
  kickHandlerInstalled = true;
}

/**
 * KVM as an accelerator, before any probe: opens /dev/kvm (throwing KvmAccessError with the fix
 * when it cannot) and describes it. kvm/host-probe.ts refines the capabilities by running guests.
 */
export function openKvm(): AcceleratorInfo {
  const kvm = KvmSystem.open();
  try {
    const impl = kvmImplementation();
    return {
      name: 'kvm',
      label: `KVM${impl ? ` (${impl})` : ''}`,
      capabilities: { nativeBreakpoints: 4, singleStep: true, watchKinds: ['write'], modes: [...CPU_MODES] },
      notes: { api: `KVM API version ${kvm.apiVersion}`, implementation: impl ?? 'unknown', 'interrupt controllers': irqchipOffer(kvm) },
    };
  } finally {
    kvm.close();
  }
}

export class KvmVm implements VmBackend {
  private readonly kvm: KvmSystem;
  readonly vmFd: number;
  private readonly slots: MemorySlots;
  private tid = 0;
  private runArea?: Uint8Array;
  private runAddress = 0n;
  private destroyed = false;
  readonly kernelIrqchip?: { vmFd: number; eventfds: boolean };

  constructor(readonly info: AcceleratorInfo, memory: GuestMemory, wiring: InterruptWiring) {
    installKickHandler();
    this.kvm = KvmSystem.open();
    try {
      this.vmFd = libc.ioctlInt(this.kvm.fd, IOCTL.KVM_CREATE_VM, 0, 'KVM_CREATE_VM');
    } catch (e) {
      this.kvm.close();
      throw e;
    }
    try {
      // Intel VMX needs these pages (real mode emulation); other hosts may refuse harmlessly.
      try {
        libc.ioctlInt(this.vmFd, IOCTL.KVM_SET_TSS_ADDR, L.KVM_TSS_ADDR, 'KVM_SET_TSS_ADDR');
      } catch {
        /* not needed on this host */
      }
      this.slots = new MemorySlots(this.vmFd, memory.hostAddress, memory.size);
      const kernel = this.kernelIrqchipOffer(wiring);
      if (kernel) {
        createKernelIrqchip(this.vmFd);
        this.kernelIrqchip = { vmFd: this.vmFd, eventfds: kernel.eventfds };
      }
    } catch (e) {
      libc.close(this.vmFd);
      this.kvm.close();
      throw e;
    }
  }

  /**
   * Whether this VM gets KVM's interrupt controllers: `kernel` insists (an error names what the host
   * lacks), `auto` takes them for machines with virtio devices when KVM offers the irqchip, the PIT
   * and — for eventfds — irqfd with resampling and ioeventfd.
   */
  private kernelIrqchipOffer(wiring: InterruptWiring): { eventfds: boolean } | undefined {
    if (wiring.irqchip === 'monitor' || (wiring.irqchip === 'auto' && !wiring.devices)) return undefined;
    const has = (cap: number): boolean => this.kvm.checkExtension(cap) > 0;
    const missing = [CAP.KVM_CAP_IRQCHIP, CAP.KVM_CAP_PIT2].filter((c) => !has(c));
    if (missing.length > 0) {
      if (wiring.irqchip === 'auto') return undefined;
      throw new Error(`KVM here offers no in-kernel irqchip (${missing.map(capName).join(', ')} missing): run with irqchip monitor`);
    }
    const eventfds = wiring.eventfds && [CAP.KVM_CAP_IRQFD, CAP.KVM_CAP_IRQFD_RESAMPLE, CAP.KVM_CAP_IOEVENTFD].every(has);
    return { eventfds };
  }

  vcpuInit(): KvmVcpuInit {
    return {
      kernelIrqchip: this.kernelIrqchip !== undefined,
      vmFd: this.vmFd,
      vcpuMmapSize: this.kvm.vcpuMmapSize(),
      syncRegs: (this.kvm.checkExtension(CAP.KVM_CAP_SYNC_REGS) & 3) === 3,
      cpuid: supportedCpuid(this.kvm.fd),
    };
  }

  attach(handle: KickHandle): void {
    if (handle.kind !== 'kvm') throw new Error(`a KVM VM got a ${handle.kind} vCPU`);
    this.tid = handle.tid;
    this.runAddress = handle.runAddress;
    this.runArea = new Uint8Array(libc.viewAt(handle.runAddress, 4096));
  }

  kick(): void {
    if (this.runArea) kickVcpu(this.runArea, this.tid);
  }

  prepareWatches(watches: Watch[]): void {
    this.slots.setWriteWatches(watches.map((w) => [w.start, w.end] as [number, number]));
  }

  regions(): MemoryRegionInfo[] {
    return this.slots.regions();
  }

  describe(): Record<string, string> {
    const k = this.kernelIrqchip;
    return {
      'VM fd': String(this.vmFd),
      'interrupt controllers': k
        ? `KVM's in-kernel LAPIC, I/O APIC and PIT; devices in a device thread (${k.eventfds ? 'irqfd + ioeventfd' : 'KVM_IRQ_LINE, notifications by MMIO exit'})`
        : 'the monitor\'s LAPIC, I/O APIC and PIT (KVM_INTERRUPT; APIC accesses and HLT exit to user space)',
      memory: 'KVM memory slots over the monitor\'s mapping (KVM_SET_USER_MEMORY_REGION)',
      ...(this.runAddress ? { 'run area': `kvm_run at 0x${this.runAddress.toString(16)}` } : {}),
    };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    libc.close(this.vmFd);
    this.kvm.close();
  }
}

/** What `kvm-guest info` says of the in-kernel irqchip: offered (with eventfds or not), or not. */
function irqchipOffer(kvm: KvmSystem): string {
  const has = (cap: number): boolean => kvm.checkExtension(cap) > 0;
  if (!has(CAP.KVM_CAP_IRQCHIP) || !has(CAP.KVM_CAP_PIT2)) return 'the monitor\'s LAPIC, I/O APIC and PIT (KVM offers no in-kernel irqchip)';
  const eventfds = has(CAP.KVM_CAP_IRQFD) && has(CAP.KVM_CAP_IRQFD_RESAMPLE) && has(CAP.KVM_CAP_IOEVENTFD);
  return `KVM's in-kernel irqchip and PIT${eventfds ? ' with irqfd + ioeventfd' : ' (no irqfd/ioeventfd: KVM_IRQ_LINE and MMIO exits)'} for machines with virtio devices (--irqchip auto), else the monitor's`;
}

function capName(cap: number): string {
  return Object.entries(CAP).find(([, v]) => v === cap)?.[0] ?? `capability ${cap}`;
}
