// A ppc64 machine on the software CPU (Unicorn's POWER CPU): guest RAM at physical 0 with the image,
// the seed's initial state (PC at the System Reset vector 0x100, MSR 64-bit, + LE for little-endian
// guests), one output device, and runs that end for a reason the monitor can name: the program ran
// off its end, an interrupt the bare machine has no handler for (illegal instruction, trap, sc…), a
// breakpoint, a single step, a pause or a timeout. None of the x86 machine's devices or tables are
// here.
//
// It runs on the calling thread in slices of at most SLICE_US of guest time and yields to the event
// loop between slices, so a pause (DAP) or Ctrl-C (CLI) is seen within a slice: no worker thread is
// needed for a vCPU that never blocks in the kernel.
import koffi from 'koffi';
import { GuestMemory } from '../guest-memory';
import type { GuestImage } from '../../program/guest-image';
import type { MemoryAccess, Watch } from '../accelerator';
import { check, CodeCallback, EventMemCallback, IntrCallback, MemCallback, MmioReadCallback, MmioWriteCallback, UC_HOOK, UC_MEM, UC_PROT_ALL, unicorn } from '../tcg/unicorn-lib';
import type { UcEngine, UnicornLib } from '../tcg/unicorn-lib';
import {
  INTR_HV_EMULATION, INTR_PROGRAM, MSR_LE, MSR_SF, PPC, PPC_INTERRUPT, readMsr, setHypervisorState, UC_ARCH_PPC, UC_MODE_BIG_ENDIAN,
  UC_MODE_PPC64, writeMsr,
} from './unicorn-ppc';
import type { Ppc64Regs } from './ppc64-state';
import { zeroPpc64Regs } from './ppc64-state';
import { OUTPUT_PORT, OUTPUT_PORT_SIZE } from './ppc64-layout';

export type Endian = 'big' | 'little';

export interface Ppc64MachineOptions {
  image: GuestImage;
  memorySize: number;
  endian: Endian;
  /** First instruction: the seed's 0x100 (System Reset vector) unless the ELF says otherwise. */
  entry: bigint;
  /** The first address after the loaded program's last instruction: reaching it ends the run. */
  programEnd: bigint;
}

export type Ppc64StopReason =
  | 'end-of-program' | 'illegal-instruction' | 'interrupt' | 'unmapped' | 'breakpoint' | 'watch' | 'step' | 'paused' | 'timeout' | 'error';

export interface Ppc64Stop {
  reason: Ppc64StopReason;
  /** Where: the instruction not yet executed (end, breakpoint, step, pause) or the one that raised the interrupt. */
  pc: bigint;
  /** For people: what happened and where. */
  message: string;
  /** The interrupt's number and name as the CPU raised it. */
  interrupt?: { number: number; name: string };
  /** A watched access (reason 'watch'): `pc` is the next instruction, `at` the accessing one. */
  access?: MemoryAccess & { at: bigint };
}

/** The seed's MSR: 64-bit (SF), little-endian guests also LE. */
export function initialMsr(endian: Endian): bigint {
  return MSR_SF | (endian === 'little' ? MSR_LE : 0n);
}

/** Guest time per uc_emu_start before the event loop gets a turn (pause latency). */
const SLICE_US = 20_000;

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

export class Ppc64Machine {
  readonly memory: GuestMemory;
  readonly label: string;
  private readonly lib: UnicornLib;
  private readonly uc: UcEngine;
  private readonly callbacks: unknown[] = [];
  private readonly bpHooks = new Map<bigint, bigint>();
  private readonly intrCallback: unknown;
  private readonly bpCallback: unknown;
  private readonly memCallback: unknown;
  private readonly traceCallback: unknown;
  private watchHooks: bigint[] = [];
  /** The instruction now executing (set by the trace hook while watches are armed). */
  private currentPc = 0n;
  /** A watched access of the instruction now executing; the run stops before the next one. */
  private pendingWatch: (MemoryAccess & { at: bigint }) | undefined;
  private stop: Ppc64Stop | undefined;
  private skipBreakpointAt = -1n;
  private pauseRequested = false;
  private closed = false;
  private outputListeners: ((bytes: Uint8Array) => void)[] = [];
  private readonly buf = Buffer.alloc(8);
  /** Output port statistics: bytes written. */
  outputBytes = 0;

  constructor(readonly options: Ppc64MachineOptions) {
    if (options.memorySize > OUTPUT_PORT)
      throw new Error(`a ppc64 guest has at most ${OUTPUT_PORT >> 20} MiB of memory: its output port is at ${hex(OUTPUT_PORT)}`);
    this.lib = unicorn();
    const lib = this.lib;
    const out: unknown[] = [null];
    // Big-endian engine for both byte orders: see unicorn-ppc.ts (LE is MSR[LE]).
    check(lib.uc_open(UC_ARCH_PPC, UC_MODE_PPC64 | UC_MODE_BIG_ENDIAN, out), 'uc_open(UC_ARCH_PPC, UC_MODE_PPC64 | UC_MODE_BIG_ENDIAN)');
    this.uc = out[0];
    this.label = `software CPU (Unicorn ${lib.version.text}, POWER10 model, ppc64 ${options.endian}-endian)`;
    this.memory = new GuestMemory(options.memorySize);
    try {
      check(lib.uc_mem_map_ptr(this.uc, 0, options.memorySize, UC_PROT_ALL, this.memory.hostAddress), 'uc_mem_map_ptr(guest RAM)');
      for (const seg of options.image.segments) {
        this.memory.write(seg.address, seg.data);
        if (seg.memSize > seg.data.length) this.memory.fill(seg.address + seg.data.length, seg.memSize - seg.data.length, 0);
      }
      const register = (fn: (...args: never[]) => unknown, proto: unknown): unknown => {
        const cb = koffi.register(fn as never, koffi.pointer(proto as never));
        this.callbacks.push(cb);
        return cb;
      };
      // The output port: a byte written to OUTPUT_PORT goes to the listeners; reads return 0.
      const write = register((_uc: number, offset: number | bigint, _size: number, value: number | bigint): void => {
        if (Number(offset) !== 0) return;
        this.outputBytes++;
        const b = new Uint8Array([Number(BigInt(value) & 0xffn)]);
        for (const l of this.outputListeners) l(b);
      }, MmioWriteCallback);
      const read = register((): number => 0, MmioReadCallback);
      check(lib.uc_mmio_map(this.uc, OUTPUT_PORT, OUTPUT_PORT_SIZE, read, 0, write, 0), 'uc_mmio_map(output port)');
      this.intrCallback = register((_uc: number, intno: number): void => this.onInterrupt(intno), IntrCallback);
      this.bpCallback = register((_uc: number, address: number | bigint): void => {
        const pc = BigInt(address);
        // A hook deleted between runs can still be called in the next one (tcg/UNICORN-NOTES.md):
        // only what is armed now stops.
        if (!this.bpHooks.has(pc)) return;
        // The run resumes from this breakpoint: ignore it once (a loop brings the PC back to it).
        if (pc === this.skipBreakpointAt) {
          this.skipBreakpointAt = -1n;
          return;
        }
        this.stop ??= { reason: 'breakpoint', pc, message: `breakpoint at ${hex(pc)}` };
        this.lib.uc_emu_stop(this.uc);
      }, CodeCallback);
      // Watches: memory hooks note the access; a code hook on every instruction (armed only with
      // watches) stops before the next one, so the accessing instruction completes, as on x86.
      this.memCallback = register((_uc: number, type: number, address: number | bigint, size: number, value: number | bigint): void => {
        if (this.pendingWatch) return;
        const write = type === UC_MEM.WRITE;
        const data = write ? bytesOf(BigInt(value), size, this.options.endian) : Array.from(this.memory.read(Number(address), size));
        this.pendingWatch = { address: Number(address), length: size, write, data, at: this.currentPc };
      }, MemCallback);
      this.traceCallback = register((_uc: number, address: number | bigint): void => {
        const pc = BigInt(address);
        if (this.pendingWatch) {
          this.stop ??= { reason: 'watch', pc, access: this.pendingWatch, message: `watched ${this.pendingWatch.write ? 'write' : 'read'} at 0x${this.pendingWatch.address.toString(16)}` };
          this.pendingWatch = undefined;
          this.lib.uc_emu_stop(this.uc);
          return;
        }
        this.currentPc = pc;
      }, CodeCallback);
      const hook: bigint[] = [0n];
      check(lib.uc_hook_add(this.uc, hook, UC_HOOK.INTR, this.intrCallback, 0, 1n, 0n), 'uc_hook_add(INTR)');
      const unmapped = register(
        (_uc: number, type: number, address: number | bigint, size: number): boolean => this.onUnmapped(type, BigInt(address), size), EventMemCallback);
      check(lib.uc_hook_add(this.uc, hook, UC_HOOK.MEM_READ_UNMAPPED | UC_HOOK.MEM_WRITE_UNMAPPED | UC_HOOK.MEM_FETCH_UNMAPPED, unmapped, 0, 1n, 0n), 'uc_hook_add(MEM_UNMAPPED)');
      setHypervisorState(lib, this.uc, initialMsr(options.endian));
      this.writeReg(PPC.PC, options.entry);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  onOutput(listener: (bytes: Uint8Array) => void): void {
    this.outputListeners.push(listener);
  }

  private onInterrupt(intno: number): void {
    // Unicorn calls the hook with PC past the instruction that raised the interrupt (measured for
    // Program/trap, System Call and Hypervisor Emulation Assistance: test/ppc64).
    const at = this.readReg(PPC.PC) - 4n;
    const name = PPC_INTERRUPT[intno] ?? `interrupt ${intno}`;
    const word = this.instructionWord(at);
    const what = word === undefined ? '' : ` (instruction word 0x${word.toString(16).padStart(8, '0')}${word !== undefined && isTrap(word) ? ': a trap' : ''})`;
    const interrupt = { number: intno, name };
    if (intno === INTR_HV_EMULATION || (intno === INTR_PROGRAM && word !== undefined && !isTrap(word)))
      this.stop ??= { reason: 'illegal-instruction', pc: at, interrupt, message: `illegal instruction at ${hex(at)}${what}: ${name} interrupt, and this bare machine has no handler` };
    else
      this.stop ??= { reason: 'interrupt', pc: at, interrupt, message: `${name} interrupt at ${hex(at)}${what}, and this bare machine has no handler` };
    this.lib.uc_emu_stop(this.uc);
  }

  private onUnmapped(type: number, address: bigint, size: number): boolean {
    const kind = type === UC_MEM.WRITE_UNMAPPED ? 'write' : type === UC_MEM.FETCH_UNMAPPED ? 'instruction fetch' : 'read';
    const pc = this.readReg(PPC.PC);
    this.stop ??= {
      reason: 'unmapped', pc,
      message: `unmapped memory ${kind} at ${hex(address)} (${size} bytes) by the guest near ${hex(pc)}: RAM is 0x0–${hex(this.memory.size - 1)} and the output port is at ${hex(OUTPUT_PORT)}`,
    };
    return false;
  }

  /** The 32-bit instruction at a guest-physical address, in the guest's byte order. */
  instructionWord(address: bigint): number | undefined {
    if (address < 0n || address + 4n > BigInt(this.memory.size)) return undefined;
    return this.memory.view.getUint32(Number(address), this.options.endian === 'little');
  }

  /**
   * Writes guest memory (the debugger's writeMemory) and drops the translations of what it covers:
   * the bytes change under the engine (shared mapping), which is not told, so code it translated
   * before could run stale (the x86 software CPU drops translations the same way for its breakpoints).
   */
  writeMemory(address: number, data: Uint8Array): void {
    this.memory.write(address, data);
    this.lib.removeTranslations(this.uc, BigInt(address), BigInt(address + data.length));
  }

  // --- registers ---------------------------------------------------------------------------------

  private readReg(id: number): bigint {
    this.buf.fill(0);
    check(this.lib.uc_reg_read(this.uc, id, this.buf), `uc_reg_read(${id})`);
    return this.buf.readBigUInt64LE();
  }

  private writeReg(id: number, value: bigint): void {
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, value));
    check(this.lib.uc_reg_write(this.uc, id, this.buf), `uc_reg_write(${id})`);
  }

  state(): Ppc64Regs {
    const r = zeroPpc64Regs();
    for (let i = 0; i < 32; i++) r.gpr[i] = this.readReg(PPC.R0 + i);
    r.pc = this.readReg(PPC.PC);
    r.msr = readMsr(this.lib, this.uc);
    r.lr = this.readReg(PPC.LR);
    r.ctr = this.readReg(PPC.CTR);
    // CR and XER are 32-bit in Unicorn's API: the upper half of the buffer stays zero.
    r.cr = Number(this.readReg(PPC.CR) & 0xffffffffn);
    r.xer = this.readReg(PPC.XER) & 0xffffffffn;
    return r;
  }

  /** Writes one register by name (r0–r31, pc, lr, ctr, cr, xer, msr). */
  setRegister(name: string, value: bigint): void {
    const n = name.toLowerCase();
    const g = /^r(\d{1,2})$/.exec(n);
    if (g && Number(g[1]) < 32) return this.writeReg(PPC.R0 + Number(g[1]), value);
    switch (n) {
      case 'pc': return this.writeReg(PPC.PC, value);
      case 'lr': return this.writeReg(PPC.LR, value);
      case 'ctr': return this.writeReg(PPC.CTR, value);
      case 'cr': return this.writeReg(PPC.CR, value & 0xffffffffn);
      case 'xer': return this.writeReg(PPC.XER, value & 0xffffffffn);
      case 'msr': return writeMsr(this.lib, this.uc, value);
    }
    throw new Error(`no ppc64 register '${name}'`);
  }

  // --- running -----------------------------------------------------------------------------------

  /** Arms code hooks at exactly these addresses (breakpoints stop before the instruction). */
  setBreakpoints(addresses: Iterable<bigint>): void {
    const want = new Set(addresses);
    for (const [a, h] of this.bpHooks) if (!want.has(a)) {
      this.lib.uc_hook_del(this.uc, h);
      this.bpHooks.delete(a);
    }
    for (const a of want) if (!this.bpHooks.has(a)) {
      const hook: bigint[] = [0n];
      check(this.lib.uc_hook_add(this.uc, hook, UC_HOOK.CODE, this.bpCallback, 0, a, a), 'uc_hook_add(CODE)');
      this.bpHooks.set(a, hook[0]);
      // Code hooks apply to blocks translated after them (tcg/UNICORN-NOTES.md): drop the block
      // holding this address, as the x86 software CPU does for its breakpoints.
      check(this.lib.removeTranslations(this.uc, a, a + 4n), 'uc_ctl(UC_CTL_TB_REMOVE_CACHE)');
    }
  }

  /** Arms memory hooks for these guest-physical ranges (replacing the previous ones). */
  setWatches(watches: readonly Watch[]): void {
    for (const h of this.watchHooks) this.lib.uc_hook_del(this.uc, h);
    this.watchHooks = [];
    if (watches.length === 0) return;
    const add = (type: number, cb: unknown, begin: bigint, end: bigint): void => {
      const hook: bigint[] = [0n];
      check(this.lib.uc_hook_add(this.uc, hook, type, cb, 0, begin, end), 'uc_hook_add(watch)');
      this.watchHooks.push(hook[0]);
    };
    for (const w of watches) {
      const type = (w.kind !== 'write' ? UC_HOOK.MEM_READ : 0) | (w.kind !== 'read' ? UC_HOOK.MEM_WRITE : 0);
      add(type, this.memCallback, BigInt(w.start), BigInt(w.end - 1));
    }
    add(UC_HOOK.CODE, this.traceCallback, 1n, 0n);
    // Hooks apply to code translated from now on: drop what was translated without them.
    this.lib.flushTranslations(this.uc);
  }

  /** Stops a run at the end of its current slice. */
  pause(): void {
    this.pauseRequested = true;
  }

  /**
   * Runs until the program's end, an interrupt, a breakpoint (not the one at the start PC: the run
   * resumes from it), a pause or `timeoutMs`.
   */
  async run(timeoutMs?: number): Promise<Ppc64Stop> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    this.pauseRequested = false;
    this.skipBreakpointAt = this.readReg(PPC.PC);
    for (;;) {
      const stop = this.slice(SLICE_US, 0);
      this.skipBreakpointAt = -1n;
      if (stop) return stop;
      await new Promise((resolve) => setImmediate(resolve));
      const pc = this.readReg(PPC.PC);
      if (this.pauseRequested) return { reason: 'paused', pc, message: `paused at ${hex(pc)}` };
      if (Date.now() >= deadline) return { reason: 'timeout', pc, message: `stopped after the ${(timeoutMs! / 1000).toString()} s timeout at ${hex(pc)}` };
    }
  }

  /** Executes exactly one instruction (breakpoints do not stop it). */
  step(): Ppc64Stop {
    const start = this.readReg(PPC.PC);
    if (start === this.options.programEnd) return this.endStop(start);
    this.skipBreakpointAt = start;
    const stop = this.slice(0, 1);
    this.skipBreakpointAt = -1n;
    // Stepping onto the program's end is a step; only running from there ends the program.
    if (stop && stop.reason !== 'breakpoint' && stop.reason !== 'end-of-program') return stop;
    const pc = this.readReg(PPC.PC);
    return { reason: 'step', pc, message: `stepped to ${hex(pc)}` };
  }

  /** One uc_emu_start; a stop when the run ended for a reason, undefined when the slice ran out. */
  private slice(timeoutUs: number, count: number): Ppc64Stop | undefined {
    const start = this.readReg(PPC.PC);
    const end = this.options.programEnd;
    if (start === end) return this.endStop(start);
    this.stop = undefined;
    const err = this.lib.uc_emu_start(this.uc, start, end, timeoutUs, count);
    const stop = this.stop as Ppc64Stop | undefined;
    this.stop = undefined;
    if (stop) {
      // Unicorn leaves its own PC after a hook's stop: put the architected one back.
      if (stop.reason !== 'unmapped') this.writeReg(PPC.PC, stop.pc);
      return stop;
    }
    const pc = this.readReg(PPC.PC);
    if (this.pendingWatch) {
      // The accessing instruction was the last of the run (the program's end, a count of one).
      const access = this.pendingWatch;
      this.pendingWatch = undefined;
      return { reason: 'watch', pc, access, message: `watched ${access.write ? 'write' : 'read'} at 0x${access.address.toString(16)}` };
    }
    if (err !== 0)
      return { reason: 'error', pc, message: `the software CPU stopped at ${hex(pc)}: ${this.lib.uc_strerror(err)} (UC_ERR ${err})` };
    if (pc === end) return this.endStop(pc);
    return undefined;
  }

  private endStop(pc: bigint): Ppc64Stop {
    return {
      reason: 'end-of-program', pc,
      message: `ran off the end of the program at ${hex(pc)} (the first address after its last instruction; the guest has no halt)`,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.uc) this.lib.uc_close(this.uc);
    for (const cb of this.callbacks) koffi.unregister(cb as never);
    this.memory?.release();
  }
}

/** The `size` bytes of a stored value in the guest's byte order (as they land in memory). */
function bytesOf(value: bigint, size: number, endian: Endian): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return endian === 'big' ? out.reverse() : out;
}

/** `tw`/`twi`/`td`/`tdi`: a trap, not an illegal instruction (Power ISA book I, "Fixed-Point Trap Instructions"). */
function isTrap(word: number): boolean {
  const op = word >>> 26;
  const xo = (word >>> 1) & 0x3ff;
  return op === 2 || op === 3 || (op === 31 && (xo === 4 || xo === 68));
}
