// A small integer-expression evaluator shared by `#if` (C preprocessor rules) and the values
// shown for `.equ`/`#define` (GNU as rules). 64-bit wrap-around, BigInt inside.

export type Value = { value: bigint } | { unknown: string };

export interface EvalContext {
  /** C preprocessor: `defined`, integer suffixes, unknown identifiers are 0. */
  cpp: boolean;
  /** Value of a name; undefined = not known (cpp: 0, gas: unknown); 'unknown' = known to be unknowable. */
  lookup(name: string, depth: number): bigint | 'unknown' | undefined;
  isDefined?(name: string): boolean | 'unknown';
  depth?: number;
}

const MASK = (1n << 64n) - 1n;
const toSigned = (v: bigint): bigint => {
  const u = v & MASK;
  return u >= 1n << 63n ? u - (1n << 64n) : u;
};

type Tok = { t: 'num'; v: bigint } | { t: 'id'; v: string } | { t: 'op'; v: string };

export function parseNumber(text: string, cpp: boolean): bigint | undefined {
  const s = cpp ? text.replace(/[uUlL]+$/, '') : text;
  try {
    if (/^0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s);
    if (/^0[bB][01]+$/.test(s)) return BigInt(s);
    if (/^0[0-7]+$/.test(s)) return BigInt('0o' + s.slice(1));
    if (/^[0-9]+$/.test(s)) return BigInt(s);
    if (/^[0-9][0-9a-fA-F]*[hH]$/.test(s)) return BigInt('0x' + s.slice(0, -1));
  } catch {
    return undefined;
  }
  return undefined;
}

const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, e: 27 };

function tokenize(text: string, cpp: boolean): Tok[] | undefined {
  const out: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9][0-9a-zA-Z]*/.exec(text.slice(i)) as RegExpExecArray;
      const v = parseNumber(m[0], cpp);
      if (v === undefined) return undefined;
      out.push({ t: 'num', v });
      i += m[0].length;
      continue;
    }
    if (c === "'") {
      // 'c' (C) or 'c (GNU as)
      let ch = text[i + 1];
      let len = 2;
      if (ch === '\\') {
        const e = text[i + 2];
        ch = e;
        len = 3;
        out.push({ t: 'num', v: BigInt(ESCAPES[e] ?? e.charCodeAt(0)) });
      } else if (ch !== undefined) out.push({ t: 'num', v: BigInt(ch.charCodeAt(0)) });
      else return undefined;
      i += len;
      if (text[i] === "'") i++;
      continue;
    }
    if (/[A-Za-z_.$]/.test(c)) {
      const m = /^[A-Za-z_.$][A-Za-z0-9_.$]*/.exec(text.slice(i)) as RegExpExecArray;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['<<', '>>', '<=', '>=', '==', '!=', '&&', '||'].includes(two)) {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('+-*/%&|^~!<>()?:'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    return undefined;
  }
  return out;
}

class Unknown extends Error {}

/** Evaluates `text`; `{unknown}` says why when it cannot (a syntax error, an unknown name, a function-like macro). */
export function evaluate(text: string, ctx: EvalContext): Value {
  const toks = tokenize(text, ctx.cpp);
  if (toks === undefined || toks.length === 0) return { unknown: 'not an integer expression' };
  let p = 0;
  const depth = ctx.depth ?? 0;
  const peek = (): Tok | undefined => toks[p];
  const isOp = (v: string): boolean => {
    const t = toks[p];
    return t !== undefined && t.t === 'op' && t.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw new Unknown(`expected '${v}'`);
    p++;
  };
  const primary = (): bigint => {
    const t = toks[p++];
    if (t === undefined) throw new Unknown('unexpected end');
    if (t.t === 'num') return t.v;
    if (t.t === 'op') {
      if (t.v === '(') {
        const v = ternary();
        expect(')');
        return v;
      }
      if (t.v === '-') return toSigned(-primary());
      if (t.v === '+') return primary();
      if (t.v === '~') return toSigned(~primary());
      if (t.v === '!') return primary() === 0n ? 1n : 0n;
      throw new Unknown(`unexpected '${t.v}'`);
    }
    if (ctx.cpp && t.v === 'defined') {
      const paren = isOp('(');
      if (paren) p++;
      const name = toks[p++];
      if (name === undefined || name.t !== 'id') throw new Unknown('defined needs a name');
      if (paren) expect(')');
      const d = ctx.isDefined ? ctx.isDefined(name.v) : ctx.lookup(name.v, depth) !== undefined;
      if (d === 'unknown') throw new Unknown(`${name.v} depends on the build mode`);
      return d ? 1n : 0n;
    }
    if (isOp('(')) throw new Unknown(`${t.v}(...) is a function-like macro`);
    const v = depth > 16 ? 'unknown' : ctx.lookup(t.v, depth + 1);
    if (v === 'unknown') throw new Unknown(`the value of ${t.v} is not known here`);
    if (v === undefined) {
      if (ctx.cpp) return 0n;
      throw new Unknown(`${t.v} has no constant value`);
    }
    return v;
  };
  const binary = (level: number): bigint => {
    const LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
    if (level >= LEVELS.length) return primary();
    let left = binary(level + 1);
    for (;;) {
      const t = peek();
      if (t === undefined || t.t !== 'op' || !LEVELS[level].includes(t.v)) return left;
      p++;
      const right = binary(level + 1);
      left = apply(t.v, left, right);
    }
  };
  const ternary = (): bigint => {
    const c = binary(0);
    if (!isOp('?')) return c;
    p++;
    const a = ternary();
    expect(':');
    const b = ternary();
    return c !== 0n ? a : b;
  };
  try {
    const v = ternary();
    if (p !== toks.length) return { unknown: 'trailing text' };
    return { value: v };
  } catch (e) {
    return { unknown: e instanceof Error ? e.message : 'cannot evaluate' };
  }
}

function apply(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '|': return toSigned(a | b);
    case '^': return toSigned(a ^ b);
    case '&': return toSigned(a & b);
    case '==': return a === b ? 1n : 0n;
    case '!=': return a !== b ? 1n : 0n;
    case '<': return a < b ? 1n : 0n;
    case '>': return a > b ? 1n : 0n;
    case '<=': return a <= b ? 1n : 0n;
    case '>=': return a >= b ? 1n : 0n;
    case '<<': return toSigned(a << (b & 63n));
    case '>>': return toSigned(a >> (b & 63n));
    case '+': return toSigned(a + b);
    case '-': return toSigned(a - b);
    case '*': return toSigned(a * b);
    case '/':
      if (b === 0n) throw new Unknown('division by zero');
      return toSigned(a / b);
    case '%':
      if (b === 0n) throw new Unknown('division by zero');
      return toSigned(a % b);
  }
  throw new Unknown(`unknown operator ${op}`);
}

/** `0xf1 (241)`, or a negative value in both forms. */
export function formatValue(v: bigint): string {
  if (v < 0n) return `${v} (0x${(v & MASK).toString(16)})`;
  return v < 10n ? `${v}` : `0x${v.toString(16)} (${v})`;
}
