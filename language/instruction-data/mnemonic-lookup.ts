// Maps what a GAS source writes (`movl`, `outb`, `jz`, `cltq`, `ljmp`, `rep/outsb`) to iced's
// mnemonic, plus the operand size an AT&T suffix asks for.
import { Bitness, InstructionInfo, InstructionTable, MODE_BIT } from './iced-table';

export interface MnemonicMatch {
  info: InstructionInfo;
  /** Operand size from an AT&T suffix (`pushl` → 32), when the suffix names one. */
  size?: 8 | 16 | 32 | 64;
  /** Only valid with 64-bit operands (movzbq, movslq, movabs). */
  needs64?: boolean;
}

// Condition-code spellings GAS accepts beyond iced's one name per condition.
const CC_ALIASES: Record<string, string> = {
  c: 'b', nae: 'b', nb: 'ae', nc: 'ae', z: 'e', nz: 'ne', na: 'be', nbe: 'a', pe: 'p', po: 'np',
  nge: 'l', nl: 'ge', ng: 'le', nle: 'g',
};

// AT&T-only names (GAS's spelling of Intel mnemonics), with the size they imply.
const ATT_ALIASES: Record<string, { name: string; size?: 8 | 16 | 32 | 64; needs64?: boolean }> = {
  cbtw: { name: 'cbw' }, cwtl: { name: 'cwde' }, cltq: { name: 'cdqe' }, cwtd: { name: 'cwd' }, cltd: { name: 'cdq' }, cqto: { name: 'cqo' },
  pushfl: { name: 'pushfd' }, popfl: { name: 'popfd' }, pushal: { name: 'pushad' }, popal: { name: 'popad' },
  pushfw: { name: 'pushf' }, popfw: { name: 'popf' }, pushaw: { name: 'pusha' }, popaw: { name: 'popa' },
  iretl: { name: 'iretd' }, iretw: { name: 'iret' },
  movsl: { name: 'movsd' }, stosl: { name: 'stosd' }, lodsl: { name: 'lodsd' }, scasl: { name: 'scasd' }, cmpsl: { name: 'cmpsd' },
  insl: { name: 'insd' }, outsl: { name: 'outsd' },
  lret: { name: 'retf' }, lretw: { name: 'retf', size: 16 }, lretl: { name: 'retf', size: 32 }, lretq: { name: 'retf', size: 64 },
  ljmp: { name: 'jmp' }, ljmpw: { name: 'jmp' }, ljmpl: { name: 'jmp' }, ljmpq: { name: 'jmp', needs64: true },
  lcall: { name: 'call' }, lcallw: { name: 'call' }, lcalll: { name: 'call' }, lcallq: { name: 'call', needs64: true },
  movabs: { name: 'mov', needs64: true }, movabsq: { name: 'mov', needs64: true }, movabsl: { name: 'mov', needs64: true },
  movabsw: { name: 'mov', needs64: true }, movabsb: { name: 'mov', needs64: true },
  movzbw: { name: 'movzx' }, movzbl: { name: 'movzx' }, movzwl: { name: 'movzx' }, movzbq: { name: 'movzx', needs64: true }, movzwq: { name: 'movzx', needs64: true },
  movsbw: { name: 'movsx' }, movsbl: { name: 'movsx' }, movswl: { name: 'movsx' }, movsbq: { name: 'movsx', needs64: true }, movswq: { name: 'movsx', needs64: true },
  movslq: { name: 'movsxd', needs64: true },
  xlat: { name: 'xlatb' }, loopz: { name: 'loope' }, loopnz: { name: 'loopne' }, fwait: { name: 'wait' },
  sysretl: { name: 'sysret' }, sysexitl: { name: 'sysexit' },
  icebp: { name: 'int1' },
};

const SIZE_SUFFIX: Record<string, 8 | 16 | 32 | 64> = { b: 8, w: 16, l: 32, q: 64 };

function direct(word: string, table: InstructionTable): InstructionInfo | undefined {
  const hit = table.get(word);
  if (hit) return hit;
  const cc = /^(j|set|cmov|loop)(.+)$/.exec(word);
  if (cc && CC_ALIASES[cc[2]]) return table.get(cc[1] + CC_ALIASES[cc[2]]);
  return undefined;
}

/** Finds the instruction a source mnemonic names; undefined for unknown words (macros, typos). */
export function lookupMnemonic(word: string, syntax: 'att' | 'intel', table: InstructionTable): MnemonicMatch | undefined {
  const w = word.toLowerCase();
  const hit = direct(w, table);
  if (hit) return { info: hit };
  const alias = ATT_ALIASES[w];
  if (alias) {
    const info = table.get(alias.name);
    if (info) return { info, size: alias.size, needs64: alias.needs64 };
  }
  if (syntax === 'intel') return undefined;
  // x87 `ll` (64-bit integer) and `s`/`l`/`t` (float sizes): no mode restriction to check.
  if (w.length > 3 && w.startsWith('f')) {
    for (const cut of [2, 1]) {
      const base = w.slice(0, -cut);
      if (/(?:ll|s|l|t|q|w)$/.test(w.slice(-cut)) && table.has(base)) return { info: table.get(base) as InstructionInfo };
    }
  }
  const last = w.slice(-1);
  const size = SIZE_SUFFIX[last];
  if (size !== undefined && w.length > 2) {
    const base = w.slice(0, -1);
    const info = direct(base, table) ?? (ATT_ALIASES[base] ? table.get(ATT_ALIASES[base].name) : undefined);
    if (info) return { info, size };
  }
  return undefined;
}

/**
 * Mnemonics whose operand size GNU as takes from the mode when no suffix says: `iret` is IRETD in
 * 32-bit and 64-bit code, `pushf` is PUSHFD/PUSHFQ, `pusha` PUSHAD.
 */
const MODE_DEFAULT: Record<string, Partial<Record<16 | 32 | 64, string>>> = {
  iret: { 32: 'iretd', 64: 'iretd' },
  pushf: { 32: 'pushfd', 64: 'pushfq' },
  popf: { 32: 'popfd', 64: 'popfq' },
  pusha: { 32: 'pushad' },
  popa: { 32: 'popad' },
};

/**
 * The instruction a written line means: the mode's default operand size for unsuffixed
 * size-dependent mnemonics, and between `movq` (MMX/SSE MOVQ) and `mov` + `q` suffix, the one
 * whose forms take the written operands (`movq %rax, %cr0` is MOV to CR0).
 * `score(info, size)`: how well the best form of `info` (of that size) takes the operands.
 */
export function lookupInstruction(
  word: string, syntax: 'att' | 'intel', table: InstructionTable, bits: Bitness | undefined,
  score?: (info: InstructionInfo, size: number | undefined) => number,
): MnemonicMatch | undefined {
  const w = word.toLowerCase();
  const byMode = bits !== undefined ? MODE_DEFAULT[w]?.[bits] : undefined;
  if (byMode && table.has(byMode)) return { info: table.get(byMode) as InstructionInfo };
  const first = lookupMnemonic(word, syntax, table);
  if (syntax !== 'att' || score === undefined) return first;
  const size = SIZE_SUFFIX[w.slice(-1)];
  if (size === undefined || w.length < 3) return first;
  const base = w.slice(0, -1);
  const info = direct(base, table);
  if (info === undefined || info === first?.info) return first;
  const alt: MnemonicMatch = { info, size };
  if (first === undefined) return alt;
  return score(info, size) > score(first.info, first.size) ? alt : first;
}

/**
 * Why `match` cannot be used in a `bits` mode, or undefined when some form can. Only says no when
 * iced knows forms of that size in other modes, so unusual spellings never give false errors.
 * `why`: what makes the code `bits`-bit.
 */
export function modeProblem(word: string, match: MnemonicMatch, bits: Bitness, why = `.code${bits}`): string | undefined {
  const bit = MODE_BIT[bits];
  const { info } = match;
  if ((info.modes & bit) === 0) {
    const where = ([16, 32, 64] as const).filter((b) => info.modes & MODE_BIT[b]).map((b) => `${b}-bit`).join(' and ');
    return `'${word}' is not valid in ${bits}-bit code (${why}); it exists in ${where} mode`;
  }
  if (match.needs64 && bits !== 64) return `'${word}' needs 64-bit operands: only valid in 64-bit code (.code64)`;
  if (match.size !== undefined) {
    const sized = info.forms.filter((f) => f.size === match.size);
    if (sized.length > 0 && !sized.some((f) => f.modes & bit)) {
      return `'${word}': ${info.name} has no ${match.size}-bit operand form in ${bits}-bit code (${why})`;
    }
  }
  return undefined;
}
