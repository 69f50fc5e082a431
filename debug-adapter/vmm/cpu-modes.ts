// The documented initial CPU state of each mode, and the tables (GDT, TSS, page tables) it needs in
// guest memory. writeModeTables() runs where guest memory is written; initialState() is pure.
import type { CpuMode } from '../toolchain/modes';
import type { Regs, Segment, SRegs } from './cpu-state';
import { CR0_ET, CR0_MP, CR0_NE, CR0_PE, CR0_PG, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, CR4_PSE, EFER_LMA, EFER_LME } from './cpu-state';
import * as L from './guest-layout';

export const RFLAGS_FIXED = 0x2n;

/** Where execution starts: a linear address, or CS:IP in real mode. */
export type EntryPoint = { kind: 'linear'; address: number } | { kind: 'real'; segment: number; offset: number };

export function describeEntry(e: EntryPoint): string {
  return e.kind === 'real'
    ? `${e.segment.toString(16).padStart(4, '0')}:${e.offset.toString(16).padStart(4, '0')}`
    : L.hex(e.address);
}

/** A GDT descriptor (8 bytes) from base, limit (20 bits) and the 16 flag bits (access byte + G/DB/L/AVL). */
export function gdtEntry(flags: number, base: number, limit: number): bigint {
  const b = BigInt(base >>> 0);
  const l = BigInt(limit >>> 0);
  const f = BigInt(flags);
  return (
    ((b & 0xff000000n) << 32n) |
    ((f & 0xf0ffn) << 40n) |
    ((l & 0xf0000n) << 32n) |
    ((b & 0x00ffffffn) << 16n) |
    (l & 0xffffn)
  );
}

const GDT_CODE32 = gdtEntry(0xc09b, 0, 0xfffff);
const GDT_DATA = gdtEntry(0xc093, 0, 0xfffff);
const GDT_CODE64 = gdtEntry(0xa09b, 0, 0xfffff);
const GDT_TSS = gdtEntry(0x008b, L.TSS_ADDR, L.TSS_LIMIT);

/** Writes the monitor's structures for `mode` into guest memory (a view over all of it). */
export function writeModeTables(mem: DataView, mode: CpuMode): void {
  if (mode === 'real') return; // real mode needs nothing but its stack
  const gdt = [0n, GDT_CODE32, GDT_DATA, GDT_CODE64, GDT_TSS, 0n /* upper half of a 64-bit TSS descriptor */];
  gdt.forEach((e, i) => mem.setBigUint64(L.GDT_ADDR + i * 8, e, true));
  for (let i = 0; i < 0x68; i++) mem.setUint8(L.TSS_ADDR + i, 0);
  mem.setUint16(L.TSS_ADDR + 0x66, 0x68, true); // I/O map base beyond the limit: no I/O bitmap

  if (mode === 'long') {
    zero(mem, L.PML4_ADDR, L.PD64_ADDR + L.PD64_COUNT * 0x1000);
    mem.setBigUint64(L.PML4_ADDR, BigInt(L.PDPT_ADDR) | 0x3n, true);
    for (let i = 0; i < L.PD64_COUNT; i++) {
      const pd = L.PD64_ADDR + i * 0x1000;
      mem.setBigUint64(L.PDPT_ADDR + i * 8, BigInt(pd) | 0x3n, true);
      for (let j = 0; j < 512; j++) {
        const phys = (BigInt(i) << 30n) | (BigInt(j) << 21n);
        mem.setBigUint64(pd + j * 8, phys | 0x83n, true); // present, writable, 2 MiB page
      }
    }
  } else if (mode === 'paged32') {
    for (let i = 0; i < 1024; i++) mem.setUint32(L.PD32_ADDR + i * 4, ((i << 22) | 0x83) >>> 0, true); // 4 MiB pages
  }
}

function zero(mem: DataView, start: number, end: number): void {
  new Uint8Array(mem.buffer, mem.byteOffset + start, end - start).fill(0);
}

function flatSegment(selector: number, code: boolean, long = false): Segment {
  return {
    base: 0n,
    limit: 0xffffffff,
    selector,
    type: code ? 0xb : 0x3,
    present: 1,
    dpl: 0,
    db: long ? 0 : 1,
    s: 1,
    l: long ? 1 : 0,
    g: 1,
    avl: 0,
    unusable: 0,
  };
}

function realSegment(selector: number, code: boolean): Segment {
  return {
    base: BigInt(selector) << 4n,
    limit: 0xffff,
    selector,
    type: code ? 0xb : 0x3,
    present: 1,
    dpl: 0,
    db: 0,
    s: 1,
    l: 0,
    g: 0,
    avl: 0,
    unusable: 0,
  };
}

/**
 * The initial state for `mode`, starting from KVM's reset state `base` (which carries fields we keep,
 * such as apic_base). Real mode: CS:IP = entry, DS=ES=FS=GS=0, SS:SP = 9800:8000. Flat modes: the
 * monitor's GDT, CS 0x08 (0x18 in long mode), data 0x10, ESP/RSP = 0xA0000, EBX/RBX = the start_info
 * address, empty IDT, IF = 0.
 */
export function initialState(mode: CpuMode, entry: EntryPoint, base: SRegs): { regs: Regs; sregs: SRegs } {
  const regs: Regs = {
    rax: 0n, rbx: 0n, rcx: 0n, rdx: 0n, rsi: 0n, rdi: 0n, rsp: 0n, rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: 0n, rflags: RFLAGS_FIXED,
  };
  const sregs: SRegs = structuredClone(base);
  if (mode === 'real') {
    if (entry.kind !== 'real') throw new Error('real mode needs a CS:IP entry point');
    sregs.cs = realSegment(entry.segment, true);
    for (const s of ['ds', 'es', 'fs', 'gs'] as const) sregs[s] = realSegment(0, false);
    sregs.ss = realSegment(L.REAL_STACK_SEGMENT, false);
    sregs.cr0 = (sregs.cr0 & ~(CR0_PE | CR0_PG)) | CR0_ET;
    sregs.cr4 = 0n;
    sregs.efer = 0n;
    sregs.idt = { base: 0n, limit: 0x3ff };
    regs.rip = BigInt(entry.offset);
    regs.rsp = BigInt(L.REAL_STACK_POINTER);
    return { regs, sregs };
  }
  if (entry.kind !== 'linear') throw new Error(`${mode} mode needs a linear entry address`);
  const long = mode === 'long';
  sregs.cs = flatSegment(long ? L.SEL_CODE64 : L.SEL_CODE32, true, long);
  for (const s of ['ds', 'es', 'fs', 'gs', 'ss'] as const) sregs[s] = flatSegment(L.SEL_DATA, false);
  sregs.tr = {
    base: BigInt(L.TSS_ADDR), limit: L.TSS_LIMIT, selector: L.SEL_TSS, type: 0xb, present: 1, dpl: 0,
    db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0,
  };
  sregs.gdt = { base: BigInt(L.GDT_ADDR), limit: L.GDT_LIMIT };
  sregs.idt = { base: 0n, limit: 0 }; // any exception triple-faults: the guest sees it, we report it
  sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_MP;
  sregs.cr2 = 0n;
  sregs.cr3 = 0n;
  sregs.cr4 = 0n;
  sregs.efer = 0n;
  if (mode === 'paged32') {
    sregs.cr0 |= CR0_PG;
    sregs.cr3 = BigInt(L.PD32_ADDR);
    sregs.cr4 = CR4_PSE;
  } else if (long) {
    sregs.cr0 |= CR0_PG;
    sregs.cr3 = BigInt(L.PML4_ADDR);
    sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    sregs.efer = EFER_LME | EFER_LMA;
  }
  regs.rip = BigInt(entry.address);
  regs.rsp = BigInt(L.STACK_TOP);
  regs.rbx = BigInt(L.START_INFO_ADDR); // the machine description (start-info.ts)
  return { regs, sregs };
}

/** The default entry point of a mode when the user gives none. */
export function defaultEntry(mode: CpuMode, loadAddress: number, elfEntry?: number): EntryPoint {
  if (mode === 'real') {
    if (loadAddress === L.RESET_LOAD_ADDRESS) return { kind: 'real', segment: L.RESET_SEGMENT, offset: L.RESET_OFFSET };
    if (loadAddress % 16 !== 0 || loadAddress > 0xffff0)
      throw new RangeError(`cannot derive a real-mode CS:IP for load address ${L.hex(loadAddress)}: give --entry SEG:OFF`);
    return { kind: 'real', segment: loadAddress >> 4, offset: 0 };
  }
  return { kind: 'linear', address: elfEntry ?? loadAddress };
}

/** Parses "--entry": "SEG:OFF" (hex) for real mode or an address. */
export function parseEntry(text: string, mode: CpuMode): EntryPoint {
  const m = /^\s*(?:0x)?([0-9a-f]{1,4})\s*:\s*(?:0x)?([0-9a-f]{1,4})\s*$/i.exec(text);
  if (m) {
    if (mode !== 'real') throw new RangeError(`entry '${text}' is a SEG:OFF pair, which only real mode takes; give a linear address for ${mode} mode`);
    return { kind: 'real', segment: parseInt(m[1], 16), offset: parseInt(m[2], 16) };
  }
  const address = parseAddress(text, 'entry');
  if (mode === 'real') {
    if (address > 0xfffff) throw new RangeError(`real-mode entry ${L.hex(address)} is above 1 MiB`);
    return { kind: 'real', segment: (address >> 4) & 0xf000, offset: address - ((address >> 4) & 0xf000) * 16 };
  }
  return { kind: 'linear', address };
}

/** Parses an address: hex with 0x, or decimal. */
export function parseAddress(text: string, what: string): number {
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`invalid ${what} '${text}': use a hex (0x…) or decimal address`);
  return v;
}
