// x86 register names: width, family (aliases), purpose and the modes they exist in.
import { Bitness } from './iced-table';

export interface RegisterInfo {
  name: string;
  width: number;
  kind: 'general' | 'segment' | 'control' | 'debug' | 'ip' | 'x87' | 'mmx' | 'sse' | 'avx' | 'avx512' | 'mask' | 'test';
  /** Other names for the same storage (wider and narrower parts). */
  family: string[];
  purpose: string;
  /** Only in 64-bit code. */
  only64: boolean;
}

const registers = new Map<string, RegisterInfo>();

function add(info: RegisterInfo): void {
  registers.set(info.name, info);
}

const LEGACY_GPR: Array<[string[], string]> = [
  [['rax', 'eax', 'ax', 'ah', 'al'], 'accumulator: arithmetic results, mul/div, the data of in/out, return value in the usual calling conventions'],
  [['rbx', 'ebx', 'bx', 'bh', 'bl'], 'base register: general purpose, a base for addressing (callee-saved in SysV)'],
  [['rcx', 'ecx', 'cx', 'ch', 'cl'], 'counter: rep and loop counts, shift/rotate counts in %cl, the MSR number for rdmsr/wrmsr'],
  [['rdx', 'edx', 'dx', 'dh', 'dl'], 'data register: the I/O port for in/out/ins/outs, high half of mul/div, high half of rdmsr/wrmsr/rdtsc'],
  [['rsi', 'esi', 'si', 'sil'], 'source index: where movs, lods, cmps and outs read from (DS segment)'],
  [['rdi', 'edi', 'di', 'dil'], 'destination index: where movs, stos, scas and ins write or compare (ES segment)'],
  [['rbp', 'ebp', 'bp', 'bpl'], 'base/frame pointer: addresses through it use the SS segment by default'],
  [['rsp', 'esp', 'sp', 'spl'], 'stack pointer: push, pop, call, ret and interrupts move it (SS segment)'],
];
for (const [names, purpose] of LEGACY_GPR) {
  for (const name of names) {
    const width = name.startsWith('r') ? 64 : name.startsWith('e') ? 32 : /[hl]$/.test(name) && name.length === 2 ? 8 : name.length === 3 && name.endsWith('l') ? 8 : 16;
    add({ name, width, kind: 'general', family: names, purpose, only64: name.startsWith('r') || ['sil', 'dil', 'bpl', 'spl'].includes(name) });
  }
}
for (let i = 8; i <= 15; i++) {
  const names = [`r${i}`, `r${i}d`, `r${i}w`, `r${i}b`];
  for (const [name, width] of [[`r${i}`, 64], [`r${i}d`, 32], [`r${i}w`, 16], [`r${i}b`, 8], [`r${i}l`, 8]] as Array<[string, number]>) {
    add({ name, width, kind: 'general', family: names, purpose: 'general purpose register added by x86-64 (REX prefix)', only64: true });
  }
}
for (const [name, width, purpose] of [
  ['rip', 64, 'instruction pointer; `sym(%rip)` addresses relative to the next instruction (64-bit code only)'],
  ['eip', 32, 'instruction pointer (32-bit); only usable for `sym(%eip)` addressing in 64-bit code'],
  ['ip', 16, 'instruction pointer (16-bit)'],
] as Array<[string, number, string]>) {
  add({ name, width, kind: 'ip', family: ['rip', 'eip', 'ip'], purpose, only64: name !== 'ip' });
}
const SEGMENTS: Record<string, string> = {
  cs: 'code segment: with IP/EIP/RIP it forms the address of the next instruction; its descriptor sets the code size (16/32/64-bit)',
  ds: 'data segment: the default for most memory operands',
  es: 'extra segment: the destination of string instructions (stos, movs, ins, scas)',
  ss: 'stack segment: push/pop and addresses through %sp/%bp',
  fs: 'extra segment; its base is often a per-thread or per-CPU area (FS base MSR in 64-bit mode)',
  gs: 'extra segment; its base is often a per-CPU area, exchanged by swapgs in 64-bit kernels',
};
for (const [name, purpose] of Object.entries(SEGMENTS)) add({ name, width: 16, kind: 'segment', family: [name], purpose, only64: false });
const CONTROL: Record<string, string> = {
  cr0: 'control register 0: PE (bit 0, protected mode), MP, EM, TS, ET, NE, WP (bit 16), AM, NW, CD, PG (bit 31, paging)',
  cr2: 'control register 2: the linear address of the last page fault',
  cr3: 'control register 3: physical address of the top-level page table (PML4/PDPT/PD), plus PCD/PWT or the PCID',
  cr4: 'control register 4: VME, PVI, TSD, DE, PSE (bit 4), PAE (bit 5), MCE, PGE (bit 7), PCE, OSFXSR, OSXMMEXCPT, UMIP, LA57, VMXE, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP, PKE',
  cr8: 'control register 8: task priority (TPR) for interrupts (64-bit code only)',
};
for (const [name, purpose] of Object.entries(CONTROL)) add({ name, width: 64, kind: 'control', family: [name], purpose: purpose + '; read and written with mov at CPL 0', only64: name === 'cr8' });
for (let i = 0; i <= 7; i++) {
  const purpose = i <= 3 ? 'debug address register: a breakpoint or watchpoint linear address' : i === 6 ? 'debug status: which breakpoint hit, single-step' : i === 7 ? 'debug control: enables and conditions for dr0-dr3' : 'reserved alias of dr6/dr7';
  add({ name: `dr${i}`, width: 64, kind: 'debug', family: [`dr${i}`], purpose: purpose + '; mov at CPL 0', only64: false });
}
for (let i = 3; i <= 7; i++) add({ name: `tr${i}`, width: 32, kind: 'test', family: [`tr${i}`], purpose: 'legacy test register (386/486)', only64: false });
add({ name: 'st', width: 80, kind: 'x87', family: ['st'], purpose: 'top of the x87 register stack, st(0)', only64: false });
for (let i = 0; i <= 7; i++) {
  add({ name: `st(${i})`, width: 80, kind: 'x87', family: ['st'], purpose: `x87 stack register ${i} (from the top)`, only64: false });
  add({ name: `mm${i}`, width: 64, kind: 'mmx', family: [`mm${i}`], purpose: 'MMX register (shares storage with the x87 stack)', only64: false });
  add({ name: `k${i}`, width: 64, kind: 'mask', family: [`k${i}`], purpose: i === 0 ? 'AVX-512 opmask register (k0 means no masking)' : 'AVX-512 opmask register', only64: false });
}
for (let i = 0; i <= 31; i++) {
  const family = [`zmm${i}`, `ymm${i}`, `xmm${i}`];
  add({ name: `xmm${i}`, width: 128, kind: 'sse', family, purpose: 'SSE register (low 128 bits of ymm/zmm)', only64: i >= 8 });
  add({ name: `ymm${i}`, width: 256, kind: 'avx', family, purpose: 'AVX register (low 256 bits of zmm)', only64: i >= 8 });
  add({ name: `zmm${i}`, width: 512, kind: 'avx512', family, purpose: 'AVX-512 register', only64: i >= 8 });
}

export function registerInfo(name: string): RegisterInfo | undefined {
  return registers.get(name.toLowerCase());
}

export function isRegisterName(name: string): boolean {
  return registers.has(name.toLowerCase());
}

/** Registers usable in code of the given bitness (all of them when unknown). */
export function registersFor(bits: Bitness | undefined): RegisterInfo[] {
  return [...registers.values()].filter((r) => !/^st\(/.test(r.name) && r.kind !== 'test' && (bits === 64 || bits === undefined || !r.only64));
}

/** Why a register cannot be used in `bits`-bit code (`why`: what makes it `bits`-bit), or undefined. */
export function registerModeProblem(name: string, bits: Bitness, why = `.code${bits}`): string | undefined {
  const r = registerInfo(name);
  if (r === undefined || bits === 64 || !r.only64) return undefined;
  return `register %${r.name} only exists in 64-bit code (.code64); this is ${bits}-bit code (${why})`;
}
