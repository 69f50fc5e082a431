// Messages between the main thread and the vCPU worker, and the control block they share.
import type { CpuMode } from '../toolchain/modes';
import type { EntryPoint } from './cpu-modes';
import type { UnmappedAccess } from './devices/bus';
import type { Regs, SRegs } from './cpu-state';
import type { RedirectionInfo } from './devices/ioapic';
import type { LocalApicInfo } from './devices/local-apic';
import type { VirtioSnapshot } from './devices/virtio/virtio-snapshot';
import type { DescriptorEntry } from './devices/virtio/virtqueue';
import type { AcceleratorName, DebugArm, InterruptControllers, KickHandle, MemoryAccess, Watch } from './accelerator';
import type { EventfdStats, IoChannelInit } from './io-thread/io-channel';

/** Devices whose output can be forwarded to the serial stream. */
export type OutputDevice = 'uart' | 'debugcon' | 'pseudo-serial' | 'virtio-console';
export const OUTPUT_DEVICES: readonly OutputDevice[] = ['uart', 'debugcon', 'pseudo-serial', 'virtio-console'];

/** virtio-mmio devices a machine can have (`--device`, the `devices` launch attribute). */
export type VirtioDeviceKind = 'virtio-rng' | 'virtio-console';
export const VIRTIO_DEVICE_KINDS: readonly VirtioDeviceKind[] = ['virtio-rng', 'virtio-console'];

/** The interrupt controllers and virtio devices as of a stop (views, `.virtio`, `.irq`, --stats). */
export interface DevicesSnapshot {
  /** Whose LAPIC, I/O APIC and PIT these are: the monitor's, or KVM's in-kernel ones. */
  controllers: InterruptControllers;
  ioapic: RedirectionInfo[];
  lapic: LocalApicInfo;
  /** Vectors the CPU took (delivered through the IDT/IVT), and how often. */
  interruptsTaken: Record<number, number>;
  virtio: (VirtioSnapshot & { descriptorTables: DescriptorEntry[][] })[];
  /** KVM's in-kernel controllers: what the device thread did without the vCPU leaving the kernel. */
  eventfds?: EventfdStats;
}

/** Int32 slots of the control SharedArrayBuffer. */
export const CTL = {
  /** Non-zero asks the worker to stop: a StopRequest code. */
  STOP: 0,
  /** 1 while the worker is inside its run loop. */
  RUNNING: 1,
  SIZE: 4,
} as const;

export const STOP_REQUEST = { NONE: 0, PAUSE: 1, TIMEOUT: 2, TERMINATE: 3 } as const;

export interface WorkerInit {
  accelerator: AcceleratorName;
  /** The accelerator's own vCPU init (KvmVcpuInit, TcgVcpuInit). */
  vcpu: unknown;
  /** Breakpoints the accelerator arms natively; the debug engine scans by single-step beyond. */
  nativeBreakpoints: number;
  memAddress: bigint;
  memSize: number;
  mode: CpuMode;
  entry: EntryPoint;
  ctl: SharedArrayBuffer;
  output: SharedArrayBuffer;
  input: SharedArrayBuffer;
  outputDevices: OutputDevice[];
  devices: VirtioDeviceKind[];
  /** Registers a boot protocol sets on top of the mode's initial state (Multiboot: EAX = magic, EBX = info). */
  bootRegisters?: { rax: bigint; rbx: bigint };
  /** KVM's in-kernel controllers: the virtio devices live in the device thread, reached through this. */
  deviceThread?: IoChannelInit;
}

/**
 * How a run is watched (the debug engine's primitives; everything else is a plain run):
 * - breakpoints: linear addresses to stop at: armed natively while the accelerator can (KVM: four
 *   debug registers; the software CPU: any number), beyond that by single-stepping and comparing;
 * - singleStep: stop after one instruction;
 * - stepRanges: keep stepping while the PC stays in one of these [start, end) ranges (line steps),
 *   stopping at `stopPoints` (call sites the caller steps over) and when the PC comes back to where
 *   the step began (a one-line loop);
 * - stepOutSp: keep stepping while RSP ≤ this value, i.e. until the current function has returned.
 * - watches: guest-physical ranges whose accesses (of the watch's kind) stop the guest.
 */
export interface DebugRun {
  breakpoints: bigint[];
  singleStep?: boolean;
  stepRanges?: [bigint, bigint][];
  stopPoints?: bigint[];
  stepOutSp?: bigint;
  watches?: Watch[];
}

export type WorkerRequest =
  /** `arm`: arm the vCPU exactly so and run once, without the debug engine (host probes). */
  | { type: 'run'; debug?: DebugRun; arm?: DebugArm }
  | { type: 'getState' }
  | { type: 'setState'; regs?: Regs; sregs?: SRegs }
  | { type: 'translate'; linear: bigint }
  | { type: 'exit' };

export type StopReason =
  | 'halted'
  /** The guest ended the machine through isa-debug-exit (guestExitCode). */
  | 'exited'
  | 'shutdown'
  | 'internal-error'
  | 'entry-failure'
  | 'debug'
  | 'breakpoint'
  | 'step'
  | 'data-breakpoint'
  | 'paused'
  | 'timeout'
  | 'terminated'
  | 'unhandled-exit'
  | 'run-error';

export interface ExitStats {
  /** Exit count per reason name (IO, HLT, MMIO…). */
  exits: Record<string, number>;
  /** I/O exits per port: reads and writes. */
  ports: Record<number, { in: number; out: number }>;
  /** MMIO exits per address: reads and writes. */
  mmio: Record<number, { read: number; write: number }>;
  total: number;
}

export interface StopInfo {
  reason: StopReason;
  accelerator: AcceleratorName;
  regs: Regs;
  sregs: SRegs;
  stats: ExitStats;
  devices: DevicesSnapshot;
  /** shutdown: how the fault went (software CPU: the chain of exceptions); internal-error: the accelerator's words. */
  detail?: string;
  /** internal-error (KVM) */
  suberror?: number;
  internalData?: bigint[];
  /** shutdown / internal-error: the bytes at CS:RIP. */
  instructionBytes?: number[];
  /** entry-failure (KVM_EXIT_FAIL_ENTRY) */
  hardwareReason?: bigint;
  /** debug: a debug exit nobody armed. */
  debug?: { exception: number; pc: bigint };
  /** run-error: the errno name of a failed run */
  errno?: string;
  /** breakpoint / step / data-breakpoint: the linear PC where it stopped. */
  pc?: bigint;
  /** data-breakpoint: the guest-physical access that hit a watch, and the accessing instruction's linear address when known. */
  access?: MemoryAccess & { at?: bigint };
  /** exited: the value the guest wrote to isa-debug-exit. */
  guestExitCode?: number;
  /** unhandled-exit: the accelerator's exit. */
  unhandled?: { reason: number; name: string };
}

export type WorkerResponse =
  | { type: 'booted' }
  | { type: 'ready'; kick: KickHandle; describe: Record<string, string> }
  | { type: 'stopped'; stop: StopInfo }
  | { type: 'state'; regs: Regs; sregs: SRegs }
  | { type: 'translated'; physical: bigint | null }
  | { type: 'ok' }
  | { type: 'unmapped'; access: UnmappedAccess; rip: bigint; csBase: bigint }
  /** A device met something a guest should not do (once per kind): the run goes on. */
  | { type: 'device-event'; message: string }
  | { type: 'error'; message: string };
