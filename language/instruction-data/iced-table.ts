// Instruction forms, mode validity, privilege and flags, taken from iced-x86's tables (MIT).
// Built once, on first use: iterating the ~4,900 `Code` values takes a few tens of milliseconds.
import { attForm } from './operand-forms';

export type Bitness = 16 | 32 | 64;

export interface InstructionForm {
  /** Intel form as iced writes it, e.g. `MOV r/m32, r32`. */
  intel: string;
  /** AT&T form: lower case, operands reversed, `%`/`$` markers, e.g. `movl r32, r/m32`. */
  att: string;
  /** Operand placeholders in Intel order, e.g. ['r/m32', 'r32']. */
  operands: string[];
  /** Encoding as iced writes it, e.g. `o32 89 /r`. */
  opcode: string;
  encoding: 'legacy' | 'VEX' | 'EVEX' | 'XOP' | '3DNow!';
  modes: number; // bit mask of MODE_BIT
  /** Only at CPL 0. */
  cpl0: boolean;
  /** Operand size the form works on, when it has one (from `o16/o32/o64` or its operands). */
  size?: 8 | 16 | 32 | 64;
  /** RFLAGS bits (iced RflagsBits) the form reads, writes, sets, clears, leaves undefined. */
  rflags: { read: number; written: number; set: number; cleared: number; undefined: number };
}

export interface InstructionInfo {
  /** Lower-case mnemonic as iced names it (`iretq`, `outsb`, `mov`). */
  name: string;
  forms: InstructionForm[];
  /** Union of the forms' modes. */
  modes: number;
  /** `cpl0`: every form needs CPL 0; `some`: some forms do (mov to CRn); `io`: IOPL-sensitive. */
  privilege: 'cpl0' | 'some' | 'io' | 'none';
  isString: boolean;
  isIO: boolean;
  flags: { read: string[]; written: string[]; set: string[]; cleared: string[]; undefined: string[] };
}

export const MODE_BIT: Record<Bitness, number> = { 16: 1, 32: 2, 64: 4 };

export function modesText(modes: number): string {
  const parts = ([16, 32, 64] as const).filter((b) => modes & MODE_BIT[b]).map((b) => `${b}-bit`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

const ENCODINGS: Record<number, InstructionForm['encoding'] | undefined> = { 0: 'legacy', 1: 'VEX', 2: 'EVEX', 3: 'XOP', 4: '3DNow!' };
const FLAG_NAMES: Array<[number, string]> = [
  [1, 'OF'], [2, 'SF'], [4, 'ZF'], [8, 'AF'], [16, 'CF'], [32, 'PF'], [64, 'DF'], [128, 'IF'], [256, 'AC'], [512, 'UIF'],
  [1024, 'C0'], [2048, 'C1'], [4096, 'C2'], [8192, 'C3'],
];
export const flagList = (bits: number): string[] => FLAG_NAMES.filter(([b]) => bits & b).map(([, n]) => n);

function sizeOf(opcode: string, operands: string[]): InstructionForm['size'] {
  const o = /^(?:[A-F0-9]{2} )*o(16|32|64)\b/.exec(opcode) ?? /\bo(16|32|64)\b/.exec(opcode);
  if (o) return Number(o[1]) as 16 | 32 | 64;
  for (const op of operands) {
    if (/^(?:r\/m8|r8|m8|AL|CL|DL|BL|AH)$/.test(op)) return 8;
    if (/^(?:r\/m16|r16|m16|AX|DX)$/.test(op)) return 16;
    if (/^(?:r\/m32|r32|m32|EAX)$/.test(op)) return 32;
    if (/^(?:r\/m64|r64|m64|RAX)$/.test(op)) return 64;
  }
  return undefined;
}

export class InstructionTable {
  private readonly byName = new Map<string, InstructionInfo>();

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const iced = require('iced-x86') as typeof import('iced-x86');
    const { Code, CodeExt, Mnemonic, Instruction } = iced;
    const acc = new Map<string, { forms: InstructionForm[]; read: number; written: number; set: number; cleared: number; undef: number; priv: number; cpl0: number; io: boolean; str: boolean }>();
    for (const key of Object.keys(Code)) {
      const code = (Code as unknown as Record<string, number>)[key];
      if (typeof code !== 'number') continue;
      const oc = CodeExt.opCode(code);
      try {
        if (!oc.isInstruction) continue;
        const encoding = ENCODINGS[oc.encoding];
        if (encoding === undefined) continue; // MVEX (Knights Corner): GAS does not assemble it
        const name = String(Mnemonic[oc.mnemonic]).toLowerCase();
        const intel = oc.instructionString;
        const space = intel.indexOf(' ');
        const operands = space < 0 ? [] : intel.slice(space + 1).split(/,\s*/);
        const modes = (oc.mode16 ? 1 : 0) | (oc.mode32 ? 2 : 0) | (oc.mode64 ? 4 : 0);
        const size = encoding === 'legacy' ? sizeOf(oc.opCodeString, operands) : undefined;
        const form: InstructionForm = {
          intel, att: '', operands, opcode: oc.opCodeString, encoding, modes, cpl0: oc.mustBeCpl0, size,
          rflags: { read: 0, written: 0, set: 0, cleared: 0, undefined: 0 },
        };
        form.att = attForm(name, operands, size, encoding);
        let a = acc.get(name);
        if (a === undefined) acc.set(name, (a = { forms: [], read: 0, written: 0, set: 0, cleared: 0, undef: 0, priv: 0, cpl0: 0, io: false, str: false }));
        a.forms.push(form);
        if (oc.mustBeCpl0) a.cpl0++;
        if (oc.isPrivileged) a.priv++;
        if (oc.isInputOutput) a.io = true;
        const ins = Instruction.create(code);
        try {
          const fixed = ins.rflagsSet | ins.rflagsCleared | ins.rflagsUndefined;
          form.rflags = { read: ins.rflagsRead, written: ins.rflagsModified & ~fixed, set: ins.rflagsSet, cleared: ins.rflagsCleared, undefined: ins.rflagsUndefined };
          a.read |= ins.rflagsRead;
          a.written |= ins.rflagsModified;
          a.set |= ins.rflagsSet;
          a.cleared |= ins.rflagsCleared;
          a.undef |= ins.rflagsUndefined;
          if (ins.isStringInstruction) a.str = true;
        } finally {
          ins.free();
        }
      } finally {
        oc.free();
      }
    }
    for (const [name, a] of acc) {
      const modes = a.forms.reduce((m, f) => m | f.modes, 0);
      const privilege: InstructionInfo['privilege'] =
        a.cpl0 === a.forms.length ? 'cpl0' : a.cpl0 > 0 ? 'some' : a.priv > 0 ? 'io' : 'none';
      // Written = modified minus set/cleared/undefined, so each flag is listed once.
      const fixed = a.set | a.cleared | a.undef;
      this.byName.set(name, {
        name, forms: a.forms, modes, privilege, isString: a.str, isIO: a.io,
        flags: {
          read: flagList(a.read), written: flagList(a.written & ~fixed), set: flagList(a.set),
          cleared: flagList(a.cleared), undefined: flagList(a.undef),
        },
      });
    }
  }

  get(name: string): InstructionInfo | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): IterableIterator<InstructionInfo> {
    return this.byName.values();
  }
}

let table: InstructionTable | undefined;
let failure: string | undefined;

/** The table, built on first call. Undefined (with the reason in tableFailure) when iced-x86 cannot load. */
export function instructionTable(): InstructionTable | undefined {
  if (table !== undefined || failure !== undefined) return table;
  try {
    table = new InstructionTable();
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  }
  return table;
}

export function tableFailure(): string | undefined {
  return failure;
}
