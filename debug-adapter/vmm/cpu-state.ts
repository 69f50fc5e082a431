// The x86 vCPU state as the monitor sees it, whatever runs the vCPU: general registers, segment
// registers with their hidden parts (base, limit, attributes), control registers, EFER, GDTR/IDTR.
// Each accelerator converts to and from its own representation in one place (kvm/kvm-structs.ts,
// tcg/unicorn-state.ts); nothing else knows those representations.

/** General registers, in the order the architecture (and KVM's kvm_regs) lists them. */
export const REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags',
] as const;
export type RegName = (typeof REG_NAMES)[number];

export const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

export type Regs = Record<RegName, bigint>;

/** A segment register: the visible selector and the descriptor cache (Intel SDM vol. 3, 3.4.3). */
export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

export interface DTable {
  base: bigint;
  limit: number;
}

export type SRegs = Record<SegmentName, Segment> & {
  gdt: DTable;
  idt: DTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  /** IA32_APIC_BASE. */
  apic_base: bigint;
};

export interface CpuState {
  regs: Regs;
  sregs: SRegs;
}

// Control-register and EFER bits (Intel SDM vol. 3, 2.5 and 2.2.1), defined once for every module.
export const CR0_PE = 1n;
export const CR0_MP = 1n << 1n;
export const CR0_ET = 1n << 4n;
export const CR0_NE = 1n << 5n;
export const CR0_WP = 1n << 16n;
export const CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const CR4_OSFXSR = 1n << 9n;
export const CR4_OSXMMEXCPT = 1n << 10n;
export const CR4_LA57 = 1n << 12n;
export const CR4_SMEP = 1n << 20n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
export const EFER_NXE = 1n << 11n;
export const RFLAGS_IF = 1n << 9n;
export const RFLAGS_TF = 1n << 8n;

/** A copy of `s` that shares nothing with it (faster than structuredClone on the delivery path). */
export function cloneState(s: CpuState): CpuState {
  const sregs = { ...s.sregs } as Record<string, unknown>;
  for (const [k, v] of Object.entries(sregs)) if (v !== null && typeof v === 'object') sregs[k] = Array.isArray(v) ? v.slice() : { ...v };
  return { regs: { ...s.regs }, sregs: sregs as SRegs };
}

/** The linear address of the next instruction: CS.base + RIP. */
export function linearPc(s: CpuState): bigint {
  return s.sregs.cs.base + s.regs.rip;
}

export function pagingEnabled(sregs: SRegs): boolean {
  return (sregs.cr0 & CR0_PG) !== 0n;
}

export function zeroRegs(): Regs {
  const r = {} as Regs;
  for (const n of REG_NAMES) r[n] = 0n;
  return r;
}

/** The processor's state after RESET (Intel SDM vol. 3, table 9-1), before the monitor sets a mode. */
export function resetSRegs(): SRegs {
  const seg = (selector: number, base: bigint, type: number, s = 1): Segment => ({
    base, limit: 0xffff, selector, type, present: 1, dpl: 0, db: 0, s, l: 0, g: 0, avl: 0, unusable: 0,
  });
  return {
    cs: seg(0xf000, 0xffff0000n, 0xb),
    ds: seg(0, 0n, 3), es: seg(0, 0n, 3), fs: seg(0, 0n, 3), gs: seg(0, 0n, 3), ss: seg(0, 0n, 3),
    tr: seg(0, 0n, 0xb, 0),
    ldt: seg(0, 0n, 2, 0),
    gdt: { base: 0n, limit: 0xffff },
    idt: { base: 0n, limit: 0xffff },
    cr0: 0x60000010n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n,
    apic_base: 0xfee00900n,
  };
}
