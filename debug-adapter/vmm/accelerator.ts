// The accelerator seam: what runs the vCPU. The monitor (guest RAM, mode set-up, devices, exit
// statistics, the debug engine, stop reports) is the same for every accelerator; an accelerator
// only virtualizes (KVM) or emulates (the software CPU, Unicorn) the processor.
//
// Shape (after cloud-hypervisor's `hypervisor` crate): three small parts.
// - AcceleratorInfo: a name and capabilities, all the session, CLI and extension ever see.
// - VmBackend: main-thread side of one VM over the monitor's guest RAM (kick, watch set-up, views).
// - Vcpu: worker-thread side; run() serves port I/O and MMIO through the monitor's buses inside and
//   returns only exits the monitor must judge.
import type { CpuMode } from '../toolchain/modes';
import type { CpuState, Regs, SRegs } from './cpu-state';
import type { MmioBus, PortBus, UnmappedAccess } from './devices/bus';
import type { ExitCounters } from './exit-counters';
import type { GuestExitLatch } from './devices/isa-debug-exit';
import type { RedirectionInfo } from './devices/ioapic';
import type { LocalApicInfo } from './devices/local-apic';

export type AcceleratorName = 'kvm' | 'tcg';
export type AcceleratorChoice = AcceleratorName | 'auto';
export const ACCELERATOR_CHOICES: readonly AcceleratorChoice[] = ['auto', 'kvm', 'tcg'];

export type WatchKind = 'read' | 'write' | 'readWrite';

/**
 * Who models the local APIC, I/O APIC and PIT: the monitor (both accelerators; KVM injects with
 * KVM_INTERRUPT and every APIC access and HLT exits to user space) or KVM in the kernel
 * (KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2; the virtio devices then run in a device thread).
 */
export type InterruptControllers = 'monitor' | 'kernel';
export type IrqchipChoice = 'auto' | InterruptControllers;
export const IRQCHIP_CHOICES: readonly IrqchipChoice[] = ['auto', 'monitor', 'kernel'];

/** How a VM's interrupts are to be wired (resolved by the accelerator against what its host offers). */
export interface InterruptWiring {
  /** auto: KVM's in-kernel controllers when the machine has virtio devices and KVM offers them. */
  irqchip: IrqchipChoice;
  /** With KVM's controllers: irqfd and ioeventfd where offered (else KVM_IRQ_LINE and MMIO exits). */
  eventfds: boolean;
  /** Whether the machine has virtio devices (what `auto` decides on). */
  devices: boolean;
}

export const DEFAULT_WIRING: InterruptWiring = { irqchip: 'auto', eventfds: true, devices: false };

export interface AcceleratorCapabilities {
  /** Breakpoints armed natively at once (KVM: the four debug registers, or 0; software CPU: unlimited). */
  nativeBreakpoints: number;
  /** Exact single-step. */
  singleStep: boolean;
  /** Data breakpoint kinds. */
  watchKinds: WatchKind[];
  /** CPU modes a guest can start in. */
  modes: CpuMode[];
}

export interface AcceleratorInfo {
  name: AcceleratorName;
  /** For people: "KVM (kvm_intel)", "software CPU (Unicorn 2.0.1)". */
  label: string;
  capabilities: AcceleratorCapabilities;
  /** Facts for `kvm-guest info` and the views (probe notes, versions, what differs). */
  notes: Record<string, string>;
}

/** A guest-physical range [start, end) whose accesses of `kind` stop the guest. */
export interface Watch {
  start: number;
  end: number;
  kind: WatchKind;
}

/** What the debug engine asks the vCPU for, for the following run()s. */
export interface DebugArm {
  /** Linear addresses; never more than capabilities.nativeBreakpoints. */
  breakpoints: bigint[];
  singleStep: boolean;
  watches: Watch[];
}

export const NO_DEBUG: DebugArm = { breakpoints: [], singleStep: false, watches: [] };

export interface MemoryAccess {
  address: number;
  length: number;
  write: boolean;
  /** The bytes written (or read). */
  data: number[];
}

/** Why run() returned. Port I/O and MMIO never appear here: run() serves them. */
export type VcpuExit =
  | { kind: 'halt' }
  /** The guest wrote `code` to isa-debug-exit: the machine ends (registers as after that OUT). */
  | { kind: 'guest-exit'; code: number }
  /** Triple fault: an exception could not be delivered. */
  | { kind: 'shutdown'; detail?: string }
  /** The main thread asked for a stop (pause, timeout, terminate): see the control block. */
  | { kind: 'kicked' }
  /** One instruction completed under single-step; pc is linear. */
  | { kind: 'step'; pc: bigint }
  /** An armed breakpoint is at pc (not yet executed). */
  | { kind: 'breakpoint'; pc: bigint }
  /** A watched access completed; pc is the next instruction, `at` the accessing one when known. */
  | { kind: 'watch'; pc: bigint; at?: bigint; access: MemoryAccess }
  /** A debug exit nobody armed (e.g. the guest's own debug registers). */
  | { kind: 'debug'; exception: number; pc: bigint }
  /** The accelerator could not go on: its own words, and the instruction bytes when known. */
  | { kind: 'internal-error'; message: string; suberror?: number; data?: bigint[]; instructionBytes?: number[] }
  | { kind: 'entry-failure'; hardwareReason: bigint }
  | { kind: 'run-error'; errno: string }
  | { kind: 'unhandled'; reason: number; name: string };

/** What a vCPU is given when it is created in the worker. */
export interface VcpuEnvironment {
  /** Guest RAM as the worker sees it (the same mapping as the main thread's). */
  memory: Uint8Array;
  memoryAddress: bigint;
  ports: PortBus;
  mmio: MmioBus;
  counters: ExitCounters;
  /** The shared control block: CTL.STOP non-zero means "return { kind: 'kicked' }" soon. */
  ctl: Int32Array;
  /** The interrupt controllers (local APIC + I/O APIC): what an accelerator without its own delivers. */
  interrupts: InterruptSource;
  /** Set by isa-debug-exit inside a port write: run() returns { kind: 'guest-exit' } once that access is served. */
  guestExit: GuestExitLatch;
}

/**
 * External interrupts as a vCPU sees them (the monitor's local APIC behind it). The vCPU delivers
 * `acknowledge()`'s vector through the IDT/IVT at an instruction boundary while RFLAGS.IF = 1, and
 * calls `idle()` when the guest executes HLT with IF = 1.
 */
export interface InterruptSource {
  /** The vector the CPU would take now if IF allowed, or undefined. */
  pending(): number | undefined;
  /** The CPU takes the pending vector (IRR → ISR); undefined when there is none. */
  acknowledge(): number | undefined;
  /**
   * HLT with IF = 1: waits until an interrupt is pending ('pending'), the main thread asks for a
   * stop ('kicked'), or nothing can ever raise one ('never': the run ends halted, as before).
   */
  idle(ctl: Int32Array): 'pending' | 'kicked' | 'never';
  /** Whether anything can raise an interrupt while the guest runs (devices, an armed timer, one pending). */
  live(): boolean;
  /**
   * Lets devices that wait for outside input (a console's typed bytes) take it while the guest runs,
   * for a vCPU that runs the guest in pieces (the software CPU): a guest that spins on its rings with
   * no HLT and no exit would otherwise never see it. Cheap: a look at a shared ring.
   */
  poll?(): void;
}

/** The worker-thread side of a vCPU. */
export interface Vcpu {
  run(): VcpuExit;
  getState(): CpuState;
  setState(regs?: Regs, sregs?: SRegs): void;
  /** The linear PC, cheaper than getState() where the accelerator allows. */
  pc(): bigint;
  /** RSP, cheaper than getState() where the accelerator allows (step out). */
  sp(): bigint;
  setDebug(arm: DebugArm): void;
  /** Linear → guest-physical through the vCPU's current paging; null when not mapped. */
  translate(linear: bigint): bigint | null;
  /** Up to 15 bytes at CS:RIP, for stop reports. */
  instructionBytes(): number[];
  /**
   * The linear PC of the instruction making `access`, the port-I/O or MMIO access the buses are
   * serving now (called from inside run(), for the `unmapped` report).
   */
  accessPc(access: UnmappedAccess): bigint;
  /** Sent to the main thread so that its VmBackend can kick this vCPU. */
  kickHandle(): KickHandle;
  /** Rows for the machine view: what this vCPU is made of (run area, engine handle…). */
  describe(): Record<string, string>;
  /**
   * With KVM's in-kernel controllers: their state as the views show it (the monitor's are read
   * directly); I/O APIC entries the guest programmed and those `keep` asks for.
   */
  kernelInterruptControllers?(keep: (pin: number) => boolean): { ioapic: RedirectionInfo[]; lapic: LocalApicInfo } | undefined;
  /** KVM: the vCPU's binary statistics fd, for the device thread's halt checks. */
  statisticsFd?(): number | undefined;
  close(): void;
}

/** Accelerator-specific data a kick needs, passed from worker to main thread. */
export type KickHandle =
  | { kind: 'kvm'; tid: number; runAddress: bigint }
  | { kind: 'tcg'; engine: bigint };

/** A memory region as the views show it. */
export interface MemoryRegionInfo {
  guestPhysical: number;
  size: number;
  hostVirtual: bigint;
  /** "read-write", "read-only (write watch)"… */
  access: string;
  /** KVM: the slot number; elsewhere undefined. */
  slot?: number;
}

/**
 * The main-thread side of a VM. Implementations are constructed as `new KvmVm(info, memory)` /
 * `new TcgVm(info: AcceleratorInfo, memory: GuestMemory)` by accelerators.ts; the vCPU as
 * `new TcgVcpu(init, env)` by vcpu-factory.ts in the worker (init = vm.vcpuInit()).
 */
export interface VmBackend {
  readonly info: AcceleratorInfo;
  /** Set when KVM's in-kernel interrupt controllers serve this VM: what the device thread needs. */
  readonly kernelIrqchip?: { vmFd: number; eventfds: boolean };
  /** Accelerator-specific part of the worker's init message (structured-clonable). */
  vcpuInit(): unknown;
  /** Called with the worker's kick handle once the vCPU exists. */
  attach(handle: KickHandle): void;
  /** Interrupts a running vCPU; run() returns { kind: 'kicked' } promptly. */
  kick(): void;
  /** Prepares memory for the watches of the next run (KVM: read-only slots). Only while stopped. */
  prepareWatches(watches: Watch[]): void;
  regions(): MemoryRegionInfo[];
  /** Rows for the machine view (memory mechanism, run area or its stand-in). */
  describe(): Record<string, string>;
  destroy(): void;
}
