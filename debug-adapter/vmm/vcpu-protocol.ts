// Messages between the main thread and the vCPU worker, and the control block they share.
import type { CpuMode } from '../toolchain/modes';
import type { EntryPoint } from './cpu-modes';
import type { UnmappedAccess } from './devices/bus';
import type { Regs, SRegs } from './kvm-structs';

/** Devices whose output can be forwarded to the serial stream. */
export type OutputDevice = 'uart' | 'debugcon' | 'pseudo-serial';
export const OUTPUT_DEVICES: readonly OutputDevice[] = ['uart', 'debugcon', 'pseudo-serial'];

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
  vmFd: number;
  vcpuMmapSize: number;
  memAddress: bigint;
  memSize: number;
  mode: CpuMode;
  entry: EntryPoint;
  ctl: SharedArrayBuffer;
  output: SharedArrayBuffer;
  input: SharedArrayBuffer;
  outputDevices: OutputDevice[];
  /** KVM copies regs and sregs into kvm_run on every exit (KVM_CAP_SYNC_REGS): no ioctl to read them. */
  syncRegs: boolean;
}

/**
 * How a run is watched (the debug engine's primitives; everything else is a plain run):
 * - breakpoints: linear addresses to stop at, with DR0–DR3 (`hardware`, at most four) or by
 *   single-stepping and comparing (scanning);
 * - singleStep: stop after one instruction;
 * - stepRanges: keep stepping while the PC stays in one of these [start, end) ranges (line steps),
 *   stopping at `stopPoints` (call sites the caller steps over) and when the PC comes back to where
 *   the step began (a one-line loop);
 * - stepOutSp: keep stepping while RSP ≤ this value, i.e. until the current function has returned.
 * - watches: guest-physical [start, end) ranges whose writes stop the guest (read-only slots).
 */
export interface DebugRun {
  breakpoints: bigint[];
  hardware: boolean;
  singleStep?: boolean;
  stepRanges?: [bigint, bigint][];
  stopPoints?: bigint[];
  stepOutSp?: bigint;
  watches?: [number, number][];
}

export type WorkerRequest =
  | { type: 'run'; debug?: DebugRun }
  | { type: 'getState' }
  | { type: 'setState'; regs?: Regs; sregs?: SRegs }
  | { type: 'setGuestDebug'; control: number; debugreg: bigint[] }
  | { type: 'translate'; linear: bigint }
  | { type: 'exit' };

export type StopReason =
  | 'halted'
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
  exitReason: number;
  exitName: string;
  regs: Regs;
  sregs: SRegs;
  stats: ExitStats;
  /** KVM_EXIT_INTERNAL_ERROR */
  suberror?: number;
  internalData?: bigint[];
  instructionBytes?: number[];
  /** KVM_EXIT_FAIL_ENTRY */
  hardwareReason?: bigint;
  /** KVM_EXIT_DEBUG */
  debug?: { exception: number; pc: bigint; dr6: bigint; dr7: bigint };
  /** run-error: the errno name of a failed KVM_RUN */
  errno?: string;
  /** breakpoint / step: the linear PC where it stopped. */
  pc?: bigint;
  /** data-breakpoint: the guest-physical write that hit a watch. */
  write?: { address: number; length: number; data: number[] };
}

export type WorkerResponse =
  | { type: 'booted' }
  | { type: 'ready'; tid: number; runAddress: bigint }
  | { type: 'stopped'; stop: StopInfo }
  | { type: 'state'; regs: Regs; sregs: SRegs }
  | { type: 'translated'; physical: bigint | null }
  | { type: 'ok' }
  | { type: 'unmapped'; access: UnmappedAccess; rip: bigint; csBase: bigint }
  | { type: 'error'; message: string };
