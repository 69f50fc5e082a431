// The software CPU's vCPU: one Unicorn 2 engine over the monitor's guest RAM, run on the worker
// thread. Port I/O and MMIO are hook callbacks served inside run(); everything run() returns is an
// exit the monitor judges, with the same meaning as on KVM (RIP = offset in CS, linear PC = CS.base
// + RIP, HLT leaves RIP after the HLT, breakpoints stop before the instruction…).
//
// Measured facts this relies on (test/tcg/tcg-vcpu.test.ts pins each of them):
// - With the segment caches set through unicorn-state.ts, RIP reads as the offset in CS after every
//   kind of stop (HLT, code hook + uc_emu_stop, instruction count, uc_emu_stop from another thread,
//   exception hook) in every mode, including guests that switch modes at run time.
// - UC_HOOK_CODE and UC_HOOK_MEM_* report linear addresses (CS.base/DS.base included). With the
//   monitor's identity maps and in real mode linear = guest-physical.
// - UC_HOOK_INTR runs with RIP at the faulting instruction for faults and at the INT instruction for
//   INT n / INT3 / INTO; Unicorn then resumes at a RIP of its own: we stop in the hook and deliver
//   the event ourselves (exception-delivery.ts). #UD ends uc_emu_start with UC_ERR_INSN_INVALID
//   (no hook), RIP at the invalid instruction.
// - uc_emu_stop takes effect at the next instruction that has a code hook, or else at the next
//   translated block: a watch therefore runs with an instruction count (Unicorn's own per-instruction
//   C hook) so that the accessing instruction completes and nothing after it runs.
import koffi from 'koffi';
import type { DebugArm, KickHandle, MemoryAccess, Vcpu, VcpuEnvironment, VcpuExit, Watch } from '../accelerator';
import type { UnmappedAccess } from '../devices/bus';
import { NO_DEBUG } from '../accelerator';
import type { CpuState, Regs, SRegs } from '../cpu-state';
import { pagingEnabled, resetSRegs, zeroRegs } from '../cpu-state';
import { walk } from '../page-walk';
import type { ExceptionEvent } from './exception-delivery';

/* eslint-disable @typescript-eslint/no-require-imports */
// Exceptions and page-fault location decode instructions (iced-x86): loaded on the first exception,
// so a guest that never faults does not pay for them.
const delivery = (): typeof import('./exception-delivery') => require('./exception-delivery');
const locator = (): typeof import('./access-locator') => require('./access-locator');
const ioLocator = (): typeof import('../io-access-locator') => require('../io-access-locator');
/* eslint-enable @typescript-eslint/no-require-imports */
import {
  check, CodeCallback, EventMemCallback, InCallback, IntrCallback, MemCallback, MmioReadCallback, MmioWriteCallback,
  OutCallback, UC_ARCH_X86, UC_ERR, UC_HOOK, UC_MEM, UC_MODE_64, UC_PROT_ALL, UC_X86_INS_IN, UC_X86_INS_OUT, UcEngine,
  unicorn, UnicornLib, X86,
} from './unicorn-lib';
import { UnicornState } from './unicorn-state';
import { littleEndian, WholeMmioAccess } from './whole-mmio';

/** What the worker needs from the main thread for a software vCPU: nothing beyond VcpuEnvironment yet. */
export interface TcgVcpuInit {
  /** Reserved for engine options (CPU model…); structured-clonable. */
  readonly options?: Record<string, never>;
}

/** An `until` address no instruction can have: uc_emu_start stops only for our reasons. */
const NEVER = 0xffffffffffffffffn;
const PAGE = 0x1000;
/** The end of the guest-physical space mapped as MMIO (MAXPHYADDR 40 of the emulated CPU). */
const MMIO_END = 2 ** 40;
const HLT = 0xf4;
const RFLAGS_IF = 1n << 9n;
/**
 * While something can raise an interrupt (a device, an enabled local APIC), the guest runs in
 * pieces of this many instructions, and a pending interrupt is taken at the end of the piece (or at
 * the next HLT, exception or IF window, whichever comes first). Unicorn's instruction count stops
 * from inside a code hook, with a consistent state. A uc_emu_stop called from an MMIO callback (or
 * landing from another thread while one runs) does not: 2.0.1 ends the run with RIP at the start of
 * the translated block whose first instructions already ran (measured: a guest's QueueNotify
 * written 5 times for 3 in its program), so a device's interrupt cannot end the run at once. (The
 * stop itself lands right after the store, nothing after it having run: with RIP set there, an
 * interrupt that a plain MOV store makes pending does end the run at once — see mmioWrite.)
 */
const LIVE_CHUNK_INSTRUCTIONS = 50_000;

type Stop =
  | { kind: 'breakpoint'; pc: bigint }
  | { kind: 'step'; pc: bigint }
  | { kind: 'watch'; at: bigint; access: MemoryAccess; pc: bigint }
  | { kind: 'exception'; vector: number; rip: bigint }
  | { kind: 'fetch-unmapped'; address: bigint }
  /** Unicorn 2.0.1 reports an access through a not-present page as unmapped memory, not #PF. */
  | { kind: 'page-fault'; linear: bigint; write: boolean; fetch: boolean }
  | { kind: 'error'; message: string }
  /** isa-debug-exit: the registers right after the OUT (see guestExitStop). */
  | { kind: 'guest-exit'; code: number; regs: Regs }
  /** An MMIO write changed which interrupt is pending: stop before the next instruction, at `rip` (see mmioWrite). */
  | { kind: 'interrupt'; rip: bigint };

const toBig = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));
const hex = (v: number | bigint): string => '0x' + v.toString(16);

export class TcgVcpu implements Vcpu {
  private readonly lib: UnicornLib;
  private readonly uc: UcEngine;
  private readonly state: UnicornState;
  private readonly memorySize: number;
  /** Registered koffi callbacks, kept for the engine's lifetime (freed in close()). */
  private readonly callbacks: unknown[] = [];
  private readonly bpCallback: unknown;
  /** Called before every instruction while single-stepping or watching (see traceInstruction). */
  private readonly traceCallback: unknown;
  private readonly readWatchCallback: unknown;
  private readonly writeWatchCallback: unknown;
  private readonly mmioRead: unknown;
  private readonly mmioWrite: unknown;
  private debugHooks: bigint[] = [];
  /** What the hooks in debugHooks were armed for (debugKey), or undefined before the first arm. */
  private armedKey: string | undefined = debugKey(NO_DEBUG);
  /** What the translated blocks may be instrumented for. */
  private armed: { trace: boolean; watchKey: string; breakpoints: Set<bigint> } = { trace: false, watchKey: '', breakpoints: new Set() };
  private arm: DebugArm = NO_DEBUG;
  private watches: Watch[] = [];
  /** Watch hooks get linear addresses: with paging on at arm time they are translated per access. */
  private watchSRegs: SRegs | undefined;
  private stop: Stop | undefined;
  /** Linear PC whose breakpoint is ignored once: the one the run resumes from. */
  private skipBreakpointAt = -1n;
  /** Linear PC of the last code hook call in this uc_emu_start (see fixRipAfterHook). */
  private lastHookPc: bigint | undefined;
  /** Single-step: the first instruction has started. */
  private stepStarted = false;
  /** A watched access happened in the instruction now executing; stop before the next one. */
  private pendingWatch: { at: bigint; access: MemoryAccess } | undefined;
  private readonly mmioPages = new Set<number>();
  private readonly mmioBuffers = [1, 2, 4, 8].map((n) => new Uint8Array(n));
  /** The MMIO access Unicorn is handing to the region in pieces (see whole-mmio.ts). */
  private readonly wholeMmio = new WholeMmioAccess();
  private closed = false;
  /** Inside uc_emu_start. */
  private emulating = false;
  /** The current uc_emu_start runs in counted pieces (see LIVE_CHUNK_INSTRUCTIONS). */
  private counted = false;
  /** The hook that watches for RFLAGS.IF = 1 while an interrupt waits for it (see watchForIf). */
  private ifHook: bigint | undefined;
  private readonly ifCallback: unknown;
  /** IF was seen set before one instruction: the interrupt is taken before the next (STI's shadow). */
  private ifSeenAt: bigint | undefined;
  /** The guest is in the HLT state (RFLAGS.IF = 1) and waits for an interrupt; a stop left it there. */
  private inHalt = false;
  /**
   * CR2 as the architecture defines it: set by the monitor or by a #PF we deliver. Unicorn 2.0.1's
   * own CR2 is not trustworthy after a run (seen: 0xfffffffffffffffe after a long-mode #PF that the
   * guest had read correctly). A guest's own MOV to CR2 is not seen here.
   */
  private cr2 = 0n;
  /**
   * Unicorn 2.0.x walks the guest's page tables for faults (#PF, CR2) but then uses physical =
   * linear (unicorn-engine/unicorn#1953, fixed in 2.1 with UC_CTL_TLB_MODE): what the guest really
   * accesses is the identity address, so translate() and watches follow that.
   */
  private readonly identityPaging: boolean;

  constructor(_init: TcgVcpuInit, private readonly env: VcpuEnvironment) {
    this.lib = unicorn();
    const lib = this.lib;
    this.identityPaging = lib.version.major === 2 && lib.version.minor === 0;
    const out: unknown[] = [null];
    // UC_MODE_64: all registers readable, and the guest may switch real → protected → long itself.
    check(lib.uc_open(UC_ARCH_X86, UC_MODE_64, out), 'uc_open(UC_ARCH_X86, UC_MODE_64)');
    this.uc = out[0];
    this.memorySize = env.memory.length;
    try {
      check(lib.uc_mem_map_ptr(this.uc, 0, this.memorySize, UC_PROT_ALL, env.memoryAddress), 'uc_mem_map_ptr(guest RAM)');
      this.state = new UnicornState(lib, this.uc);
      // Start from the processor's RESET state (SDM vol. 3, table 9-1), as KVM's vCPUs do: the
      // monitor derives each mode's initial state from it (real mode keeps CR0 = 0x60000010).
      this.state.write({ ...zeroRegs(), rflags: 2n, rip: 0xfff0n, rdx: 0x600n }, resetSRegs());
    } catch (e) {
      lib.uc_close(this.uc);
      throw e;
    }
    const { ports, mmio, counters } = env;
    const uc = this.uc;
    const register = (fn: (...args: never[]) => unknown, proto: unknown): unknown => {
      const cb = koffi.register(fn as never, koffi.pointer(proto as never));
      this.callbacks.push(cb);
      return cb;
    };
    /** A device that throws must not unwind through the emulator: stop and report it. */
    const fail = (e: unknown): void => {
      this.stop ??= { kind: 'error', message: `device error: ${e instanceof Error ? e.message : String(e)}` };
      lib.uc_emu_stop(uc);
    };

    // Port I/O: the hot path. No allocation, no register access.
    const outCb = register((_uc: number, port: number, size: number, value: number): void => {
      if (this.stop?.kind === 'guest-exit') return; // the machine has ended: the block's tail does nothing
      counters.portAccess(port, true);
      try {
        ports.write(port, size, value);
        if (env.guestExit.code !== undefined) this.guestExitStop(port, size);
      } catch (e) {
        fail(e);
      }
    }, OutCallback);
    const inCb = register((_uc: number, port: number, size: number): number => {
      if (this.stop?.kind === 'guest-exit') return 0xffffffff;
      counters.portAccess(port, false);
      try {
        return ports.read(port, size) >>> 0;
      } catch (e) {
        fail(e);
        return 0xffffffff;
      }
    }, InCallback);

    // MMIO: everything above RAM is one region whose callbacks go to the bus. The callbacks get the
    // offset in the region; user data is its base. Unicorn cuts 8-byte and unaligned accesses into
    // pieces: a memory hook on the region announces each whole access (whole-mmio.ts).
    const sized = (size: number): Uint8Array => this.mmioBuffers[size === 8 ? 3 : size === 4 ? 2 : size === 2 ? 1 : 0];
    const busRead = (address: number, buf: Uint8Array): void => {
      counters.mmioAccess(address, false);
      try {
        mmio.read(address, buf);
      } catch (e) {
        fail(e);
        buf.fill(0xff);
      }
    };
    const whole = this.wholeMmio;
    this.mmioRead = register((_uc: number, offset: number | bigint, size: number, base: number): number | bigint => {
      const address = base + Number(offset);
      const piece = whole.claim(address, size, false);
      if (piece === 'own') {
        const buf = sized(size);
        busRead(address, buf);
        return littleEndian(buf, 0, size);
      }
      if (piece === 'first') busRead(whole.busAddress, whole.busBytes);
      return whole.value(address, size);
    }, MmioReadCallback);
    this.mmioWrite = register((_uc: number, offset: number | bigint, pieceSize: number, value: number | bigint, base: number): void => {
      if (this.stop?.kind === 'guest-exit') return;
      const piece = whole.claim(base + Number(offset), pieceSize, true);
      if (piece === 'rest') return; // written whole with the first piece
      const address = piece === 'first' ? whole.busAddress : base + Number(offset);
      let buf = whole.busBytes;
      if (piece === 'own') {
        buf = sized(pieceSize);
        let v = toBig(value);
        for (let i = 0; i < buf.length; i++, v >>= 8n) buf[i] = Number(v & 0xffn);
      }
      const size = buf.length;
      counters.mmioAccess(address, true);
      const before = env.interrupts.pending();
      try {
        mmio.write(address, buf);
      } catch (e) {
        fail(e);
      }
      // A write that makes an interrupt pending (a self-IPI, EOI, TPR, an unmasked I/O APIC input) is
      // taken before the next instruction, as the processor and QEMU take it (kvm-unit-tests' eventinj
      // sends a self-IPI and clears IF at once). Measured (Unicorn 2.0.1, uc_mmio_map regions, chunked
      // and unchunked runs, chained blocks): uc_emu_stop here stops right after this store, nothing
      // after it runs, every register is as after it except RIP, which still names the store
      // (resuming there sent the IPI again). So RIP is set to the next instruction after the stop —
      // only for a plain MOV store, whose store is its last effect (an XCHG, PUSH or MOVS would still
      // owe a register update), and with CS.base 0 (RIP = linear). Only while IF = 1, when the
      // interrupt can be taken at once; with IF = 0 it waits for the IF window as before. The same
      // stop ends a run that is not counted when the write makes something live (a timer armed, an
      // input unmasked): the next run is counted, so that the timer is served while the guest spins.
      const deliverNow = env.interrupts.pending() !== before && (this.state.readReg(X86.RFLAGS) & RFLAGS_IF) !== 0n;
      const becameLive = !this.counted && env.interrupts.live();
      if (!this.stop && (deliverNow || becameLive) && this.state.ripAndCsBase().csBase === 0n) {
        const next = this.nextRipAfter({ space: 'mmio', address, write: true, size });
        if (next.plainStore) {
          this.stop = { kind: 'interrupt', rip: next.rip };
          lib.uc_emu_stop(uc);
        }
      }
    }, MmioWriteCallback);
    const unmappedCb = register((_uc: number, type: number, address: number | bigint, size: number): boolean => {
      const linear = toBig(address);
      const physical = this.toPhysical(linear);
      if (physical === null) {
        this.stop ??= { kind: 'page-fault', linear, write: type === UC_MEM.WRITE_UNMAPPED, fetch: type === UC_MEM.FETCH_UNMAPPED };
        return false;
      }
      if (type === UC_MEM.FETCH_UNMAPPED) {
        this.stop ??= { kind: 'fetch-unmapped', address: physical };
        return false;
      }
      // An access may straddle two pages: map both.
      const first = Number(physical) & ~(PAGE - 1);
      const last = (Number(physical) + Math.max(size, 1) - 1) & ~(PAGE - 1);
      for (let p = first; p <= last; p += PAGE) if (!this.mapMmioPage(p)) return false;
      return true;
    }, EventMemCallback);

    const fetchMmioCb = register((_uc: number, _type: number, address: number | bigint): boolean => {
      this.stop ??= { kind: 'fetch-unmapped', address: toBig(address) };
      return false;
    }, EventMemCallback);

    // Exceptions and INT n: remember the vector and where, stop; run() delivers it.
    const intrCb = register((_uc: number, intno: number): void => {
      if (!this.stop) this.stop = { kind: 'exception', vector: intno, rip: this.state.rip() };
      lib.uc_emu_stop(uc);
    }, IntrCallback);

    this.bpCallback = register((_uc: number, address: number | bigint): void => {
      const pc = toBig(address);
      // Unicorn 2.0.1 still calls a deleted hook during the next run (it drops deleted hooks when a
      // run ends): only breakpoints armed now count.
      if (!this.armed.breakpoints.has(pc)) return;
      this.lastHookPc = pc;
      if (pc === this.skipBreakpointAt) {
        this.skipBreakpointAt = -1n;
        return;
      }
      if (this.stop || this.arm.singleStep) return; // a step is reported as a step
      this.stop = { kind: 'breakpoint', pc };
      lib.uc_emu_stop(uc);
    }, CodeCallback);
    const watchCb = (write: boolean) => (_uc: number, _type: number, address: number | bigint, size: number, value: number | bigint): void => {
      if (this.stop) return;
      this.checkWatch(toBig(address), size, write, value);
    };
    this.ifCallback = register((_uc: number, address: number | bigint): void => {
      if (this.ifHook === undefined || this.stop) return; // a deleted hook, still called by old blocks
      if (!(this.state.readReg(X86.RFLAGS) & RFLAGS_IF)) {
        this.ifSeenAt = undefined; // IF went back to 0 (STI; CLI): a later STI has its own shadow
        return;
      }
      const pc = toBig(address);
      if (this.ifSeenAt === undefined) this.ifSeenAt = pc;
      else if (pc !== this.ifSeenAt) {
        this.lastHookPc = pc;
        lib.uc_emu_stop(uc); // before this instruction: run() delivers the interrupt here
      }
    }, CodeCallback);
    this.traceCallback = register((_uc: number, address: number | bigint): void => this.traceInstruction(toBig(address)), CodeCallback);
    this.readWatchCallback = register(watchCb(false), MemCallback);
    this.writeWatchCallback = register(watchCb(true), MemCallback);

    const hooks: [number, unknown, number?][] = [
      [UC_HOOK.INSN, outCb, UC_X86_INS_OUT],
      [UC_HOOK.INSN, inCb, UC_X86_INS_IN],
      [UC_HOOK.MEM_READ_UNMAPPED | UC_HOOK.MEM_WRITE_UNMAPPED | UC_HOOK.MEM_FETCH_UNMAPPED, unmappedCb],
      [UC_HOOK.INTR, intrCb],
    ];
    for (const [type, cb, insn] of hooks) check(lib.uc_hook_add(uc, [0n], type, cb, 0, 1n, 0n, insn), 'uc_hook_add');
    // Everything above RAM is MMIO, mapped once: a region mapped from inside an unmapped-memory hook
    // is not used for the access that triggered it (measured, 2.0.1), and the run would end with RIP
    // at the start of the block. The callbacks get offsets in the region; user data is its base.
    check(lib.uc_mmio_map(uc, this.memorySize, MMIO_END - this.memorySize, this.mmioRead, this.memorySize, this.mmioWrite, this.memorySize), 'uc_mmio_map(above RAM)');
    const announce = register((_uc: number, type: number, address: number | bigint, size: number, value: number | bigint): void =>
      whole.begin(Number(address), size, type === UC_MEM.WRITE, value), MemCallback);
    check(lib.uc_hook_add(uc, [0n], UC_HOOK.MEM_READ | UC_HOOK.MEM_WRITE, announce, 0, BigInt(this.memorySize), BigInt(MMIO_END - 1)), 'uc_hook_add(MMIO accesses)');
    // Executing MMIO is impossible: Unicorn refuses the fetch (FETCH_PROT); report where.
    check(lib.uc_hook_add(uc, [0n], UC_HOOK.MEM_FETCH_PROT, fetchMmioCb, 0, 1n, 0n), 'uc_hook_add(fetch)');
  }

  // --- state -------------------------------------------------------------------------------------

  getState(): CpuState {
    const s = this.state.read();
    s.sregs.cr2 = this.cr2;
    return s;
  }

  setState(regs?: Regs, sregs?: SRegs): void {
    if (sregs) this.cr2 = sregs.cr2;
    if (regs) this.inHalt = false; // the debugger moved the CPU on
    this.state.write(regs, sregs);
  }

  pc(): bigint {
    const { rip, csBase } = this.state.ripAndCsBase();
    return csBase + rip;
  }

  sp(): bigint {
    return this.state.rsp();
  }

  translate(linear: bigint): bigint | null {
    return this.translateWith(this.state.read().sregs, linear);
  }

  private translateWith(sregs: SRegs, linear: bigint): bigint | null {
    const r = walk(this.env.memory, sregs, linear);
    if (!('physical' in r)) return null;
    return this.identityPaging && pagingEnabled(sregs) ? linear : r.physical;
  }

  /** Linear → physical for an access seen in a hook (identity when paging is off). */
  private toPhysical(linear: bigint): bigint | null {
    const sregs = this.state.read().sregs;
    return pagingEnabled(sregs) ? this.translateWith(sregs, linear) : linear;
  }

  instructionBytes(): number[] {
    const s = this.state.read();
    return this.bytesAt(s.sregs, s.sregs.cs.base + s.regs.rip, 15);
  }

  /**
   * Inside a port or MMIO hook RIP still holds the start of the translated block (the linear PC if a
   * code hook ran there): while tracing, the trace hook's PC is the instruction; otherwise decode
   * forward from the block's start for the instruction that makes this access.
   */
  accessPc(access: UnmappedAccess): bigint {
    if (this.armed.trace && this.lastHookPc !== undefined) return this.lastHookPc;
    const s = this.state.read();
    const csBase = s.sregs.cs.base;
    const start = this.lastHookPc !== undefined && s.regs.rip === this.lastHookPc ? s.regs.rip - csBase : s.regs.rip;
    s.regs.rip = start;
    const rip = ioLocator().locateForward(s, {
      fetch: (linear, n) => this.bytesAt(s.sregs, linear, n),
      toPhysical: (linear) => (pagingEnabled(s.sregs) ? this.translateWith(s.sregs, linear) : linear),
    }, start, access);
    return csBase + (rip ?? start);
  }

  private bytesAt(sregs: SRegs, linear: bigint, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.translateWith(sregs, linear + BigInt(i));
      if (p === null || p >= BigInt(this.memorySize)) break;
      out.push(this.env.memory[Number(p)]);
    }
    return out;
  }

  /**
   * isa-debug-exit was written from inside this OUT hook. uc_emu_stop here takes effect only at the
   * next translated block (the block's remaining instructions still run, and RIP is then unreliable),
   * so the state the machine ends in is taken now — the registers with RIP just after the OUT — and
   * written back when uc_emu_start returns; ports and MMIO ignore the block's tail meanwhile.
   */
  private guestExitStop(port: number, size: number): void {
    const s = this.state.read();
    s.regs.rip = this.nextRipAfter({ space: 'port', address: port, write: true, size }).rip;
    this.stop = { kind: 'guest-exit', code: this.env.guestExit.code!, regs: s.regs };
    this.lib.uc_emu_stop(this.uc);
  }

  /** Inside a port or MMIO hook: the RIP after the instruction making `access`, and whether it is a plain store. */
  private nextRipAfter(access: UnmappedAccess): { rip: bigint; plainStore: boolean } {
    const s = this.state.read();
    const rip = this.accessPc(access) - s.sregs.cs.base;
    const ins = ioLocator().instructionAt(s, { fetch: (l, n) => this.bytesAt(s.sregs, l, n), toPhysical: (l) => l }, rip);
    return { rip: rip + BigInt(ins?.length ?? 1), plainStore: ins?.plainStore ?? false };
  }

  private mapMmioPage(page: number): boolean {
    if (this.mmioPages.has(page)) return true;
    if (page < this.memorySize) return false; // RAM, not MMIO: nothing to map
    const err = this.lib.uc_mmio_map(this.uc, page, PAGE, this.mmioRead, page, this.mmioWrite, page);
    if (err !== UC_ERR.OK) {
      this.stop ??= { kind: 'error', message: `uc_mmio_map(${hex(page)}) failed: ${this.lib.uc_strerror(err)}` };
      return false;
    }
    this.mmioPages.add(page);
    return true;
  }

  // --- debugging ---------------------------------------------------------------------------------

  setDebug(arm: DebugArm): void {
    // Re-arming costs a flush of every translated block: skip it when nothing changes (every plain
    // run and every step of a scan arms the same way).
    const key = debugKey(arm);
    if (key === this.armedKey) {
      this.arm = arm;
      this.watches = arm.watches;
      return;
    }
    const before = this.armed;
    for (const h of this.debugHooks) this.lib.uc_hook_del(this.uc, h);
    this.debugHooks = [];
    this.arm = arm;
    this.watches = arm.watches;
    const add = (type: number, cb: unknown, begin: bigint, end: bigint): void => {
      const out = [0n];
      check(this.lib.uc_hook_add(this.uc, out, type, cb, 0, begin, end), 'uc_hook_add(debug)');
      this.debugHooks.push(out[0]);
    };
    for (const bp of new Set(arm.breakpoints)) add(UC_HOOK.CODE, this.bpCallback, bp, bp);
    if (arm.singleStep || arm.watches.length > 0) add(UC_HOOK.CODE, this.traceCallback, 1n, 0n);
    const sregs = this.state.read().sregs;
    this.watchSRegs = pagingEnabled(sregs) && !this.identityPaging ? sregs : undefined;
    for (const w of arm.watches) {
      // Paging off: linear = physical, so the hook can be limited to the range. Paging on: any
      // linear address may map there, so every access is translated and compared.
      // A hook range holds the accesses that START in it: begin 7 bytes early, so an 8-byte access
      // that starts before the watch and runs into it is seen too (checkWatch tests the overlap).
      const [begin, end] = this.watchSRegs ? [1n, 0n] : [BigInt(Math.max(0, w.start - 7)), BigInt(w.end - 1)];
      if (w.kind !== 'write') add(UC_HOOK.MEM_READ, this.readWatchCallback, begin, end);
      if (w.kind !== 'read') add(UC_HOOK.MEM_WRITE, this.writeWatchCallback, begin, end);
    }
    // Blocks translated before a hook existed do not call it: drop them. A whole flush costs tens of
    // milliseconds, so only when an every-instruction or memory hook is new; a breakpoint needs only
    // the blocks at its address dropped. Blocks that still call a deleted hook find nothing to call.
    const trace = arm.singleStep || arm.watches.length > 0;
    const watchKey = key.slice(key.lastIndexOf('|') + 1);
    if ((trace && !before.trace) || (arm.watches.length > 0 && watchKey !== before.watchKey)) {
      this.dropAllTranslations();
    } else {
      for (const bp of arm.breakpoints)
        if (!before.breakpoints.has(bp)) check(this.lib.removeTranslations(this.uc, bp, bp + 1n), 'uc_ctl(UC_CTL_TB_REMOVE_CACHE)');
    }
    this.armed = { trace, watchKey, breakpoints: new Set(arm.breakpoints) };
    this.armedKey = key;
  }

  /**
   * Drops every translated block. Unicorn's full flush costs 20 ms and more (300 ms and more the
   * first time: it clears its whole code buffer); dropping the blocks page by page over guest RAM —
   * the only place code can be — costs far less for the usual memory sizes. Code runs from RAM at
   * linear = physical here (identity paging on Unicorn 2.0.x), which is what the range means.
   */
  private dropAllTranslations(): void {
    if (this.memorySize <= PAGEWISE_DROP_LIMIT)
      check(this.lib.removeTranslations(this.uc, 0n, BigInt(this.memorySize)), 'uc_ctl(UC_CTL_TB_REMOVE_CACHE)');
    else check(this.lib.flushTranslations(this.uc), 'uc_ctl(UC_CTL_TB_FLUSH)');
  }

  private checkWatch(linear: bigint, size: number, write: boolean, value: number | bigint): void {
    const physical = this.watchSRegs ? this.translateWith(this.watchSRegs, linear) : linear;
    if (physical === null) return;
    const a = Number(physical);
    const hit = this.watches.some((w) => a < w.end && w.start < a + size && (w.kind === 'readWrite' || (w.kind === 'write') === write));
    if (!hit) return;
    const data: number[] = [];
    if (write) {
      let v = BigInt.asUintN(64, toBig(value));
      for (let i = 0; i < size; i++, v >>= 8n) data.push(Number(v & 0xffn));
    } else {
      for (let i = 0; i < size; i++) data.push(a + i < this.memorySize ? this.env.memory[a + i] : 0xff);
    }
    // Let the instruction complete: the trace hook of the next one stops the run.
    this.pendingWatch ??= { at: this.lastHookPc ?? -1n, access: { address: a, length: size, write, data } };
  }

  /**
   * Before every instruction while single-stepping or watching. Stopping here (uc_emu_stop in a code
   * hook) takes effect before the instruction runs, which is what a step and a watch need.
   */
  private traceInstruction(pc: bigint): void {
    if (!this.armed.trace) return; // a deleted trace hook, still called during this run
    this.lastHookPc = pc;
    if (this.stop) return;
    if (this.pendingWatch) {
      this.stop = { kind: 'watch', ...this.pendingWatch, pc };
      this.pendingWatch = undefined;
      this.lib.uc_emu_stop(this.uc);
    } else if (this.arm.singleStep) {
      if (this.stepStarted) {
        this.stop = { kind: 'step', pc };
        this.lib.uc_emu_stop(this.uc);
      } else this.stepStarted = true;
    }
  }

  /**
   * Measured (Unicorn 2.0.1): a code hook stores the *linear* PC (CS.base + IP) in EIP before it
   * runs, so a run that ends after a code hook reads RIP = linear. Where we know the linear PC of
   * the stop (breakpoint, step, watch) RIP becomes linear − CS.base; a stop from another thread that
   * landed right after a hook shows RIP equal to that hook's linear PC and gets the same fix. Stops
   * at block boundaries, HLT and exception hooks leave RIP right.
   */
  private fixRipAfterHook(stopPc: bigint | undefined): void {
    const { rip, csBase } = this.state.ripAndCsBase();
    if (csBase === 0n) return;
    if (stopPc !== undefined) this.state.writeReg(X86.RIP, stopPc - csBase);
    else if (this.lastHookPc !== undefined && rip === this.lastHookPc) this.state.writeReg(X86.RIP, rip - csBase);
  }

  // --- running -----------------------------------------------------------------------------------

  run(): VcpuExit {
    const exit = this.runOnce();
    return this.nonIdentityPaging() ?? exit;
  }

  /**
   * Unicorn 2.0.x checks the guest's page tables (and raises #PF) but then accesses memory at
   * physical = linear (unicorn-engine/unicorn#1953, fixed in 2.1). A guest whose code runs at a
   * linear address mapped elsewhere has been executing the wrong bytes: say so instead of showing
   * a state that never existed.
   */
  private nonIdentityPaging(): VcpuExit | undefined {
    if (!this.identityPaging) return undefined;
    const s = this.state.read();
    if (!pagingEnabled(s.sregs)) return undefined;
    const pc = s.sregs.cs.base + s.regs.rip;
    const r = walk(this.env.memory, s.sregs, pc);
    if ('fault' in r || r.physical === pc) return undefined;
    return {
      kind: 'internal-error',
      message:
        `the guest's page tables map linear ${hex(pc)} to physical ${hex(r.physical)}, and Unicorn ${this.lib.version.text} ` +
        `supports only identity-mapped paging (it accesses physical = linear; fixed in Unicorn 2.1). ` +
        `Run this guest on KVM (--accel kvm) or with Unicorn 2.1 or later`,
    };
  }

  private runOnce(): VcpuExit {
    const ctl = this.env.ctl;
    if (Atomics.load(ctl, 0) !== 0) return { kind: 'kicked' };
    let resuming = true;
    for (;;) {
      const stepping = this.arm.singleStep;
      const irq = this.takeInterrupt(stepping);
      if (irq === 'taken') resuming = false; // the handler's first instruction may have a breakpoint
      else if (irq) return irq;
      const { rip, csBase } = this.state.ripAndCsBase();
      const startPc = csBase + rip;
      this.skipBreakpointAt = resuming ? startPc : -1n;
      resuming = false;
      this.stop = undefined;
      this.lastHookPc = undefined;
      this.stepStarted = false;
      this.pendingWatch = undefined;
      this.wholeMmio.reset();
      const count = this.interruptWindow();
      let err: number;
      try {
        this.emulating = true;
        this.counted = count > 0;
        err = this.lib.uc_emu_start(this.uc, rip, NEVER, 0, count);
      } catch (e) {
        return { kind: 'internal-error', message: `uc_emu_start: ${e instanceof Error ? e.message : String(e)}` };
      } finally {
        this.emulating = false;
      }
      const stop = this.stop as Stop | undefined;
      this.stop = undefined;
      if (!stop || stop.kind !== 'exception') this.fixRipAfterHook(stop && 'pc' in stop ? stop.pc : undefined);

      let event: { ev: ExceptionEvent; rip: bigint } | undefined;
      if (stop) {
        switch (stop.kind) {
          case 'breakpoint':
            return { kind: 'breakpoint', pc: stop.pc };
          case 'step':
            return { kind: 'step', pc: stop.pc };
          case 'watch':
            return { kind: 'watch', pc: stop.pc, at: stop.at, access: stop.access };
          case 'guest-exit':
            this.state.write(stop.regs);
            return { kind: 'guest-exit', code: stop.code };
          case 'interrupt': {
            this.state.writeReg(X86.RIP, stop.rip);
            if (!stepping) continue; // the loop's top takes it
            const taken = this.takeInterrupt(true);
            return taken && taken !== 'taken' ? taken : { kind: 'step', pc: this.pc() };
          }
          case 'fetch-unmapped':
            return { kind: 'internal-error', message: `instruction fetch from unmapped guest-physical address ${hex(stop.address)}` };
          case 'error':
            return { kind: 'internal-error', message: stop.message, instructionBytes: this.instructionBytes() };
          case 'exception':
            event = this.eventFor(stop.vector, stop.rip);
            break;
          case 'page-fault': {
            const pf = this.pageFaultFor(stop);
            if ('message' in pf) return { kind: 'internal-error', message: pf.message, instructionBytes: this.instructionBytes() };
            event = pf;
            break;
          }
        }
      } else if (err === UC_ERR.INSN_INVALID) {
        event = { ev: { vector: 6, kind: 'fault' }, rip: this.state.rip() }; // RIP is at the invalid instruction
      } else if (err !== UC_ERR.OK) {
        return { kind: 'internal-error', message: `Unicorn: ${this.lib.uc_strerror(err)} (UC_ERR ${err})`, instructionBytes: this.instructionBytes() };
      }

      if (event) {
        const exit = this.deliver(event.ev, event.rip);
        if (exit) return exit;
        if (stepping) return { kind: 'step', pc: this.pc() };
        if (Atomics.load(ctl, 0) !== 0) return { kind: 'kicked' };
        continue;
      }

      // Stopped without a hook's reason: HLT, the instruction count, a kick, or an interrupt.
      const s = this.state.read();
      const pc = s.sregs.cs.base + s.regs.rip;
      if (stepping) {
        if (pc !== startPc && this.bytesAt(s.sregs, startPc, 1)[0] === HLT && pc === startPc + 1n) {
          const halt = this.halt(s.regs.rflags);
          if (halt) return halt;
          return this.takeInterrupt(true) as VcpuExit; // woken: the step ends in the handler
        }
        if (pc === startPc && Atomics.load(ctl, 0) !== 0) return { kind: 'kicked' };
        return { kind: 'step', pc };
      }
      if (this.bytesAt(s.sregs, pc - 1n, 1)[0] === HLT) {
        const halt = this.halt(s.regs.rflags);
        if (halt) return halt;
        continue;
      }
      if (Atomics.load(ctl, 0) !== 0) return { kind: 'kicked' };
      // A counted piece, an interrupt window or a timer ended the run: devices look at outside
      // input (typed bytes for a guest that spins on its rings), then the loop's top takes what is
      // pending and goes on.
      if (this.counted) this.env.interrupts.poll?.();
    }
  }

  /**
   * Delivers the pending external interrupt if RFLAGS.IF allows, and resumes a HLT the guest is
   * still in. Returns 'taken' when an interrupt was delivered (the run goes on), an exit when the
   * run must end (a stop request in HLT, a triple fault, a step that ends in the handler), or
   * undefined when nothing was delivered.
   */
  private takeInterrupt(stepping: boolean): VcpuExit | 'taken' | undefined {
    const irq = this.env.interrupts;
    if (this.inHalt) {
      const w = irq.idle(this.env.ctl);
      if (w === 'kicked') return { kind: 'kicked' };
      this.inHalt = false;
      if (w === 'never') return { kind: 'halt' };
    }
    if (irq.pending() === undefined || !(this.state.readReg(X86.RFLAGS) & RFLAGS_IF)) return undefined;
    const vector = irq.acknowledge();
    if (vector === undefined) return undefined;
    this.env.counters.add('INTERRUPT');
    const exit = this.deliver({ vector, kind: 'trap' }, this.state.rip());
    if (exit) return exit;
    return stepping ? { kind: 'step', pc: this.pc() } : 'taken';
  }

  /**
   * The instruction count of the next uc_emu_start (0 = no limit): counted pieces while something
   * can raise an interrupt (see LIVE_CHUNK_INSTRUCTIONS); and, while an interrupt waits for IF = 1,
   * the IF-window hook (Unicorn cannot tell us when STI, POPF or IRET sets IF).
   */
  private interruptWindow(): number {
    const irq = this.env.interrupts;
    const waiting = irq.pending() !== undefined && !(this.state.readReg(X86.RFLAGS) & RFLAGS_IF);
    this.watchForIf(waiting);
    return irq.live() ? LIVE_CHUNK_INSTRUCTIONS : 0;
  }

  /**
   * While an interrupt waits for IF = 1, a hook before every instruction looks at RFLAGS (Unicorn
   * cannot tell when STI, POPF or IRET sets it) and stops one instruction after IF is seen set, so
   * `sti; hlt` sleeps with the interrupt taken after the HLT, as STI's one-instruction shadow
   * requires. The hook exists only in such windows: blocks translated without it are dropped.
   */
  private watchForIf(on: boolean): void {
    this.ifSeenAt = undefined;
    if (on === (this.ifHook !== undefined)) return;
    if (on) {
      const out = [0n];
      check(this.lib.uc_hook_add(this.uc, out, UC_HOOK.CODE, this.ifCallback, 0, 1n, 0n), 'uc_hook_add(IF window)');
      this.ifHook = out[0];
      this.dropAllTranslations();
    } else {
      this.lib.uc_hook_del(this.uc, this.ifHook!);
      this.ifHook = undefined;
    }
  }

  /**
   * The guest executed HLT (RIP after it). With IF = 1 and something that can raise an interrupt,
   * the CPU sleeps until one comes (undefined: go on and take it); otherwise the run ends halted.
   */
  private halt(rflags: bigint): VcpuExit | undefined {
    this.env.counters.add('HLT');
    if (!(rflags & RFLAGS_IF)) return { kind: 'halt' };
    const w = this.env.interrupts.idle(this.env.ctl);
    if (w === 'pending') return undefined;
    if (w === 'kicked') {
      this.inHalt = true;
      return { kind: 'kicked' };
    }
    return { kind: 'halt' };
  }

  /**
   * The event for a vector the INTR hook saw with RIP `hookRip`, and the RIP ExceptionEvent wants
   * with it: after the instruction for INT n / INT3 / INTO / ICEBP (the hook sees RIP at it) and
   * for traps (the hook already sees RIP after it), at the instruction for faults and aborts.
   */
  private eventFor(vector: number, hookRip: bigint): { ev: ExceptionEvent; rip: bigint } {
    const s = this.state.read();
    s.regs.rip = hookRip;
    const bytes = this.bytesAt(s.sregs, s.sregs.cs.base + hookRip, 15);
    const soft = softwareInterruptLength(bytes, vector, (s.sregs.efer & (1n << 10n)) !== 0n && s.sregs.cs.l === 1);
    if (soft > 0) {
      const rip = hookRip + BigInt(soft);
      // ICEBP (F1) is reported like a debug trap; INT n, INT3 and INTO are software events.
      return vector === 1 ? { ev: { vector, kind: 'trap' }, rip } : { ev: { vector, kind: 'software', instructionLength: soft }, rip };
    }
    const { exceptionKind, pageFaultInfo, faultErrorCode } = delivery();
    const kind = exceptionKind(vector);
    const ev: ExceptionEvent = { vector, kind: kind === 'software' ? 'trap' : kind };
    if (kind === 'fault' || kind === 'abort') {
      if (vector === 14) {
        // Unicorn's CR2 at this hook is not reliable (seen: 0xfffffffffffffffe): find the faulting
        // access ourselves by decoding the instruction and walking the page tables.
        const pf = pageFaultInfo(s, this.env.memory, Uint8Array.from(bytes));
        s.sregs.cr2 = ev.cr2 = pf?.address ?? this.state.cr2();
        if (pf) ev.errorCode = pf.errorCode;
      }
      const code = ev.errorCode ?? faultErrorCode(vector, s, this.env.memory, Uint8Array.from(bytes));
      if (code !== undefined) ev.errorCode = code;
    }
    return { ev, rip: hookRip };
  }

  /**
   * The #PF for an access through a not-present page. Unicorn ended the run with RIP at the start of
   * the translated block (not restored to the faulting instruction), but with every other register
   * as it was before that instruction: we find it by decoding forward from there for the first
   * instruction whose memory operand, computed with those registers, touches the faulting address.
   */
  private pageFaultFor(f: { linear: bigint; write: boolean; fetch: boolean }): { ev: ExceptionEvent; rip: bigint } | { message: string } {
    const s = this.state.read();
    const user = (s.sregs.ss.dpl & 3) === 3 && (s.sregs.cr0 & 1n) !== 0n;
    const w = walk(this.env.memory, s.sregs, f.linear, { write: f.write, fetch: f.fetch, user });
    const errorCode = 'fault' in w ? w.errorCode : (f.write ? 2 : 0) | (f.fetch ? 0x10 : 0);
    const ev: ExceptionEvent = { vector: 14, kind: 'fault', errorCode, cr2: f.linear };
    if (f.fetch) return { ev, rip: f.linear - s.sregs.cs.base };
    const rip = locator().locateAccess(s, (lin, n) => this.bytesAt(s.sregs, lin, n), f.linear, f.write);
    if (rip === undefined) return { message: `page fault at linear ${hex(f.linear)}: the faulting instruction after ${hex(s.sregs.cs.base + s.regs.rip)} could not be found` };
    return { ev, rip };
  }

  /** Delivers `ev` with RIP `rip` through the guest's IVT/IDT; returns an exit only for a triple fault. */
  private deliver(ev: ExceptionEvent, rip: bigint): VcpuExit | undefined {
    const s = this.state.read();
    s.regs.rip = rip;
    const r = delivery().deliverEvent(s, ev, this.env.memory);
    if (r.kind === 'triple-fault') {
      // The state a triple fault leaves: the registers at the instruction that could not go on.
      this.state.write(s.regs);
      this.env.counters.add('SHUTDOWN');
      return { kind: 'shutdown', detail: r.message };
    }
    this.cr2 = r.state.sregs.cr2;
    this.state.write(r.state.regs, r.state.sregs, s.sregs);
    return undefined;
  }

  kickHandle(): KickHandle {
    return { kind: 'tcg', engine: BigInt(koffi.address(this.uc as never)) };
  }

  describe(): Record<string, string> {
    return {
      engine: `Unicorn ${this.lib.version.text} (QEMU TCG)`,
      'engine handle': hex(BigInt(koffi.address(this.uc as never))),
      memory: 'guest RAM mapped with uc_mem_map_ptr',
      'run area': 'none: the software CPU has no kvm_run; exits are hook callbacks',
      MMIO: `${hex(this.memorySize)}–${hex(MMIO_END - 1)} mapped with uc_mmio_map to the MMIO bus, accesses kept whole by a memory hook`,
      paging: this.identityPaging ? 'page tables checked (faults), accesses at physical = linear (Unicorn 2.0.x)' : 'page tables',
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.close();
    this.lib.uc_close(this.uc);
    for (const cb of this.callbacks) koffi.unregister(cb as never);
  }
}

/**
 * The length of INT n (CD ib with ib = vector), INT3 (CC, vector 3), INTO (CE, vector 4) or ICEBP
 * (F1, vector 1) at `bytes`, prefixes included; 0 when the bytes are not such an instruction.
 */
export function softwareInterruptLength(bytes: number[], vector: number, longMode: boolean): number {
  let i = 0;
  const prefixes = new Set([0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf0]);
  while (i < bytes.length && i < 14 && (prefixes.has(bytes[i]) || (longMode && bytes[i] >= 0x40 && bytes[i] <= 0x4f))) i++;
  const op = bytes[i];
  if (op === 0xcd && bytes[i + 1] === vector) return i + 2;
  if (op === 0xcc && vector === 3) return i + 1;
  if (op === 0xce && vector === 4) return i + 1;
  if (op === 0xf1 && vector === 1) return i + 1;
  return 0;
}

/** Up to this much guest RAM, blocks are dropped page by page rather than by a full flush. */
const PAGEWISE_DROP_LIMIT = 64 << 20;

/** A DebugArm as the set of hooks it needs: equal keys need no re-arming. */
function debugKey(arm: DebugArm): string {
  const w = arm.watches.map((x) => `${x.start}-${x.end}-${x.kind}`).sort().join(',');
  return `${[...new Set(arm.breakpoints)].sort().join(',')}|${arm.singleStep || arm.watches.length > 0}|${w}`;
}
