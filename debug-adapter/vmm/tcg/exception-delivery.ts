// Delivery of exceptions and interrupts through the guest's IVT/IDT, as the processor does it (Intel
// SDM vol. 3, chapter 6 "Interrupt and Exception Handling"; vol. 2, INT n pseudocode; chapter 20 for
// real mode). The software CPU (Unicorn) only reports "vector N happened": this module pushes the
// frame, loads CS:EIP/RIP, SS:ESP/RSP and the flags, escalates faults during delivery to #DF and to
// a triple fault (SDM 6.15, table 6-5), and derives the error codes Unicorn does not report.
// Pure and backend-neutral: CpuState in, CpuState out, guest memory as bytes.
//
// Not modelled: task gates and task switches (reported as a triple fault whose message says so),
// SMAP, shadow stacks, interrupt shadows / NMI blocking (the caller decides when to deliver).
// The accessed bit of the loaded CS/SS descriptors is set in guest memory best-effort (a page
// fault on that write is ignored). Frame writes are all checked before any is made.
import {
  Code, Decoder, DecoderOptions, InstructionInfoFactory, MemorySizeExt, Mnemonic, OpAccess, OpKind, Register, RegisterExt,
} from 'iced-x86';
import type { CpuState, Regs, Segment, SRegs } from '../cpu-state';
import { cloneState, CR0_PE, EFER_LMA } from '../cpu-state';
import {
  descriptorAttributes, descriptorBase, descriptorLimit, gateIst, gateOffset, gateSelector, scaledLimit,
} from '../descriptor-fields';
import type { DescriptorAttributes } from '../descriptor-fields';
import { isCanonical, walk } from '../page-walk';

export interface ExceptionEvent {
  vector: number;
  /**
   * fault: state.regs.rip is the faulting instruction (it is pushed; EFLAGS.RF is set in the image).
   * trap / software: rip is the next instruction (it is pushed). software = INT n, INT3, INTO: the
   * gate's DPL is checked against CPL and EXT = 0 in error codes; everything else is "external"
   * (EXT = 1). abort: like fault (#DF, #MC).
   */
  kind: 'fault' | 'trap' | 'software' | 'abort';
  /** Pushed for vectors 8, 10–14, 17, 21 (0 if omitted); ignored otherwise and for software events. */
  errorCode?: number;
  /** Loaded into CR2 for #PF (vector 14). */
  cr2?: bigint;
  /**
   * Length of the INT instruction for a software event (default: 1 for vectors 3 and 4 — INT3,
   * INTO — else 2). Used only when delivery faults: the new fault's saved RIP is the INT instruction.
   */
  instructionLength?: number;
}

export type DeliveryResult =
  | { kind: 'delivered'; state: CpuState; /** Set when the vector delivered differs from the event's: the escalation, e.g. "#NP → #DF". */ note?: string }
  | { kind: 'triple-fault'; message: string };

/** Mnemonics of the architectural exceptions (SDM vol. 3, table 6-1). */
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF',
  9: 'CSO', 10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC',
  18: '#MC', 19: '#XM', 20: '#VE', 21: '#CP',
};

/** "#GP", or "vector 0x80" for vectors without a name. */
export function exceptionName(vector: number): string {
  return EXCEPTION_NAMES[vector] ?? `vector 0x${vector.toString(16)}`;
}

/** Vectors whose delivery pushes an error code (SDM table 6-1; exceptions only, never INT n). */
export const ERROR_CODE_VECTORS: ReadonlySet<number> = new Set([8, 10, 11, 12, 13, 14, 17, 21]);

/**
 * How the vCPU must report a vector (SDM table 6-1): 'fault' (RIP at the instruction), 'trap' (RIP
 * after it), 'abort', or 'software' for #BP and #OF, which only INT3 and INTO raise. #DB is reported
 * as 'trap' (single-step, data breakpoints; instruction breakpoints are faults, but the software CPU
 * has none). NMI and vectors ≥ 32 (interrupts) are 'trap': they arrive between instructions.
 */
export function exceptionKind(vector: number): 'fault' | 'trap' | 'software' | 'abort' {
  switch (vector) {
    case 1: case 2: return 'trap';
    case 3: case 4: return 'software';
    case 8: case 18: return 'abort';
    default: return vector < 32 ? 'fault' : 'trap';
  }
}

// Classes for the double-fault rules (SDM 6.15, tables 6-4 and 6-5).
type FaultClass = 'benign' | 'contributory' | 'page-fault';
function faultClass(vector: number, kind: ExceptionEvent['kind']): FaultClass {
  if (kind === 'software') return 'benign'; // all INT n
  if ([0, 10, 11, 12, 13, 21].includes(vector)) return 'contributory';
  if (vector === 14 || vector === 20) return 'page-fault';
  return 'benign';
}

const RF = 1n << 16n;
const VM = 1n << 17n;
const NT = 1n << 14n;
const TF = 1n << 8n;
const IF = 1n << 9n;
const AC = 1n << 18n;
const IOPL_SHIFT = 12n;

const hex = (v: number | bigint): string => '0x' + v.toString(16);

/** A fault raised while delivering (internal). */
class Fault {
  constructor(readonly vector: number, readonly errorCode: number, readonly reason: string, readonly cr2?: bigint) {}
}
/** Something the software CPU does not implement (internal). */
class Unsupported {
  constructor(readonly reason: string) {}
}

interface Pending {
  vector: number;
  kind: ExceptionEvent['kind'];
  errorCode: number;
  cr2?: bigint;
  rip: bigint;
}

/** Delivers `ev` in `state`'s mode; returns the new state (memory gets the frame) or a triple fault. */
export function deliverEvent(state: CpuState, ev: ExceptionEvent, mem: Uint8Array): DeliveryResult {
  const base: CpuState = cloneState(state);
  const intLength = BigInt(ev.instructionLength ?? (ev.vector === 3 || ev.vector === 4 ? 1 : 2));
  // Where it happened: the INT instruction for a software event (RIP is after it), else CS:RIP.
  // Words only for the rare delivery that fails (built lazily: this is every interrupt's path).
  const head = (): string => {
    const where = hex(ev.kind === 'software' ? linearPcOf(state) - intLength : linearPcOf(state));
    return ev.kind === 'software'
      ? `int ${hex(ev.vector)}${EXCEPTION_NAMES[ev.vector] ? ` (${EXCEPTION_NAMES[ev.vector]})` : ''} at ${where}`
      : `${exceptionName(ev.vector)} (vector ${ev.vector}) at ${where}`;
  };
  let cur: Pending = { vector: ev.vector, kind: ev.kind, errorCode: ev.errorCode ?? 0, cr2: ev.cr2, rip: state.regs.rip };
  const names: string[] = [];
  const reasons: string[] = [];
  for (;;) {
    if (cur.vector === 14 && cur.cr2 !== undefined) base.sregs.cr2 = cur.cr2; // CR2 is loaded when #PF occurs
    try {
      const s = deliverOnce(base, cur, mem);
      return names.length === 0
        ? { kind: 'delivered', state: s }
        : { kind: 'delivered', state: s, note: `${head()}: ${reasons[0]} → ${names.join(' → ')}${detail(names, reasons)}` };
    } catch (e) {
      if (e instanceof Unsupported) {
        const path = names.length ? ` → ${names.join(' → ')}` : '';
        return { kind: 'triple-fault', message: `${head()}${path}: ${e.reason}; the software CPU does not implement this, so it stops as on a triple fault` };
      }
      if (!(e instanceof Fault)) throw e;
      reasons.push(e.reason);
      if (e.vector === 14 && e.cr2 !== undefined) base.sregs.cr2 = e.cr2; // loaded even when it becomes #DF
      if (cur.vector === 8 && cur.kind !== 'software') {
        names.push('triple fault');
        return { kind: 'triple-fault', message: `${head()}: ${reasons[0]} → ${names.join(' → ')}${detail(names, reasons)}` };
      }
      const first = faultClass(cur.vector, cur.kind);
      const second = faultClass(e.vector, 'fault');
      const double = (first === 'contributory' && second === 'contributory') || (first === 'page-fault' && second !== 'benign');
      // The new exception is a fault of the instruction that was being delivered for: for INT n it
      // points at the INT instruction; for faults at the faulting instruction; for traps after it.
      const rip = cur.kind === 'software'
        ? (cur.rip - intLength) & ripMask(state)
        : cur.rip;
      cur = double
        ? { vector: 8, kind: 'abort', errorCode: 0, rip }
        : { vector: e.vector, kind: 'fault', errorCode: e.errorCode, cr2: e.cr2, rip };
      names.push(exceptionName(cur.vector));
    }
  }
}

function detail(names: string[], reasons: string[]): string {
  const later = reasons.slice(1).map((r, i) => `delivering ${names[i]}: ${r}`);
  return later.length ? ` (${later.join('; ')})` : '';
}

function ripMask(s: CpuState): bigint {
  return (s.sregs.efer & EFER_LMA) !== 0n && s.sregs.cs.l ? ~0n & 0xffffffffffffffffn : 0xffffffffn;
}

function linearPcOf(s: CpuState): bigint {
  const lin = s.sregs.cs.base + s.regs.rip;
  return (s.sregs.efer & EFER_LMA) !== 0n ? lin & 0xffffffffffffffffn : lin & 0xffffffffn;
}

/** The current privilege level: 0 in real mode, 3 in virtual-8086 mode, else CS.RPL. */
export function currentPrivilegeLevel(s: CpuState): number {
  if ((s.sregs.cr0 & CR0_PE) === 0n) return 0;
  if ((s.regs.rflags & VM) !== 0n) return 3;
  return s.sregs.cs.selector & 3;
}

function deliverOnce(state: CpuState, ev: Pending, mem: Uint8Array): CpuState {
  if ((state.sregs.cr0 & CR0_PE) === 0n) return deliverReal(state, ev, mem);
  if ((state.sregs.efer & EFER_LMA) !== 0n) return deliverLong(state, ev, mem);
  return deliverProtected(state, ev, mem);
}

// ---------------------------------------------------------------------------------------------
// Guest memory through the current paging mode.

class LinearMemory {
  private readonly writes: { physical: bigint; value: number }[] = [];
  constructor(private readonly mem: Uint8Array, private readonly sregs: SRegs, private readonly legacy: boolean) {}

  /** Physical page of each (linear page, access) translated during this delivery: one walk per page, not per byte. */
  private readonly pages = new Map<string, bigint>();

  private translate(lin: bigint, write: boolean, user: boolean, what: string): bigint {
    const a = this.legacy ? lin & 0xffffffffn : lin & 0xffffffffffffffffn;
    const offset = a & 0xfffn;
    const key = `${a - offset}|${write}|${user}`;
    const page = this.pages.get(key);
    if (page !== undefined) return page + offset;
    const r = walk(this.mem, this.sregs, a, { write, user });
    if ('fault' in r) throw new Fault(14, r.errorCode, `${what} at ${hex(a)} page-faulted (error code ${hex(r.errorCode)})`, a);
    this.pages.set(key, r.physical - offset);
    return r.physical;
  }

  /** Reads `size` bytes (little-endian) at a linear address as a supervisor (system-structure) access. */
  read(lin: bigint, size: number, what: string, user = false): bigint {
    const phys = this.physicalBytes(lin, size, false, user, what);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(phys[i] < this.mem.length ? this.mem[phys[i]] : 0);
    return v;
  }

  /** The physical address of each byte of an access: one translation unless it crosses a page. */
  private physicalBytes(lin: bigint, size: number, write: boolean, user: boolean, what: string): number[] {
    const out: number[] = [];
    const first = Number(this.translate(lin, write, user, what));
    const inPage = 0x1000 - Number(lin & 0xfffn);
    for (let i = 0; i < size; i++) out.push(i < inPage ? first + i : Number(this.translate(lin + BigInt(i), write, user, what)));
    return out;
  }

  /** Stages a write (checked now, committed by commit()). */
  write(lin: bigint, size: number, value: bigint, what: string, user: boolean): void {
    const phys = this.physicalBytes(lin, size, true, user, what);
    for (let i = 0; i < size; i++) this.writes.push({ physical: BigInt(phys[i]), value: Number((value >> BigInt(8 * i)) & 0xffn) });
  }

  commit(): void {
    for (const w of this.writes) if (w.physical < BigInt(this.mem.length)) this.mem[Number(w.physical)] = w.value;
    this.writes.length = 0;
  }

  /** Best effort: sets the accessed bit of a descriptor (the processor does on a segment load). */
  setAccessed(descLinear: bigint): void {
    try {
      const p = this.translate(descLinear + 5n, true, false, 'descriptor');
      if (p < BigInt(this.mem.length)) this.mem[Number(p)] |= 1;
    } catch {
      /* the processor would fault; the read already succeeded, so leave it */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Real-address mode (SDM vol. 3, 20.1.4; vol. 2, INT n "REAL-ADDRESS-MODE").

function deliverReal(state: CpuState, ev: Pending, mem: Uint8Array): CpuState {
  const s: CpuState = cloneState(state);
  const idt = s.sregs.idt;
  const m = new LinearMemory(mem, s.sregs, true);
  if (ev.vector * 4 + 3 > idt.limit)
    throw new Fault(13, ev.vector * 8 + 2, `the IVT (base ${hex(idt.base)}, limit ${hex(idt.limit)}) has no entry for vector ${ev.vector}`);
  const entry = m.read(idt.base + BigInt(ev.vector * 4), 4, 'the IVT entry');
  const ip = entry & 0xffffn;
  const cs = (entry >> 16n) & 0xffffn;
  let sp = s.regs.rsp & 0xffffn;
  const flagsImage = s.regs.rflags & 0xffffn; // FLAGS: RF (bit 16) is not in the 16-bit image
  const push = (v: bigint, what: string): void => {
    sp = (sp - 2n) & 0xffffn;
    m.write(s.sregs.ss.base + sp, 2, v & 0xffffn, what, false);
  };
  push(flagsImage, 'pushing FLAGS');
  push(BigInt(s.sregs.cs.selector), 'pushing CS');
  push(ev.rip & 0xffffn, 'pushing IP');
  m.commit();
  s.regs.rsp = (s.regs.rsp & ~0xffffn) | sp;
  s.regs.rflags &= ~(IF | TF | AC);
  // A real-mode segment load changes the selector and the base only (limit and attributes stay).
  s.sregs.cs = { ...s.sregs.cs, selector: Number(cs), base: cs << 4n };
  s.regs.rip = ip;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Descriptors.

interface Descriptor extends DescriptorAttributes {
  base: bigint;
  /** The last valid offset (granularity applied), as a segment register holds it. */
  limit: number;
  /** Linear address of the descriptor (for the accessed bit). */
  at: bigint;
}

function parseDescriptor(raw: bigint, at: bigint): Descriptor {
  const a = descriptorAttributes(raw);
  return { ...a, at, base: descriptorBase(raw), limit: scaledLimit(descriptorLimit(raw), a.g) };
}

function segmentFrom(selector: number, d: Descriptor): Segment {
  return {
    base: d.base, limit: d.limit, selector, type: d.type | 1, present: d.present, dpl: d.dpl,
    db: d.db, s: d.s, l: d.l, g: d.g, avl: d.avl, unusable: 0,
  };
}

/** Reads the descriptor for `selector` from the GDT or LDT; a selector beyond the table → #GP/#TS(selector). */
function loadDescriptor(m: LinearMemory, sregs: SRegs, selector: number, faultVector: number, ext: number, what: string): Descriptor {
  const ti = (selector & 4) !== 0;
  const table = ti ? { base: sregs.ldt.base, limit: sregs.ldt.unusable || !sregs.ldt.present ? -1 : sregs.ldt.limit } : sregs.gdt;
  const index = selector & 0xfff8;
  if (index + 7 > table.limit)
    throw new Fault(faultVector, (selector & 0xfffc) + ext, `${what} ${hex(selector)} is beyond the ${ti ? 'LDT' : 'GDT'} limit ${hex(Math.max(table.limit, 0))}`);
  const at = table.base + BigInt(index);
  return parseDescriptor(m.read(at, 8, `reading the descriptor of ${what} ${hex(selector)}`), at);
}

interface Gate {
  type: number;
  dpl: number;
  present: number;
  selector: number;
  offset: bigint;
  ist: number;
}

/** Checks common to 32- and 64-bit IDT gates (SDM vol. 2, INT n: PROTECTED-MODE / IA-32e). */
function readGate(m: LinearMemory, state: CpuState, ev: Pending, long: boolean, ext: number, cpl: number): Gate {
  const idt = state.sregs.idt;
  const size = long ? 16 : 8;
  const v = ev.vector;
  if (v * size + size - 1 > idt.limit)
    throw new Fault(13, v * 8 + 2 + ext, `the IDT (base ${hex(idt.base)}, limit ${hex(idt.limit)}) has no entry for vector ${v}`);
  const at = idt.base + BigInt(v * size);
  const raw = m.read(at, 8, `reading IDT entry ${v}`);
  const high = long ? m.read(at + 8n, 8, `reading IDT entry ${v}`) : 0n;
  const a = descriptorAttributes(raw);
  const type = a.type | (a.s << 4); // includes the S bit: only system descriptors are gates
  const gate: Gate = {
    type,
    dpl: a.dpl,
    present: a.present,
    selector: gateSelector(raw),
    offset: gateOffset(raw, high),
    ist: long ? gateIst(raw) : 0,
  };
  const valid = long ? [0xe, 0xf] : [0x5, 0x6, 0x7, 0xe, 0xf];
  if (!valid.includes(type))
    throw new Fault(13, v * 8 + 2 + ext, `IDT entry ${v} (${hex(raw)}) is not ${long ? 'a 64-bit interrupt or trap gate' : 'an interrupt, trap or task gate'} (type ${hex(type & 0xf)}${type & 0x10 ? ', S=1' : ''})`);
  if (ev.kind === 'software' && gate.dpl < cpl)
    throw new Fault(13, v * 8 + 2, `int ${hex(v)} from CPL ${cpl} through a gate with DPL ${gate.dpl}`);
  if (!gate.present)
    throw new Fault(11, v * 8 + 2 + ext, `IDT entry ${v} is not present`);
  if (type === 0x5)
    throw new Unsupported(`IDT entry ${v} is a task gate (TSS selector ${hex(gate.selector)}): task switches are not supported`);
  return gate;
}

/** The handler's code segment (SDM vol. 2, INT n: checks on the gate's selector). */
function readHandlerCode(m: LinearMemory, state: CpuState, gate: Gate, v: number, ext: number, cpl: number, long: boolean): Descriptor {
  if ((gate.selector & 0xfffc) === 0) throw new Fault(13, ext, `the gate for vector ${v} has a null code selector`);
  const d = loadDescriptor(m, state.sregs, gate.selector, 13, ext, `the code selector of the gate for vector ${v}`);
  const err = (gate.selector & 0xfffc) + ext;
  if (!d.s || (d.type & 8) === 0) throw new Fault(13, err, `selector ${hex(gate.selector)} (gate for vector ${v}) is not a code segment`);
  if (d.dpl > cpl) throw new Fault(13, err, `code segment ${hex(gate.selector)} has DPL ${d.dpl} > CPL ${cpl}`);
  if (long && (!d.l || d.db)) throw new Fault(13, err, `code segment ${hex(gate.selector)} is not a 64-bit code segment (L=${d.l}, D=${d.db})`);
  if (!d.present) throw new Fault(11, err, `code segment ${hex(gate.selector)} is not present`);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Protected mode, 32-bit (and 16-bit gates).

function deliverProtected(state: CpuState, ev: Pending, mem: Uint8Array): CpuState {
  const s: CpuState = cloneState(state);
  const m = new LinearMemory(mem, s.sregs, true);
  const v = ev.vector;
  const ext = ev.kind === 'software' ? 0 : 1;
  const cpl = currentPrivilegeLevel(s);
  const vm86 = (s.regs.rflags & VM) !== 0n;
  if (vm86 && ev.kind === 'software' && ((s.regs.rflags >> IOPL_SHIFT) & 3n) < 3n)
    throw new Fault(13, 0, `int ${hex(v)} in virtual-8086 mode with IOPL < 3`);
  const gate = readGate(m, s, ev, false, ext, cpl);
  const code = readHandlerCode(m, s, gate, v, ext, cpl, false);
  const gate32 = (gate.type & 8) !== 0;
  const width = gate32 ? 4 : 2;
  const hasError = ev.kind !== 'software' && ERROR_CODE_VECTORS.has(v);
  const newCpl = code.type & 4 ? cpl : code.dpl; // conforming: CPL stays
  const offset = gate32 ? gate.offset : gate.offset & 0xffffn;
  if (offset > BigInt(code.limit)) throw new Fault(13, ext, `handler offset ${hex(offset)} is beyond the limit of code segment ${hex(gate.selector)}`);

  let ssSeg = s.sregs.ss;
  let sp: bigint;
  const inner = newCpl < cpl;
  if (vm86 && newCpl !== 0) throw new Fault(13, (gate.selector & 0xfffc) + ext, `virtual-8086 interrupt to a handler with DPL ${newCpl} (must be 0)`);
  if (inner) {
    const { ss, esp } = stackFromTss(m, s, newCpl, ext);
    const d = loadDescriptor(m, s.sregs, ss, 10, ext, 'the TSS stack selector');
    if ((ss & 3) !== newCpl || d.dpl !== newCpl || !d.s || (d.type & 8) !== 0 || (d.type & 2) === 0)
      throw new Fault(10, (ss & 0xfffc) + ext, `the TSS stack segment ${hex(ss)} for CPL ${newCpl} is not a writable data segment with DPL ${newCpl}`);
    if (!d.present) throw new Fault(12, (ss & 0xfffc) + ext, `the TSS stack segment ${hex(ss)} is not present`);
    m.setAccessed(d.at);
    ssSeg = segmentFrom((ss & 0xfffc) | newCpl, d);
    sp = esp;
  } else {
    sp = s.regs.rsp;
  }
  const spMask = ssSeg.db ? 0xffffffffn : 0xffffn;
  sp &= spMask;
  const user = newCpl === 3;
  const push = (value: bigint, what: string): void => {
    sp = (sp - BigInt(width)) & spMask;
    checkStackLimit(ssSeg, sp, width, ext);
    m.write(ssSeg.base + sp, width, value & (gate32 ? 0xffffffffn : 0xffffn), what, user);
  };
  let flagsImage = s.regs.rflags & 0xffffffffn;
  if (ev.kind === 'fault' && v !== 1) flagsImage |= RF; // SDM 17.3.1.1: faults push RF = 1
  if (inner) {
    if (vm86) {
      push(BigInt(s.sregs.gs.selector), 'pushing GS');
      push(BigInt(s.sregs.fs.selector), 'pushing FS');
      push(BigInt(s.sregs.ds.selector), 'pushing DS');
      push(BigInt(s.sregs.es.selector), 'pushing ES');
    }
    push(BigInt(s.sregs.ss.selector), 'pushing SS');
    push(s.regs.rsp, 'pushing ESP');
  }
  push(flagsImage, 'pushing EFLAGS');
  push(BigInt(s.sregs.cs.selector), 'pushing CS');
  push(ev.rip, 'pushing EIP');
  if (hasError) push(BigInt(ev.errorCode), 'pushing the error code');
  m.commit();
  m.setAccessed(code.at);

  if (inner) {
    s.sregs.ss = ssSeg;
    if (vm86) for (const r of ['ds', 'es', 'fs', 'gs'] as const) s.sregs[r] = nullSegment(0);
  }
  s.regs.rsp = ssSeg.db ? sp : (s.regs.rsp & ~0xffffn) | sp;
  s.sregs.cs = segmentFrom((gate.selector & 0xfffc) | newCpl, code);
  s.regs.rip = offset;
  s.regs.rflags = updateFlags(s.regs.rflags, gate.type);
  return s;
}

/** SS:ESP for `dpl` from the current TSS (SDM vol. 3, 7.2.1: 32-bit TSS ESPn/SSn at 4+8n/8+8n; 16-bit at 2+4n/4+4n). */
function stackFromTss(m: LinearMemory, s: CpuState, dpl: number, ext: number): { ss: number; esp: bigint } {
  const tr = s.sregs.tr;
  if (!tr.present || tr.unusable) throw new Fault(10, (tr.selector & 0xfffc) + ext, `TR (${hex(tr.selector)}) holds no TSS`);
  const tss32 = (tr.type & 8) !== 0;
  const shift = tss32 ? 1 : 0;
  const index = (dpl * 4 + 2) << shift;
  if (index + (4 << shift) - 1 > tr.limit)
    throw new Fault(10, (tr.selector & 0xfffc) + ext, `the TSS (limit ${hex(tr.limit)}) has no stack for CPL ${dpl}`);
  if (tss32) {
    const esp = m.read(tr.base + BigInt(index), 4, `reading ESP${dpl} from the TSS`);
    const ss = Number(m.read(tr.base + BigInt(index + 4), 2, `reading SS${dpl} from the TSS`));
    if ((ss & 0xfffc) === 0) throw new Fault(10, ext, `SS${dpl} in the TSS is a null selector`);
    return { ss, esp };
  }
  const esp = m.read(tr.base + BigInt(index), 2, `reading SP${dpl} from the TSS`);
  const ss = Number(m.read(tr.base + BigInt(index + 2), 2, `reading SS${dpl} from the TSS`));
  if ((ss & 0xfffc) === 0) throw new Fault(10, ext, `SS${dpl} in the TSS is a null selector`);
  return { ss, esp };
}

function checkStackLimit(ss: Segment, offset: bigint, width: number, ext: number): void {
  const last = offset + BigInt(width - 1);
  const expandDown = ss.s && (ss.type & 8) === 0 && (ss.type & 4) !== 0;
  const top = ss.db ? 0xffffffffn : 0xffffn;
  const ok = expandDown ? offset > BigInt(ss.limit) && last <= top : last <= BigInt(ss.limit);
  if (!ok) throw new Fault(12, ext, `the frame does not fit in the stack segment (${hex(offset)} beyond limit ${hex(ss.limit)})`);
}

function updateFlags(rflags: bigint, gateType: number): bigint {
  let f = rflags & ~(TF | NT | RF | VM);
  if ((gateType & 1) === 0) f &= ~IF; // interrupt gate (0x6, 0xE); trap gates (0x7, 0xF) keep IF
  return f;
}

function nullSegment(rpl: number): Segment {
  return { base: 0n, limit: 0, selector: rpl, type: 0, present: 0, dpl: rpl, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1 };
}

// ---------------------------------------------------------------------------------------------
// IA-32e mode (SDM vol. 3, 6.14).

function deliverLong(state: CpuState, ev: Pending, mem: Uint8Array): CpuState {
  const s: CpuState = cloneState(state);
  const m = new LinearMemory(mem, s.sregs, false);
  const v = ev.vector;
  const ext = ev.kind === 'software' ? 0 : 1;
  const cpl = currentPrivilegeLevel(s);
  const gate = readGate(m, s, ev, true, ext, cpl);
  const code = readHandlerCode(m, s, gate, v, ext, cpl, true);
  const newCpl = code.type & 4 ? cpl : code.dpl;
  if (!isCanonical(gate.offset)) throw new Fault(13, ext, `handler address ${hex(gate.offset)} for vector ${v} is not canonical`);
  const hasError = ev.kind !== 'software' && ERROR_CODE_VECTORS.has(v);
  const inner = newCpl < cpl;

  let rsp: bigint;
  if (gate.ist !== 0) rsp = rspFromTss64(m, s, 0x1c + 8 * gate.ist, `IST${gate.ist}`, ext);
  else if (inner) rsp = rspFromTss64(m, s, 4 + 8 * newCpl, `RSP${newCpl}`, ext);
  else rsp = s.regs.rsp;
  rsp &= ~0xfn & 0xffffffffffffffffn; // SDM 6.14.2: the stack is aligned on 16 bytes
  const user = newCpl === 3;
  const push = (value: bigint, what: string): void => {
    rsp = (rsp - 8n) & 0xffffffffffffffffn;
    if (!isCanonical(rsp)) throw new Fault(12, ext, `the stack address ${hex(rsp)} is not canonical`);
    m.write(rsp, 8, value & 0xffffffffffffffffn, what, user);
  };
  let flagsImage = s.regs.rflags;
  if (ev.kind === 'fault' && v !== 1) flagsImage |= RF;
  push(BigInt(s.sregs.ss.selector), 'pushing SS');
  push(s.regs.rsp, 'pushing RSP');
  push(flagsImage, 'pushing RFLAGS');
  push(BigInt(s.sregs.cs.selector), 'pushing CS');
  push(ev.rip, 'pushing RIP');
  if (hasError) push(BigInt(ev.errorCode), 'pushing the error code');
  m.commit();
  m.setAccessed(code.at);

  if (inner) s.sregs.ss = nullSegment(newCpl); // SDM 6.14.4: SS is loaded with a null selector, RPL = new CPL
  s.regs.rsp = rsp;
  s.sregs.cs = segmentFrom((gate.selector & 0xfffc) | newCpl, code);
  s.regs.rip = gate.offset;
  s.regs.rflags = updateFlags(s.regs.rflags, gate.type);
  return s;
}

function rspFromTss64(m: LinearMemory, s: CpuState, index: number, what: string, ext: number): bigint {
  const tr = s.sregs.tr;
  if (!tr.present || tr.unusable) throw new Fault(10, (tr.selector & 0xfffc) + ext, `TR (${hex(tr.selector)}) holds no TSS`);
  if (index + 7 > tr.limit) throw new Fault(10, (tr.selector & 0xfffc) + ext, `the TSS (limit ${hex(tr.limit)}) has no ${what}`);
  const rsp = m.read(tr.base + BigInt(index), 8, `reading ${what} from the TSS`);
  if (!isCanonical(rsp)) throw new Fault(12, ext, `${what} in the TSS (${hex(rsp)}) is not canonical`);
  return rsp;
}

// ---------------------------------------------------------------------------------------------
// Error codes Unicorn does not report.

/**
 * The error code the processor pushes for `vector` raised by the instruction at state's CS:RIP (the
 * fault's state: RIP at the faulting instruction; for #PF, CR2 as the CPU set it). instructionBytes:
 * the bytes at CS:RIP if the caller has them (may be empty: they are then fetched through the page
 * tables). Returns undefined for vectors without an error code.
 */
export function faultErrorCode(vector: number, state: CpuState, mem: Uint8Array, instructionBytes: Uint8Array): number | undefined {
  if (!ERROR_CODE_VECTORS.has(vector)) return undefined;
  switch (vector) {
    case 14: return pageFaultErrorCode(state, mem, instructionBytes);
    case 10: case 11: case 12: case 13: return segmentErrorCode(vector, state, mem, instructionBytes);
    case 21: return controlProtectionErrorCode(state, mem, instructionBytes);
    default: return 0; // #DF, #AC
  }
}

interface Decoded {
  bitness: 16 | 32 | 64;
  length: number;
  mnemonic: Mnemonic;
  code: Code;
  invalid: boolean;
  /** Bytes available (the fetch stopped at an unmapped page if fewer than 15). */
  available: number;
  accesses: { linear: bigint; size: number; write: boolean; segment: string }[];
  op0Kind: OpKind;
  op0Register: Register;
  op1Kind: OpKind;
  op1Register: Register;
  farBranchSelector: number;
}

function bitnessOf(s: CpuState): 16 | 32 | 64 {
  if ((s.sregs.efer & EFER_LMA) !== 0n && s.sregs.cs.l) return 64;
  if ((s.sregs.cr0 & CR0_PE) !== 0n && (s.regs.rflags & VM) === 0n && s.sregs.cs.db) return 32;
  return 16;
}

function legacyOf(s: CpuState): boolean {
  return (s.sregs.efer & EFER_LMA) === 0n;
}

function linearMask(s: CpuState, lin: bigint): bigint {
  return legacyOf(s) ? lin & 0xffffffffn : lin & 0xffffffffffffffffn;
}

/** Fetches up to 15 instruction bytes through the page tables (stopping at the first fetch fault). */
function fetchBytes(s: CpuState, mem: Uint8Array, user: boolean): Uint8Array {
  const out: number[] = [];
  const pc = linearMask(s, s.sregs.cs.base + s.regs.rip);
  for (let i = 0; i < 15; i++) {
    const r = walk(mem, s.sregs, linearMask(s, pc + BigInt(i)), { fetch: true, user });
    if ('fault' in r || r.physical >= BigInt(mem.length)) break;
    out.push(mem[Number(r.physical)]);
  }
  return Uint8Array.from(out);
}

const REG_KEY = new Map<Register, keyof Regs>();
for (const name of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'] as const) {
  const r = (Register as unknown as Record<string, Register>)[name.toUpperCase()];
  if (r !== undefined) REG_KEY.set(r, name);
}

function regValue(s: CpuState, r: Register): bigint {
  if (r === Register.None) return 0n;
  const full = RegisterExt.fullRegister(r);
  const key = REG_KEY.get(full);
  if (key === undefined) return 0n;
  const size = RegisterExt.size(r);
  const v = s.regs[key];
  if (size === 1 && r >= Register.AH && r <= Register.BH) return (v >> 8n) & 0xffn;
  return v & ((1n << BigInt(size * 8)) - 1n);
}

const SEG_KEY: Partial<Record<number, 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs'>> = {
  [Register.ES]: 'es', [Register.CS]: 'cs', [Register.SS]: 'ss', [Register.DS]: 'ds', [Register.FS]: 'fs', [Register.GS]: 'gs',
};

function decodeAt(s: CpuState, mem: Uint8Array, instructionBytes: Uint8Array, user: boolean): Decoded {
  const bitness = bitnessOf(s);
  const bytes = instructionBytes.length ? instructionBytes : fetchBytes(s, mem, user);
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  const factory = new InstructionInfoFactory();
  try {
    decoder.ip = s.regs.rip;
    const ins = decoder.decode();
    try {
      const accesses: Decoded['accesses'] = [];
      if (!ins.isInvalid) {
        const info = factory.info(ins);
        try {
          for (const u of info.usedMemory()) {
            const access = u.access as OpAccess;
            if (access === OpAccess.NoMemAccess || access === OpAccess.None) continue;
            const segKey = SEG_KEY[u.segment as number];
            const segBase = segKey === undefined ? 0n
              : bitness === 64 ? (segKey === 'fs' || segKey === 'gs' ? s.sregs[segKey].base : 0n)
              : s.sregs[segKey].base;
            const baseReg = u.base as Register;
            const indexReg = u.index as Register;
            let addrBits = bitness as number;
            if (baseReg !== Register.None) addrBits = RegisterExt.size(baseReg) * 8;
            else if (indexReg !== Register.None) addrBits = RegisterExt.size(indexReg) * 8;
            const stackBase = baseReg !== Register.None && RegisterExt.fullRegister(baseReg) === Register.RSP;
            if (stackBase && bitness !== 64) addrBits = s.sregs.ss.db ? 32 : 16;
            const mask = (1n << BigInt(addrBits)) - 1n;
            const ea = (regValue(s, baseReg) + regValue(s, indexReg) * BigInt(u.scale) + (u.displacement as bigint)) & mask;
            const write = access === OpAccess.Write || access === OpAccess.CondWrite || access === OpAccess.ReadWrite || access === OpAccess.ReadCondWrite;
            accesses.push({ linear: linearMask(s, segBase + ea), size: Math.max(1, MemorySizeExt.size(u.memorySize)), write, segment: segKey ?? '' });
            u.free();
          }
        } finally {
          info.free();
        }
      }
      return {
        bitness, length: ins.length, mnemonic: ins.mnemonic, code: ins.code, invalid: ins.isInvalid, available: bytes.length, accesses,
        op0Kind: ins.op0Kind, op0Register: ins.op0Register, op1Kind: ins.op1Kind, op1Register: ins.op1Register,
        farBranchSelector: ins.op0Kind === OpKind.FarBranch16 || ins.op0Kind === OpKind.FarBranch32 ? ins.farBranchSelector : 0,
      };
    } finally {
      ins.free();
    }
  } finally {
    decoder.free();
    factory.free();
  }
}

const page = (a: bigint): bigint => a >> 12n;

/**
 * The #PF of the instruction at CS:RIP, found by walking its fetch and its data accesses: the error
 * code and the linear address that faulted (what CR2 must hold). state.sregs.cr2 is only a hint (an
 * access on CR2's page is tried first); use this when the CPU's CR2 cannot be trusted. Undefined
 * when nothing faults with the current tables.
 */
export function pageFaultInfo(s: CpuState, mem: Uint8Array, instructionBytes: Uint8Array): { errorCode: number; address: bigint } | undefined {
  const user = currentPrivilegeLevel(s) === 3;
  const pc = linearMask(s, s.sregs.cs.base + s.regs.rip);
  const tryWalk = (lin: bigint, a: { write?: boolean; fetch?: boolean }): { errorCode: number; address: bigint } | undefined => {
    const address = linearMask(s, lin);
    const r = walk(mem, s.sregs, address, { user, ...a });
    return 'fault' in r ? { errorCode: r.errorCode, address } : undefined;
  };
  // 1. The instruction fetch itself.
  const first = tryWalk(pc, { fetch: true });
  if (first) return first;
  const d = decodeAt(s, mem, instructionBytes, user);
  const fetchEnd = d.invalid && d.available < 15 ? pc + BigInt(d.available) : pc + BigInt(Math.max(d.length, 1) - 1);
  if (page(fetchEnd) !== page(pc)) {
    const second = tryWalk(fetchEnd & ~0xfffn, { fetch: true });
    if (second) return second;
  }
  // 2. The data accesses: one on CR2's page first, then the first that faults (its first faulting byte).
  const cr2 = linearMask(s, s.sregs.cr2);
  const spans = d.accesses.map((a) => ({ ...a, last: linearMask(s, a.linear + BigInt(a.size - 1)) }));
  for (const a of spans) {
    if (page(a.linear) === page(cr2) || page(a.last) === page(cr2)) {
      const c = tryWalk(cr2, { write: a.write });
      if (c) return c;
    }
  }
  for (const a of spans) {
    const c = tryWalk(a.linear, { write: a.write }) ?? (page(a.last) !== page(a.linear) ? tryWalk(a.last & ~0xfffn, { write: a.write }) : undefined);
    if (c) return c;
  }
  // 3. Implicit supervisor accesses (descriptor tables, TSS) at CR2.
  for (const write of [false, true]) {
    const r = walk(mem, s.sregs, cr2, { write });
    if ('fault' in r) return { errorCode: r.errorCode, address: cr2 };
  }
  return undefined;
}

function pageFaultErrorCode(s: CpuState, mem: Uint8Array, instructionBytes: Uint8Array): number {
  // Nothing faults now (the tables changed since the fault): not present, U/S per CPL.
  return pageFaultInfo(s, mem, instructionBytes)?.errorCode ?? (currentPrivilegeLevel(s) === 3 ? 4 : 0);
}

/** For #GP/#NP/#SS/#TS raised by a segment load: the selector (EXT = 0, IDT = 0); otherwise 0. */
function segmentErrorCode(vector: number, s: CpuState, mem: Uint8Array, instructionBytes: Uint8Array): number {
  const user = currentPrivilegeLevel(s) === 3;
  let d: Decoded;
  try {
    d = decodeAt(s, mem, instructionBytes, user);
  } catch {
    return 0;
  }
  if (d.invalid) return 0;
  const readSel = (lin: bigint): number | undefined => {
    const r = walk(mem, s.sregs, linearMask(s, lin), { user });
    if ('fault' in r || r.physical + 1n >= BigInt(mem.length)) return undefined;
    const p = Number(r.physical);
    return mem[p] | (mem[p + 1] << 8);
  };
  const isSeg = (r: Register): boolean => RegisterExt.isSegmentRegister(r);
  let selector: number | undefined;
  let loadsSs = false;
  const mn = d.mnemonic;
  if (mn === Mnemonic.Mov && d.op0Kind === OpKind.Register && isSeg(d.op0Register)) {
    loadsSs = d.op0Register === Register.SS;
    selector = d.op1Kind === OpKind.Register ? Number(regValue(s, d.op1Register) & 0xffffn) : d.accesses[0] && readSel(d.accesses[0].linear);
  } else if (mn === Mnemonic.Pop && d.op0Kind === OpKind.Register && isSeg(d.op0Register)) {
    loadsSs = d.op0Register === Register.SS;
    selector = d.accesses[0] && readSel(d.accesses[0].linear);
  } else if ([Mnemonic.Lds, Mnemonic.Les, Mnemonic.Lfs, Mnemonic.Lgs, Mnemonic.Lss].includes(mn)) {
    loadsSs = mn === Mnemonic.Lss;
    const a = d.accesses[0];
    selector = a && readSel(a.linear + BigInt(a.size - 2));
  } else if (mn === Mnemonic.Jmp || mn === Mnemonic.Call) {
    if (d.op0Kind === OpKind.FarBranch16 || d.op0Kind === OpKind.FarBranch32) selector = d.farBranchSelector;
    else if (d.op0Kind === OpKind.Memory && isFarIndirect(d.code)) {
      const a = d.accesses.find((x) => !x.write);
      selector = a && readSel(a.linear + BigInt(a.size - 2));
    }
  } else if (mn === Mnemonic.Retf || mn === Mnemonic.Iret || mn === Mnemonic.Iretd || mn === Mnemonic.Iretq) {
    const a = d.accesses[1]; // [SP] = return offset, then CS
    selector = a && readSel(a.linear);
  } else if (mn === Mnemonic.Ltr || mn === Mnemonic.Lldt) {
    selector = d.op0Kind === OpKind.Register ? Number(regValue(s, d.op0Register) & 0xffffn) : d.accesses[0] && readSel(d.accesses[0].linear);
  }
  if (selector === undefined) return 0;
  if (vector === 12 && !loadsSs) return 0; // a stack fault not caused by loading SS is a limit fault: #SS(0)
  if (vector === 10) return 0;
  return selector & 0xfffc;
}

function isFarIndirect(code: Code): boolean {
  return [Code.Jmp_m1616, Code.Jmp_m1632, Code.Jmp_m1664, Code.Call_m1616, Code.Call_m1632, Code.Call_m1664].includes(code);
}

/** #CP error codes (SDM vol. 1 ch. 18, CET): 1 near RET, 2 far RET/IRET, 3 missing ENDBRANCH (the guess when neither). */
function controlProtectionErrorCode(s: CpuState, mem: Uint8Array, instructionBytes: Uint8Array): number {
  try {
    const d = decodeAt(s, mem, instructionBytes, currentPrivilegeLevel(s) === 3);
    if (d.mnemonic === Mnemonic.Ret) return 1;
    if (d.mnemonic === Mnemonic.Retf || d.mnemonic === Mnemonic.Iret || d.mnemonic === Mnemonic.Iretd || d.mnemonic === Mnemonic.Iretq) return 2;
  } catch {
    /* fall through */
  }
  return 3;
}
