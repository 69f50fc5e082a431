// Human-readable decoders for the CPU state a bare-metal guest developer inspects: flag registers,
// control registers, segments, raw GDT/IDT descriptors and page-table walks. All pure.
import type { Segment } from '../vmm/cpu-state';
import { CR0_PG, CR4_LA57, CR4_PAE, CR4_PSE, EFER_LMA, EFER_LME, EFER_NXE } from '../vmm/cpu-state';
import {
  descriptorAttributes, descriptorBase, descriptorLimit, gateIst, gateOffset, gateSelector, scaledLimit,
} from '../vmm/descriptor-fields';
import type { DescriptorAttributes } from '../vmm/descriptor-fields';

export interface DecodedField {
  name: string;
  /** '0'/'1' for single bits, decimal for small multi-bit fields, 0x… for addresses. */
  value: string;
  description: string;
  /** Lowest bit, for register bit fields. */
  bit?: number;
  width?: number;
}

interface BitDef {
  name: string;
  bit: number;
  width?: number;
  description: string;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const bitsOf = (v: bigint, bit: number, width = 1): bigint => (v >> BigInt(bit)) & ((1n << BigInt(width)) - 1n);

function decodeBits(value: bigint, defs: readonly BitDef[]): DecodedField[] {
  return defs.map((d) => ({
    name: d.name,
    value: bitsOf(value, d.bit, d.width).toString(),
    description: d.description,
    bit: d.bit,
    width: d.width ?? 1,
  }));
}

/** "PF ZF IF IOPL=3": the set single-bit fields and the non-zero wider ones, lowest bit first. */
export function summarizeFlags(fields: readonly DecodedField[]): string {
  return [...fields]
    .sort((a, b) => (a.bit ?? 0) - (b.bit ?? 0))
    .filter((f) => f.value !== '0')
    .map((f) => ((f.width ?? 1) > 1 ? `${f.name}=${f.value}` : f.name))
    .join(' ');
}

export const RFLAGS_BITS: readonly BitDef[] = [
  { name: 'CF', bit: 0, description: 'carry: unsigned overflow or borrow out of the last operation' },
  { name: 'PF', bit: 2, description: 'parity: low byte of the result has an even number of 1 bits' },
  { name: 'AF', bit: 4, description: 'auxiliary carry: carry out of bit 3 (BCD arithmetic)' },
  { name: 'ZF', bit: 6, description: 'zero: the result was zero' },
  { name: 'SF', bit: 7, description: 'sign: the most significant bit of the result' },
  { name: 'TF', bit: 8, description: 'trap: single-step, #DB after each instruction' },
  { name: 'IF', bit: 9, description: 'interrupt enable: maskable external interrupts are accepted' },
  { name: 'DF', bit: 10, description: 'direction: string instructions decrement (STD) instead of increment' },
  { name: 'OF', bit: 11, description: 'overflow: signed result did not fit' },
  { name: 'IOPL', bit: 12, width: 2, description: 'I/O privilege level: highest CPL allowed IN/OUT/CLI/STI' },
  { name: 'NT', bit: 14, description: 'nested task: IRET returns to the previous task' },
  { name: 'RF', bit: 16, description: 'resume: suppresses instruction breakpoints for one instruction' },
  { name: 'VM', bit: 17, description: 'virtual-8086 mode' },
  { name: 'AC', bit: 18, description: 'alignment check (or SMAP override with STAC/CLAC)' },
  { name: 'VIF', bit: 19, description: 'virtual interrupt flag (VME/PVI)' },
  { name: 'VIP', bit: 20, description: 'virtual interrupt pending (VME/PVI)' },
  { name: 'ID', bit: 21, description: 'CPUID available: software can toggle this bit' },
];

export const CR0_BITS: readonly BitDef[] = [
  { name: 'PE', bit: 0, description: 'protection enable: protected mode' },
  { name: 'MP', bit: 1, description: 'monitor coprocessor: WAIT/FWAIT honours TS' },
  { name: 'EM', bit: 2, description: 'emulation: x87/SSE instructions raise #UD/#NM' },
  { name: 'TS', bit: 3, description: 'task switched: next FPU/SSE use raises #NM (lazy save)' },
  { name: 'ET', bit: 4, description: 'extension type: 387 coprocessor (always 1)' },
  { name: 'NE', bit: 5, description: 'numeric error: x87 errors raise #MF instead of IRQ13' },
  { name: 'WP', bit: 16, description: 'write protect: supervisor writes honour read-only pages' },
  { name: 'AM', bit: 18, description: 'alignment mask: allows EFLAGS.AC checks at CPL 3' },
  { name: 'NW', bit: 29, description: 'not write-through (cache control)' },
  { name: 'CD', bit: 30, description: 'cache disable' },
  { name: 'PG', bit: 31, description: 'paging enabled' },
];

export const CR4_BITS: readonly BitDef[] = [
  { name: 'VME', bit: 0, description: 'virtual-8086 mode extensions' },
  { name: 'PVI', bit: 1, description: 'protected-mode virtual interrupts' },
  { name: 'TSD', bit: 2, description: 'time stamp disable: RDTSC only at CPL 0' },
  { name: 'DE', bit: 3, description: 'debugging extensions: DR4/DR5 fault, I/O breakpoints' },
  { name: 'PSE', bit: 4, description: 'page size extension: 4 MiB pages in 32-bit paging' },
  { name: 'PAE', bit: 5, description: 'physical address extension: 64-bit page-table entries (needed for long mode)' },
  { name: 'MCE', bit: 6, description: 'machine-check exception enabled' },
  { name: 'PGE', bit: 7, description: 'page global enable: G pages survive CR3 reloads' },
  { name: 'PCE', bit: 8, description: 'RDPMC allowed at any CPL' },
  { name: 'OSFXSR', bit: 9, description: 'OS supports FXSAVE/FXRSTOR: SSE enabled' },
  { name: 'OSXMMEXCPT', bit: 10, description: 'OS handles SIMD floating-point exceptions (#XM)' },
  { name: 'UMIP', bit: 11, description: 'user-mode instruction prevention: SGDT/SIDT/… fault at CPL > 0' },
  { name: 'LA57', bit: 12, description: '5-level paging (57-bit linear addresses)' },
  { name: 'VMXE', bit: 13, description: 'VMX (Intel virtualization) enabled' },
  { name: 'SMXE', bit: 14, description: 'safer mode extensions enabled' },
  { name: 'FSGSBASE', bit: 16, description: 'RDFSBASE/WRFSBASE/RDGSBASE/WRGSBASE enabled' },
  { name: 'PCIDE', bit: 17, description: 'process-context identifiers in CR3 bits 11:0' },
  { name: 'OSXSAVE', bit: 18, description: 'XSAVE and XGETBV/XSETBV enabled' },
  { name: 'SMEP', bit: 20, description: 'supervisor-mode execution prevention' },
  { name: 'SMAP', bit: 21, description: 'supervisor-mode access prevention' },
  { name: 'PKE', bit: 22, description: 'protection keys for user pages' },
  { name: 'CET', bit: 23, description: 'control-flow enforcement technology' },
];

export const EFER_BITS: readonly BitDef[] = [
  { name: 'SCE', bit: 0, description: 'SYSCALL/SYSRET enabled' },
  { name: 'LME', bit: 8, description: 'long mode enable (takes effect when paging is enabled)' },
  { name: 'LMA', bit: 10, description: 'long mode active (set by the CPU)' },
  { name: 'NXE', bit: 11, description: 'no-execute enable: page-table bit 63 is NX' },
  { name: 'SVME', bit: 12, description: 'SVM (AMD virtualization) enabled' },
  { name: 'LMSLE', bit: 13, description: 'long mode segment limit enable (AMD)' },
  { name: 'FFXSR', bit: 14, description: 'fast FXSAVE/FXRSTOR (AMD)' },
  { name: 'TCE', bit: 15, description: 'translation cache extension (AMD)' },
];

export const decodeRflags = (v: bigint): DecodedField[] => decodeBits(v, RFLAGS_BITS);
export const decodeCr0 = (v: bigint): DecodedField[] => decodeBits(v, CR0_BITS);
export const decodeCr4 = (v: bigint): DecodedField[] => decodeBits(v, CR4_BITS);
export const decodeEfer = (v: bigint): DecodedField[] => decodeBits(v, EFER_BITS);

/** CR3: the top-level table address and, depending on CR4.PCIDE, the PCID or the PWT/PCD bits. */
export function decodeCr3(cr3: bigint, cr4 = 0n): DecodedField[] {
  const base: DecodedField = { name: 'base', value: hex(cr3 & 0x000ffffffffff000n), description: 'physical address of the top-level page table' };
  if (cr4 & (1n << 17n)) return [base, { name: 'PCID', value: bitsOf(cr3, 0, 12).toString(), description: 'process-context identifier', bit: 0, width: 12 }];
  return [
    base,
    { name: 'PWT', value: bitsOf(cr3, 3).toString(), description: 'page-level write-through for the top-level table', bit: 3, width: 1 },
    { name: 'PCD', value: bitsOf(cr3, 4).toString(), description: 'page-level cache disable for the top-level table', bit: 4, width: 1 },
  ];
}

// ---- segments and descriptors ----

export interface SegmentInfo {
  kind: 'code' | 'data' | 'system' | 'unusable';
  /** e.g. "code, execute/read, accessed" or "64-bit TSS (busy)". */
  typeName: string;
  /** Default operand size of code/data segments. */
  bitness?: 16 | 32 | 64;
  summary: string;
  fields: DecodedField[];
}

export interface DescriptorInfo extends SegmentInfo, DescriptorAttributes {
  base: bigint;
  /** The raw 20-bit limit. */
  limit: number;
  /** The last valid offset, with granularity applied. */
  effectiveLimit: number;
  /** Gates only: the target selector and offset. */
  selector?: number;
  offset?: bigint;
}

const LEGACY_SYSTEM_TYPES: Record<number, string> = {
  0x1: '16-bit TSS (available)', 0x2: 'LDT', 0x3: '16-bit TSS (busy)', 0x4: '16-bit call gate',
  0x5: 'task gate', 0x6: '16-bit interrupt gate', 0x7: '16-bit trap gate', 0x9: '32-bit TSS (available)',
  0xb: '32-bit TSS (busy)', 0xc: '32-bit call gate', 0xe: '32-bit interrupt gate', 0xf: '32-bit trap gate',
};
const LONG_SYSTEM_TYPES: Record<number, string> = {
  0x2: 'LDT', 0x9: '64-bit TSS (available)', 0xb: '64-bit TSS (busy)', 0xc: '64-bit call gate',
  0xe: '64-bit interrupt gate', 0xf: '64-bit trap gate',
};
const isGate = (type: number): boolean => [0x4, 0x5, 0x6, 0x7, 0xc, 0xe, 0xf].includes(type);

/** The type nibble in words: code/data attributes, or the system descriptor kind. */
export function segmentTypeName(type: number, s: number, longMode = false): string {
  if (!s) return (longMode ? LONG_SYSTEM_TYPES : LEGACY_SYSTEM_TYPES)[type] ?? `reserved system type ${hex(type)}`;
  const parts =
    type & 8
      ? ['code', type & 2 ? 'execute/read' : 'execute-only', ...(type & 4 ? ['conforming'] : [])]
      : ['data', type & 2 ? 'read/write' : 'read-only', ...(type & 4 ? ['expand-down'] : [])];
  if (type & 1) parts.push('accessed');
  return parts.join(', ');
}

function classify(a: DescriptorAttributes, longMode: boolean): Pick<SegmentInfo, 'kind' | 'typeName' | 'bitness'> {
  const typeName = segmentTypeName(a.type, a.s, longMode);
  if (!a.s) return { kind: 'system', typeName };
  const code = (a.type & 8) !== 0;
  const bitness = code && a.l ? 64 : a.db ? 32 : 16;
  return { kind: code ? 'code' : 'data', typeName, bitness };
}

function attrFields(a: DescriptorAttributes, typeName: string): DecodedField[] {
  const f = (name: string, value: number, description: string): DecodedField => ({ name, value: String(value), description });
  return [
    { name: 'type', value: hex(a.type), description: typeName },
    f('S', a.s, a.s ? 'code or data segment' : 'system segment or gate'),
    f('DPL', a.dpl, 'descriptor privilege level'),
    f('P', a.present, a.present ? 'present' : 'not present: loading it raises #NP'),
    f('AVL', a.avl, 'available to software'),
    f('L', a.l, a.l ? '64-bit code segment' : 'not a 64-bit code segment'),
    f('D/B', a.db, a.db ? '32-bit default operand size / stack' : '16-bit default operand size / stack'),
    f('G', a.g, a.g ? 'limit counts 4 KiB units' : 'limit counts bytes'),
  ];
}

function headline(a: DescriptorAttributes, c: Pick<SegmentInfo, 'kind' | 'typeName' | 'bitness'>): string {
  const what = c.kind === 'system' ? c.typeName : `${c.kind} ${c.bitness}-bit`;
  return `${what} DPL${a.dpl} ${a.present ? 'present' : 'not present'}`;
}

/** Selector → "index 3, GDT, RPL 0". */
export function describeSelector(selector: number): string {
  return `index ${selector >> 3}, ${selector & 4 ? 'LDT' : 'GDT'}, RPL ${selector & 3}`;
}

/** A segment register as KVM reports it (limit already in bytes, hidden part included). */
export function decodeSegment(seg: Segment, options: { longMode?: boolean } = {}): SegmentInfo {
  const c = classify(seg, options.longMode ?? false);
  const fields: DecodedField[] = [
    { name: 'selector', value: hex(seg.selector), description: describeSelector(seg.selector) },
    { name: 'base', value: hex(seg.base), description: 'linear address of offset 0' },
    { name: 'limit', value: hex(seg.limit), description: 'last valid offset (bytes)' },
    ...attrFields(seg, c.typeName),
    { name: 'unusable', value: String(seg.unusable), description: seg.unusable ? 'null or unusable: accesses fault' : 'usable' },
  ];
  if (seg.unusable) return { kind: 'unusable', typeName: c.typeName, summary: `unusable (selector ${hex(seg.selector)})`, fields };
  return { ...c, summary: `${headline(seg, c)} base ${hex(seg.base)} limit ${hex(seg.limit)}`, fields };
}

function decode(low: bigint, high: bigint | undefined): DescriptorInfo {
  low = BigInt.asUintN(64, low);
  const a = descriptorAttributes(low);
  const longMode = high !== undefined;
  const c = classify(a, longMode);
  if (!a.s && isGate(a.type)) {
    // Gates hold a selector:offset, not a base/limit.
    const selector = gateSelector(low);
    // A task gate has no entry point: its low offset bits are not read.
    const offset = gateOffset(a.type === 0x5 ? 0n : low, high);
    const fields: DecodedField[] = [
      { name: 'selector', value: hex(selector), description: describeSelector(selector) },
      { name: 'offset', value: hex(offset), description: a.type === 0x5 ? 'unused by task gates' : 'entry point' },
      ...attrFields(a, c.typeName),
    ];
    if (!longMode && (a.type === 0x4 || a.type === 0xc)) fields.push({ name: 'params', value: String(bitsOf(low, 32, 5)), description: 'stack parameters copied' });
    if (longMode && a.type !== 0xc) fields.push({ name: 'IST', value: String(gateIst(low)), description: 'interrupt stack table slot (0 = none)' });
    return {
      ...c, ...a, base: 0n, limit: 0, effectiveLimit: 0, selector, offset, fields,
      summary: `${c.typeName} → ${hex(selector)}:${hex(offset)} DPL${a.dpl} ${a.present ? 'present' : 'not present'}`,
    };
  }
  let base = descriptorBase(low);
  if (high !== undefined && !a.s) base |= bitsOf(high, 0, 32) << 32n;
  const limit = descriptorLimit(low);
  const effectiveLimit = scaledLimit(limit, a.g);
  const fields: DecodedField[] = [
    { name: 'base', value: hex(base), description: 'linear address of offset 0' },
    { name: 'limit', value: hex(limit), description: a.g ? `4 KiB units: last offset ${hex(effectiveLimit)}` : 'bytes: last valid offset' },
    ...attrFields(a, c.typeName),
  ];
  const summary = `${headline(a, c)} base ${hex(base)} limit ${hex(limit)} (${a.g ? '4 KiB units' : 'bytes'})`;
  return { ...c, ...a, base, limit, effectiveLimit, fields, summary };
}

/** A raw 8-byte GDT/LDT/IDT entry (legacy layout; system types named as in 32-bit mode). */
export function decodeDescriptor(qword: bigint): DescriptorInfo {
  return decode(qword, undefined);
}

/**
 * A 16-byte long-mode system descriptor (TSS, LDT, 64-bit gates): `low` at the lower address.
 * Code/data descriptors stay 8 bytes; for those `high` is ignored.
 */
export function decodeSystemDescriptor64(low: bigint, high: bigint): DescriptorInfo {
  return decode(low, BigInt.asUintN(64, high));
}

// ---- page walks ----

export type PagingMode = 'none' | '32-bit' | 'PAE' | '4-level' | '5-level';
export type PageLevel = 'PML5' | 'PML4' | 'PDPT' | 'PD' | 'PT';

export interface PageWalkStep {
  level: PageLevel;
  index: number;
  tableAddress: bigint;
  entryAddress: bigint;
  /** Undefined when the entry could not be read. */
  entry?: bigint;
  /** Set flags among P RW US PWT PCD A D PS PAT G NX (D and G only on leaf entries). */
  flags: string[];
  /** This entry maps a page (rather than pointing at a table). */
  leaf: boolean;
  /** The next table's address, or the page frame for a leaf. */
  next?: bigint;
  pageSize?: bigint;
}

export interface PageWalk {
  mode: PagingMode;
  linear: bigint;
  steps: PageWalkStep[];
  /** The translation, when the walk succeeds. */
  physical?: bigint;
  pageSize?: bigint;
  /** Why the walk stopped, when it failed. */
  fault?: string;
  /** Effective permissions of the whole path (success only). */
  access?: { writable: boolean; user: boolean; executable: boolean };
}

export type ReadPhys = (address: bigint) => bigint | undefined;

export interface WalkOptions {
  /** The guest's MAXPHYADDR; bits above it are reserved in entries. Default 52 (no check). */
  maxPhyAddr?: number;
}

const range = (hi: number, lo: number): bigint => (hi < lo ? 0n : ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo));

function entryFlags(e: bigint, leaf: boolean, atPt: boolean, large: boolean, nx: boolean): string[] {
  const out: string[] = [];
  const bit = (n: number): boolean => ((e >> BigInt(n)) & 1n) === 1n;
  (['P', 'RW', 'US', 'PWT', 'PCD', 'A'] as const).forEach((name, i) => bit(i) && out.push(name));
  if (leaf && bit(6)) out.push('D');
  if (bit(7)) out.push(atPt ? 'PAT' : 'PS');
  if (leaf && bit(8)) out.push('G');
  if (large && bit(12)) out.push('PAT');
  if (nx && bit(63)) out.push('NX');
  return out;
}

const SIZE_NAMES: Record<string, string> = { '4096': '4 KiB', '2097152': '2 MiB', '4194304': '4 MiB', '1073741824': '1 GiB' };
export const pageSizeName = (size: bigint): string => SIZE_NAMES[size.toString()] ?? `${size} bytes`;

/**
 * Translates `linear` the way the MMU would with these control registers, recording every table
 * entry read. Paging off → identity (32-bit). Long mode (4- or 5-level, 1 GiB / 2 MiB / 4 KiB pages),
 * PAE (3-level) and 32-bit paging (4 MiB pages with CR4.PSE, PSE-36 high bits) are supported.
 */
export function walkPages(
  cr3: bigint, cr4: bigint, efer: bigint, cr0: bigint, linear: bigint,
  readPhys64: ReadPhys, readPhys32: ReadPhys, options: WalkOptions = {},
): PageWalk {
  const maxPhy = options.maxPhyAddr ?? 52;
  linear = BigInt.asUintN(64, linear);
  if (!(cr0 & CR0_PG)) {
    const physical = BigInt.asUintN(32, linear);
    return { mode: 'none', linear, steps: [], physical, access: { writable: true, user: true, executable: true } };
  }
  const long = (efer & EFER_LMA) !== 0n || ((efer & EFER_LME) !== 0n && (cr4 & CR4_PAE) !== 0n);
  if (!long && !(cr4 & CR4_PAE)) return walk32(cr3, cr4, BigInt.asUintN(32, linear), readPhys32, maxPhy);

  const nxe = (efer & EFER_NXE) !== 0n;
  let mode: PagingMode;
  let levels: PageLevel[];
  let table: bigint;
  if (long) {
    const five = (cr4 & CR4_LA57) !== 0n;
    mode = five ? '5-level' : '4-level';
    levels = five ? ['PML5', 'PML4', 'PDPT', 'PD', 'PT'] : ['PML4', 'PDPT', 'PD', 'PT'];
    const top = five ? 56 : 47;
    const upper = linear >> BigInt(top);
    if (upper !== 0n && upper !== (1n << BigInt(64 - top)) - 1n)
      return { mode, linear, steps: [], fault: `${hex(linear)} is not canonical: bits 63:${top} must all equal bit ${top}` };
    table = cr3 & range(maxPhy - 1, 12);
  } else {
    mode = 'PAE';
    levels = ['PDPT', 'PD', 'PT'];
    linear = BigInt.asUintN(32, linear);
    table = cr3 & 0xffffffe0n;
  }
  const shifts: Record<PageLevel, number> = { PML5: 48, PML4: 39, PDPT: 30, PD: 21, PT: 12 };
  const addrBits = range(maxPhy - 1, 12);
  const steps: PageWalkStep[] = [];
  let writable = true;
  let user = true;
  let executable = true;
  for (const level of levels) {
    const shift = shifts[level];
    const index = Number((linear >> BigInt(shift)) & (mode === 'PAE' && level === 'PDPT' ? 3n : 0x1ffn));
    const entryAddress = table + BigInt(index * 8);
    const entry = readPhys64(entryAddress);
    const step: PageWalkStep = { level, index, tableAddress: table, entryAddress, flags: [], leaf: false };
    steps.push(step);
    if (entry === undefined) return { mode, linear, steps, fault: `cannot read the ${level} entry at ${hex(entryAddress)}: not in guest memory` };
    step.entry = entry;
    const paePdpt = mode === 'PAE' && level === 'PDPT';
    const ps = ((entry >> 7n) & 1n) === 1n && !paePdpt;
    const leaf = level === 'PT' || (ps && (level === 'PD' || level === 'PDPT'));
    step.leaf = leaf;
    step.flags = entryFlags(entry, leaf, level === 'PT', leaf && level !== 'PT', !paePdpt && nxe);
    if (!(entry & 1n)) return { mode, linear, steps, fault: `${level} entry ${index} is not present` };

    // Reserved bits: above MAXPHYADDR, NX without EFER.NXE, PS where no large page exists, and the
    // low bits of a large page's frame.
    let reserved = mode === 'PAE' ? range(62, maxPhy) : range(51, maxPhy);
    if (!nxe || paePdpt) reserved |= 1n << 63n;
    if (paePdpt) reserved |= range(2, 1) | range(8, 5);
    if (level === 'PML5' || level === 'PML4') reserved |= 1n << 7n;
    if (leaf && level === 'PDPT') reserved |= range(29, 13);
    if (leaf && level === 'PD') reserved |= range(20, 13);
    if (entry & reserved)
      return { mode, linear, steps, fault: `${level} entry ${index} has reserved bits set (${hex(entry & reserved)})` };

    if (!paePdpt) {
      writable &&= (entry & 2n) !== 0n;
      user &&= (entry & 4n) !== 0n;
      if (nxe && entry >> 63n) executable = false;
    }
    if (leaf) {
      const size = 1n << BigInt(shift);
      const frame = entry & addrBits & ~(size - 1n);
      step.next = frame;
      step.pageSize = size;
      return { mode, linear, steps, physical: frame | (linear & (size - 1n)), pageSize: size, access: { writable, user, executable } };
    }
    table = entry & addrBits;
    step.next = table;
  }
  throw new Error('unreachable: the PT level is always a leaf');
}

function walk32(cr3: bigint, cr4: bigint, linear: bigint, read: ReadPhys, maxPhy: number): PageWalk {
  const mode: PagingMode = '32-bit';
  const steps: PageWalkStep[] = [];
  const pdBase = cr3 & 0xfffff000n;
  const pdIndex = Number(linear >> 22n);
  const pdeAddr = pdBase + BigInt(pdIndex * 4);
  const pdeStep: PageWalkStep = { level: 'PD', index: pdIndex, tableAddress: pdBase, entryAddress: pdeAddr, flags: [], leaf: false };
  steps.push(pdeStep);
  const pde = read(pdeAddr);
  if (pde === undefined) return { mode, linear, steps, fault: `cannot read the PD entry at ${hex(pdeAddr)}: not in guest memory` };
  const large = (cr4 & CR4_PSE) !== 0n && ((pde >> 7n) & 1n) === 1n;
  Object.assign(pdeStep, { entry: pde, leaf: large, flags: entryFlags(pde, large, false, large, false) });
  if (!(pde & 1n)) return { mode, linear, steps, fault: `PD entry ${pdIndex} is not present` };
  if (large) {
    // PSE-36: bits 20:13 give physical address bits 39:32; bit 21 and bits beyond MAXPHYADDR are reserved.
    const reserved = (1n << 21n) | range(20, 13 + Math.min(maxPhy, 40) - 32);
    if (pde & reserved) return { mode, linear, steps, fault: `PD entry ${pdIndex} has reserved bits set (${hex(pde & reserved)})` };
    const frame = (pde & 0xffc00000n) | (bitsOf(pde, 13, 8) << 32n);
    const size = 1n << 22n;
    Object.assign(pdeStep, { next: frame, pageSize: size });
    return { mode, linear, steps, physical: frame | (linear & (size - 1n)), pageSize: size, access: { writable: (pde & 2n) !== 0n, user: (pde & 4n) !== 0n, executable: true } };
  }
  const ptBase = pde & 0xfffff000n;
  pdeStep.next = ptBase;
  const ptIndex = Number((linear >> 12n) & 0x3ffn);
  const pteAddr = ptBase + BigInt(ptIndex * 4);
  const pteStep: PageWalkStep = { level: 'PT', index: ptIndex, tableAddress: ptBase, entryAddress: pteAddr, flags: [], leaf: true };
  steps.push(pteStep);
  const pte = read(pteAddr);
  if (pte === undefined) return { mode, linear, steps, fault: `cannot read the PT entry at ${hex(pteAddr)}: not in guest memory` };
  Object.assign(pteStep, { entry: pte, flags: entryFlags(pte, true, true, false, false) });
  if (!(pte & 1n)) return { mode, linear, steps, fault: `PT entry ${ptIndex} is not present` };
  const frame = pte & 0xfffff000n;
  Object.assign(pteStep, { next: frame, pageSize: 4096n });
  return {
    mode, linear, steps, physical: frame | (linear & 0xfffn), pageSize: 4096n,
    access: { writable: (pde & pte & 2n) !== 0n, user: (pde & pte & 4n) !== 0n, executable: true },
  };
}

/** The walk as text lines for the debug console. */
export function explainWalk(w: PageWalk): string[] {
  const lines = [w.mode === 'none' ? `paging disabled: linear ${hex(w.linear)} is physical` : `${w.mode} paging, linear ${hex(w.linear)}`];
  for (const s of w.steps) {
    let line = `${s.level}[${s.index}] @${hex(s.entryAddress)}`;
    if (s.entry !== undefined) line += ` = ${hex(s.entry)}${s.flags.length ? ` ${s.flags.join(' ')}` : ''}`;
    if (s.next !== undefined) line += s.leaf ? ` → ${pageSizeName(s.pageSize ?? 0n)} page ${hex(s.next)}` : ` → table ${hex(s.next)}`;
    lines.push(line);
  }
  if (w.fault) lines.push(`stop: ${w.fault}`);
  else if (w.physical !== undefined && w.mode !== 'none') {
    const a = w.access;
    const perms = a ? ` (${a.writable ? 'writable' : 'read-only'}, ${a.user ? 'user' : 'supervisor'}${a.executable ? '' : ', no-execute'})` : '';
    lines.push(`physical ${hex(w.physical)}${perms}`);
  }
  return lines;
}
