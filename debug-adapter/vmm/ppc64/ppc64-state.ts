// The ppc64 vCPU state as the monitor, the CLI and the debugger see it, whatever runs the vCPU
// (Unicorn here, KVM on a POWER host), and its presentations: the seed's register dump, the JSON
// record, MSR bits and CR fields decoded.

export interface Ppc64Regs {
  /** r0–r31. */
  gpr: bigint[];
  pc: bigint;
  msr: bigint;
  lr: bigint;
  ctr: bigint;
  /** The 32-bit condition register, CR0 in the top four bits. */
  cr: number;
  xer: bigint;
}

export const PPC64_SCALAR_REGS = ['pc', 'msr', 'lr', 'ctr', 'cr', 'xer'] as const;

export function zeroPpc64Regs(): Ppc64Regs {
  return { gpr: new Array<bigint>(32).fill(0n), pc: 0n, msr: 0n, lr: 0n, ctr: 0n, cr: 0, xer: 0n };
}

/**
 * The register file as the seed's vm.c prints it: four per line, `R%2d: %lld` separated by tabs
 * (each line ends with a tab, as the seed's loop prints one after every register), values in
 * decimal.
 */
export function formatSeedDump(r: Ppc64Regs): string {
  const lines: string[] = [];
  for (let row = 0; row < 8; row++) {
    let line = '';
    for (let col = 0; col < 4; col++) {
      const n = row * 4 + col;
      line += `R${String(n).padStart(2, ' ')}: ${BigInt.asIntN(64, r.gpr[n]).toString()}\t`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** PC, MSR (decoded), LR, CTR, CR (fields), XER: the line after the seed's dump. */
export function formatSpecialRegs(r: Ppc64Regs): string {
  return [
    `PC: ${hex(r.pc)}  MSR: ${hex(r.msr)} (${decodeMsr(r.msr).filter((b) => b.set).map((b) => b.name).join(' ') || 'none'})`,
    `LR: ${hex(r.lr)}  CTR: ${hex(r.ctr)}  CR: ${hex(r.cr)} (${crFields(r.cr).map((f, i) => `cr${i}=${f.toString(2).padStart(4, '0')}`).join(' ')})  XER: ${hex(r.xer)}`,
  ].join('\n');
}

/** `--json` registers: r0–r31, pc, msr, lr, ctr, cr, xer as hex strings keyed by lower-case name (as for x86). */
export function ppc64RegisterRecord(r: Ppc64Regs): Record<string, string> {
  const out: Record<string, string> = {};
  r.gpr.forEach((v, i) => (out[`r${i}`] = hex(v)));
  for (const n of PPC64_SCALAR_REGS) out[n] = hex(r[n]);
  return out;
}

export interface MsrBit {
  name: string;
  /** The architecture's bit number (0 = most significant). */
  bit: number;
  set: boolean;
  meaning: string;
}

/** MSR bits of a 64-bit server processor (Power ISA v3.1 book III, "Machine State Register"). */
const MSR_BITS: ReadonlyArray<[string, number, string]> = [
  ['SF', 0, '64-bit mode'],
  ['HV', 3, 'hypervisor state'],
  ['VEC', 38, 'vector facility available'],
  ['VSX', 40, 'VSX facility available'],
  ['EE', 48, 'external interrupts enabled'],
  ['PR', 49, 'problem state (user mode)'],
  ['FP', 50, 'floating-point available'],
  ['ME', 51, 'machine check enabled'],
  ['FE0', 52, 'FP exception mode 0'],
  ['SE', 53, 'single-step trace'],
  ['BE', 54, 'branch trace'],
  ['FE1', 55, 'FP exception mode 1'],
  ['IR', 58, 'instruction relocation'],
  ['DR', 59, 'data relocation'],
  ['PMM', 61, 'performance monitor mark'],
  ['RI', 62, 'recoverable interrupt'],
  ['LE', 63, 'little-endian mode'],
];

export function decodeMsr(msr: bigint): MsrBit[] {
  return MSR_BITS.map(([name, bit, meaning]) => ({ name, bit, meaning, set: ((msr >> BigInt(63 - bit)) & 1n) === 1n }));
}

/** CR0–CR7, each 4 bits (LT GT EQ SO), CR0 first. */
export function crFields(cr: number): number[] {
  return Array.from({ length: 8 }, (_, i) => (cr >>> (28 - 4 * i)) & 0xf);
}

export function describeCrField(f: number): string {
  const names = ['LT', 'GT', 'EQ', 'SO'];
  const set = names.filter((_, i) => (f >> (3 - i)) & 1);
  return `0b${f.toString(2).padStart(4, '0')}${set.length ? ` (${set.join(' ')})` : ''}`;
}

/** XER's SO, OV, CA bits (bits 32, 33, 34 of the 64-bit register). */
export function describeXer(xer: bigint): string {
  const bits = [['SO', 31n], ['OV', 30n], ['CA', 29n]] as const;
  const set = bits.filter(([, b]) => ((xer >> b) & 1n) === 1n).map(([n]) => n);
  return `${hex(xer)}${set.length ? ` (${set.join(' ')})` : ''}`;
}

/** A register by its POWER name (r0–r31, pc/nia, msr, lr, ctr, cr, xer), for expressions. */
export function ppc64Register(r: Ppc64Regs, name: string): bigint | undefined {
  const n = name.toLowerCase().replace(/^%/, '');
  const g = /^r(\d{1,2})$/.exec(n);
  if (g && Number(g[1]) < 32) return r.gpr[Number(g[1])];
  if (n === 'sp') return r.gpr[1];
  if (n === 'pc' || n === 'nia' || n === 'cia') return r.pc;
  if (n === 'msr' || n === 'lr' || n === 'ctr' || n === 'xer') return r[n];
  if (n === 'cr') return BigInt(r.cr);
  const c = /^cr([0-7])$/.exec(n);
  if (c) return BigInt(crFields(r.cr)[Number(c[1])]);
  return undefined;
}
