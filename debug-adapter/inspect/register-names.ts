// Every register spelling a user may type (with or without '%', any case) and where it lives in
// the kvm_regs / kvm_sregs snapshots, so the REPL, watch, hover and setVariable agree on aliasing.
import { REG_NAMES, RegName, SEGMENT_NAMES, SegmentName } from '../vmm/cpu-state';
import type { Regs, Segment, SRegs } from '../vmm/cpu-state';

export type ControlStorage = 'cr0' | 'cr2' | 'cr3' | 'cr4' | 'cr8' | 'efer' | 'apic_base';
export type TableStorage = 'gdt' | 'idt';
export type RegisterStorage = RegName | SegmentName | ControlStorage | TableStorage;
export type SegmentField = keyof Segment;

/** Where a register name lives: `bits` bits at `shift` of `storage` (of `field` for segments/tables). */
export interface RegisterLocation {
  /** The canonical spelling: lower case, no '%' ('eax', 'cs.base'). */
  name: string;
  storage: RegisterStorage;
  /** For segments: the kvm_segment member ('selector' for a bare 'cs'); for gdt/idt: 'base' or 'limit'. */
  field?: SegmentField;
  shift: number;
  bits: number;
}

const GPR = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp'] as const;
const LEGACY = ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'sp', 'bp'] as const;
const CONTROL: readonly ControlStorage[] = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'];
/** kvm_segment members and their widths, reachable as 'cs.base', 'ss.dpl', … */
const SEGMENT_FIELDS: ReadonlyArray<readonly [SegmentField, number]> = [
  ['selector', 16], ['base', 64], ['limit', 32], ['type', 4], ['present', 1], ['dpl', 2], ['db', 1],
  ['s', 1], ['l', 1], ['g', 1], ['avl', 1], ['unusable', 1],
];

const TABLE = new Map<string, RegisterLocation>();

function add(name: string, storage: RegisterStorage, bits: number, shift = 0, field?: SegmentField): void {
  TABLE.set(name, { name, storage, bits, shift, ...(field ? { field } : {}) });
}

GPR.forEach((r64, i) => {
  const x = LEGACY[i];
  add(r64, r64, 64);
  add(`e${x}`, r64, 32);
  add(x, r64, 16);
});
for (const c of ['a', 'b', 'c', 'd']) {
  add(`${c}l`, `r${c}x` as RegName, 8);
  add(`${c}h`, `r${c}x` as RegName, 8, 8);
}
for (const x of ['si', 'di', 'sp', 'bp'] as const) add(`${x}l`, `r${x}` as RegName, 8);
for (let n = 8; n <= 15; n++) {
  const r = `r${n}` as RegName;
  add(r, r, 64);
  add(`${r}d`, r, 32);
  add(`${r}w`, r, 16);
  add(`${r}b`, r, 8);
  add(`${r}l`, r, 8); // Intel's spelling of r8b
}
add('rip', 'rip', 64);
add('eip', 'rip', 32);
add('ip', 'rip', 16);
add('rflags', 'rflags', 64);
add('eflags', 'rflags', 32);
add('flags', 'rflags', 16);
for (const s of SEGMENT_NAMES) {
  add(s, s, 16, 0, 'selector');
  for (const [f, bits] of SEGMENT_FIELDS) add(`${s}.${f}`, s, bits, 0, f);
}
for (const c of CONTROL) add(c, c, 64);
for (const t of ['gdt', 'idt'] as const) {
  add(`${t}.base`, t, 64, 0, 'base');
  add(`${t}.limit`, t, 16, 0, 'limit');
}

/** Other accepted spellings of the same locations. */
const ALIASES: Record<string, string> = {
  ldtr: 'ldt', 'ldtr.base': 'ldt.base', 'ldtr.limit': 'ldt.limit',
  'gdtr.base': 'gdt.base', 'gdtr.limit': 'gdt.limit', 'idtr.base': 'idt.base', 'idtr.limit': 'idt.limit',
  fs_base: 'fs.base', gs_base: 'gs.base', fsbase: 'fs.base', gsbase: 'gs.base',
};

function canonical(name: string): string {
  const n = name.trim().replace(/^%/, '').toLowerCase();
  return ALIASES[n] ?? n;
}

/** Every canonical register name (for completion). */
export const REGISTER_NAMES: readonly string[] = Object.freeze([...TABLE.keys()]);

export function resolveRegister(name: string): RegisterLocation | undefined {
  const loc = TABLE.get(canonical(name));
  return loc && { ...loc };
}

export function isRegisterName(name: string): boolean {
  return TABLE.has(canonical(name));
}

function mask(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

function isSegment(s: RegisterStorage): s is SegmentName {
  return (SEGMENT_NAMES as readonly string[]).includes(s);
}

function isGpr(s: RegisterStorage): s is RegName {
  return (REG_NAMES as readonly string[]).includes(s);
}

/** The whole storage word, or undefined when `sregs` is needed but missing. */
function readStorage(loc: RegisterLocation, regs: Regs, sregs: SRegs | undefined): bigint | undefined {
  if (isGpr(loc.storage)) return regs[loc.storage];
  if (!sregs) return undefined;
  if (isSegment(loc.storage)) return BigInt(sregs[loc.storage][loc.field ?? 'selector']);
  if (loc.storage === 'gdt' || loc.storage === 'idt') return BigInt(sregs[loc.storage][loc.field as 'base' | 'limit']);
  return sregs[loc.storage];
}

/** The register's value (zero-extended), or undefined for an unknown name or a missing snapshot. */
export function readRegister(name: string, regs: Regs, sregs?: SRegs): bigint | undefined {
  const loc = resolveRegister(name);
  if (!loc) return undefined;
  const word = readStorage(loc, regs, sregs);
  return word === undefined ? undefined : (BigInt.asUintN(64, word) >> BigInt(loc.shift)) & mask(loc.bits);
}

/**
 * Returns copies of `regs`/`sregs` with `name` set to `value` (truncated to the register's width).
 * A sub-register write replaces only its bits (ax, ah, r8b, …), except a 32-bit write (eax, r8d, eip,
 * eflags), which clears bits 63:32 as x86-64 does. Writing a segment's selector in real mode (CR0.PE
 * clear) also sets its base to selector×16, like a real-mode load; in protected mode only the
 * selector changes, since reloading the hidden part would need the descriptor table.
 */
export function writeRegister(name: string, value: bigint, regs: Regs, sregs: SRegs): { regs: Regs; sregs: SRegs };
export function writeRegister(name: string, value: bigint, regs: Regs, sregs?: SRegs): { regs: Regs; sregs?: SRegs };
export function writeRegister(name: string, value: bigint, regs: Regs, sregs?: SRegs): { regs: Regs; sregs?: SRegs } {
  const loc = resolveRegister(name);
  if (!loc) throw new Error(`unknown register '${name}'`);
  const v = BigInt.asUintN(loc.bits, value);
  if (isGpr(loc.storage)) {
    const old = regs[loc.storage];
    const shift = BigInt(loc.shift);
    const next = loc.bits >= 32 ? v : (old & ~(mask(loc.bits) << shift)) | (v << shift);
    return { regs: { ...regs, [loc.storage]: next }, sregs };
  }
  if (!sregs) throw new Error(`cannot write '${loc.name}': no special registers available`);
  const out: SRegs = { ...sregs };
  if (isSegment(loc.storage)) {
    const field = loc.field ?? 'selector';
    const seg: Segment = { ...sregs[loc.storage] };
    if (field === 'base') seg.base = v;
    else seg[field] = Number(v);
    if (field === 'selector' && (sregs.cr0 & 1n) === 0n) seg.base = v << 4n;
    out[loc.storage] = seg;
  } else if (loc.storage === 'gdt' || loc.storage === 'idt') {
    const t = { ...sregs[loc.storage] };
    if (loc.field === 'base') t.base = v;
    else t.limit = Number(v);
    out[loc.storage] = t;
  } else {
    out[loc.storage] = v;
  }
  return { regs, sregs: out };
}

/** The general registers to show for a code size, in display order (incl. the IP and flags). */
export function registersForBitness(bitness: 16 | 32 | 64): string[] {
  if (bitness === 16) return [...LEGACY, 'ip', 'flags'];
  if (bitness === 32) return [...LEGACY.map((x) => `e${x}`), 'eip', 'eflags'];
  return [...GPR, 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
}
