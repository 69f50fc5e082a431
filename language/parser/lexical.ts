// Character-level helpers of the parser: names, blanks, operand splitting, and the statement
// record whose operand list is split on demand.
import type { Bits, CondPath, Operand, Statement, Syntax, Token } from './types';

export const NO_TOKENS: Token[] = [];
export const SPECIAL_CHARS = /[/#;"']/;
export const NO_OPERANDS: Operand[] = [];

export function isAlnum(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

export function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 36;
}

/** End of the symbol name at `p` (`p` when there is none): GAS names, plus `\param`, `\@`, `\()` in macro bodies. */
export function nameEnd(code: string, p: number, end: number): number {
  let i = p;
  while (i < end) {
    const c = code.charCodeAt(i);
    if (c === 92 /* \ */) {
      const n = code.charCodeAt(i + 1);
      if (n === 64 /* @ */) i += 2;
      else if (n === 40 /* ( */ && code.charCodeAt(i + 2) === 41) i += 3;
      else if ((n >= 97 && n <= 122) || (n >= 65 && n <= 90) || n === 95) i += 2;
      else break;
    } else if (i === p ? isNameChar(c) && !(c >= 48 && c <= 57) : isNameChar(c)) i++;
    else break;
  }
  return i;
}

export function firstNonBlank(raw: string): number {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 32 && c !== 9) return c;
  }
  return -1;
}

export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 12 || c === 11;
}

/** A statement whose operand list is split only when something asks for it. */
export class ParsedStatement implements Statement {
  labels: Token[] = NO_TOKENS;
  kind: Statement['kind'] = 'empty';
  head?: Token;
  prefixes: Token[] = NO_TOKENS;
  operandsStart: number;
  private ops: Operand[] | undefined;

  constructor(
    private readonly code: string,
    readonly line: number,
    readonly start: number,
    readonly end: number,
    readonly bits: Bits | undefined,
    readonly syntax: Syntax,
    readonly regPrefix: boolean,
    readonly scope: Statement['scope'],
    readonly macro: string | undefined,
    readonly cond: CondPath,
    readonly section: string,
  ) {
    this.operandsStart = end;
  }

  get operands(): Operand[] {
    if (this.ops === undefined) this.ops = this.kind === 'empty' ? NO_OPERANDS : splitOperands(this.code, this.operandsStart, this.end);
    return this.ops;
  }

  set operands(v: Operand[]) {
    this.ops = v;
  }
}

function emitOperand(out: Operand[], code: string, s: number, e: number): void {
  let a = s;
  let b = e;
  while (a < b && isSpace(code.charCodeAt(a))) a++;
  while (b > a && isSpace(code.charCodeAt(b - 1))) b--;
  out.push({ start: a, end: b, text: code.slice(a, b) });
}

export function splitOperands(code: string, from: number, to: number): Operand[] {
  let out = NO_OPERANDS;
  let depth = 0;
  let start = from;
  const emit = (s: number, e: number): void => {
    if (out === NO_OPERANDS) out = [];
    emitOperand(out, code, s, e);
  };
  for (let i = from; i < to; i++) {
    const c = code.charCodeAt(i);
    if (c === 34) {
      i++;
      while (i < to && code.charCodeAt(i) !== 34) i += code.charCodeAt(i) === 92 ? 2 : 1;
    } else if (c === 39) {
      i += code.charCodeAt(i + 1) === 92 ? 2 : 1;
    } else if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) depth = Math.max(0, depth - 1);
    else if (c === 44 && depth === 0) {
      emit(start, i);
      start = i + 1;
    }
  }
  if (out.length > 0) emit(start, to);
  else {
    for (let i = start; i < to; i++) {
      if (!isSpace(code.charCodeAt(i))) {
        emit(start, to);
        break;
      }
    }
  }
  return out;
}
