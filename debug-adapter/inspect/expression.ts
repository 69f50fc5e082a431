// The expression language of the REPL, watch, hover, breakpoint conditions and logpoints: C-style
// integer expressions over registers, symbols and guest memory, with Intel ([rsp+8], dword ptr [x])
// and AT&T (8(%rsp), (%rax,%rbx,4)) memory operands.
// Hand-written: npm's evaluators (expr-eval, mathjs, jsep, filtrex) use JS numbers or JS syntax, without wrapping 64-bit BigInt, C casts or x86 operands.
//
// Semantics, for reference in the docs:
// - Values are unsigned 64-bit and wrap. Comparisons and ! && || give 0 or 1; && || ?: short-circuit.
// - A signed cast ((int)x, (s8)x, *(int*)p) sign-extends; a signed operand makes / % < <= > >=
//   signed, a signed left operand makes >> arithmetic. Shifts by 64 or more give 0 (or all ones
//   for a negative signed >>).
// - A register or symbol name stands for its value; a symbol's value is its address. Registers win
//   over symbols of the same name. '$rax' is accepted like 'rax' (gdb habit); &x gives x's address.
// - *(T*)x reads sizeof(T) bytes at x; *x and [x] read the pointer size of the current code
//   (2, 4 or 8 bytes). Types: u8…u64, s8…s64, i8…i64, uint8_t…uint64_t, int8_t…int64_t, char (1,
//   signed), short (2), int (4), long (4, or 8 in 64-bit code: ILP32/LP64), long long (8),
//   unsigned/signed modifiers, uintptr_t/size_t (pointer size). Pointer casts do not scale arithmetic.
// - AT&T: disp(%base,%index,scale) reads pointer-size bytes at disp+base+index×scale; a parenthesis
//   opening with a %register is a memory operand, so (%rax) reads memory while %rax is the value.
//   rip-relative operands use the current rip. Addresses are linear (the context translates them).
import { isRegisterName, readRegister, resolveRegister } from './register-names';
import type { Regs, SRegs } from '../vmm/cpu-state';

export class ExpressionError extends Error {
  /** 1-based column of the offending token, when known. */
  readonly column?: number;
  constructor(message: string, column?: number) {
    super(message);
    this.name = 'ExpressionError';
    if (column !== undefined) this.column = column;
  }
}

export type Bitness = 16 | 32 | 64;

export interface EvalContext {
  bitness: Bitness;
  /** A register by canonical lower-case name ('eax', 'cs.base'), or undefined if unavailable. */
  register(name: string): bigint | undefined;
  symbol(name: string): bigint | undefined;
  /** `size` bytes at a linear address; undefined (or fewer bytes) when not mapped. */
  readMemory(address: bigint, size: number): Uint8Array | undefined;
}

export interface EvalResult {
  value: bigint;
  /** Width in bytes of a register, memory read or cast. */
  size?: number;
  /** The result came through a signed type: `value` is sign-extended to 64 bits. */
  signed?: boolean;
  /** For memory lvalues: where the value was read (memoryReference, setExpression). */
  address?: bigint;
  /** For register lvalues: the canonical register name. */
  register?: string;
}

/** A C type in a cast: integer width (or one resolved by bitness), signedness and pointer depth. */
export interface CType {
  name: string;
  size: 1 | 2 | 4 | 8 | 'long' | 'ptr' | 'void';
  signed: boolean;
  pointer: number;
}

export type BinaryOp = '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '&' | '^' | '|' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';
export type UnaryOp = '-' | '+' | '~' | '!';

export type Ast = { col: number } & (
  | { kind: 'number'; value: bigint }
  | { kind: 'register'; name: string; explicit: boolean }
  | { kind: 'symbol'; name: string }
  | { kind: 'unary'; op: UnaryOp; operand: Ast }
  | { kind: 'binary'; op: BinaryOp; left: Ast; right: Ast }
  | { kind: 'conditional'; test: Ast; then: Ast; otherwise: Ast }
  | { kind: 'cast'; type: CType; operand: Ast }
  /** A memory read; `type` undefined: the operand's pointer type, else the pointer size. */
  | { kind: 'deref'; address: Ast; type?: CType }
  | { kind: 'addressOf'; operand: Ast }
);

// ---- tokenizer ----

type TokenKind = 'number' | 'ident' | 'register' | 'op' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  col: number;
  value?: bigint;
}

const OPERATORS = ['<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '?', ':', '(', ')', '[', ']', ',', '='];
const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, '0': 0, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, e: 27, f: 12, v: 11 };

function parseNumber(word: string, col: number): bigint {
  const w = word.replace(/_/g, '').toLowerCase();
  let v: bigint | undefined;
  if (/^0x[0-9a-f]+$/.test(w) || /^0b[01]+$/.test(w) || /^0o[0-7]+$/.test(w) || /^[0-9]+$/.test(w)) v = BigInt(w);
  else if (/^[0-9][0-9a-f]*h$/.test(w)) v = BigInt(`0x${w.slice(0, -1)}`);
  if (v === undefined) throw new ExpressionError(`invalid number '${word}' at column ${col}`, col);
  if (v >> 64n) throw new ExpressionError(`number '${word}' does not fit in 64 bits (column ${col})`, col);
  return v;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const endsOperand = (): boolean => {
    const t = out[out.length - 1];
    return !!t && (t.kind !== 'op' || t.text === ')' || t.text === ']');
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9A-Za-z_]+/.exec(text.slice(i))![0];
      out.push({ kind: 'number', text: m, col, value: parseNumber(m, col) });
      i += m.length;
    } else if (c === "'") {
      let j = i + 1;
      let code: number | undefined;
      if (text[j] === '\\') {
        const e = text[j + 1];
        const hx = /^x([0-9a-fA-F]{1,2})/.exec(text.slice(j + 1));
        if (hx) [code, j] = [parseInt(hx[1], 16), j + 1 + hx[0].length];
        else if (e !== undefined && e in ESCAPES) [code, j] = [ESCAPES[e], j + 2];
        else throw new ExpressionError(`unknown escape '\\${e ?? ''}' at column ${j + 1}`, j + 1);
      } else if (j < text.length && text[j] !== "'") {
        code = text.codePointAt(j)!;
        j += code > 0xffff ? 2 : 1;
      }
      if (code === undefined || text[j] !== "'")
        throw new ExpressionError(`unterminated or multi-character literal at column ${col}`, col);
      out.push({ kind: 'number', text: text.slice(i, j + 1), col, value: BigInt(code) });
      i = j + 1;
    } else if (/[A-Za-z_.$]/.test(c) || (c === '%' && /[A-Za-z]/.test(text[i + 1] ?? '') && !endsOperand())) {
      // '%name' where an operand is expected is a register; after an operand '%' is modulo.
      const m = /^[%$]?[A-Za-z_.][A-Za-z0-9_.$]*/.exec(text.slice(i));
      if (!m) throw new ExpressionError(`unexpected character '${c}' at column ${col}`, col);
      const word = m[0];
      if (word[0] === '%') out.push({ kind: 'register', text: word.slice(1).toLowerCase(), col });
      else out.push({ kind: 'ident', text: word[0] === '$' ? word.slice(1) : word, col });
      i += word.length;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (!op) throw new ExpressionError(`unexpected character '${c}' at column ${col}`, col);
      out.push({ kind: 'op', text: op, col });
      i += op.length;
    }
  }
  out.push({ kind: 'eof', text: '', col: text.length + 1 });
  return out;
}

// ---- parser (Pratt) ----

const BINARY_BP: Record<string, number> = {
  '||': 3, '&&': 5, '|': 7, '^': 9, '&': 11, '==': 13, '!=': 13, '<': 15, '<=': 15, '>': 15, '>=': 15,
  '<<': 17, '>>': 17, '+': 19, '-': 19, '*': 21, '/': 21, '%': 21,
};
const TERNARY_BP = 2;
const UNARY_BP = 23;

const SIZED_TYPES: Record<string, Pick<CType, 'size' | 'signed'>> = {};
for (const bits of [8, 16, 32, 64] as const) {
  const size = (bits / 8) as 1 | 2 | 4 | 8;
  for (const n of [`u${bits}`, `uint${bits}_t`]) SIZED_TYPES[n] = { size, signed: false };
  for (const n of [`s${bits}`, `i${bits}`, `int${bits}_t`]) SIZED_TYPES[n] = { size, signed: true };
}
SIZED_TYPES.uintptr_t = SIZED_TYPES.size_t = { size: 'ptr', signed: false };
SIZED_TYPES.intptr_t = { size: 'ptr', signed: true };
const C_WORDS = new Set(['char', 'short', 'int', 'long', 'unsigned', 'signed', 'void']);
const isTypeWord = (w: string): boolean => w in SIZED_TYPES || C_WORDS.has(w);
const PTR_SIZES: Record<string, 1 | 2 | 4 | 8> = { byte: 1, word: 2, dword: 4, qword: 8 };

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }
  private next(): Token {
    return this.tokens[Math.min(this.pos++, this.tokens.length - 1)];
  }
  private isOp(t: Token, text: string): boolean {
    return t.kind === 'op' && t.text === text;
  }
  private unexpected(t: Token): ExpressionError {
    if (t.kind === 'eof') return new ExpressionError(`unexpected end of expression at column ${t.col}`, t.col);
    const hint = this.isOp(t, '=') ? ' (use == to compare)' : '';
    return new ExpressionError(`unexpected '${t.kind === 'register' ? '%' : ''}${t.text}' at column ${t.col}${hint}`, t.col);
  }
  private expect(text: string): Token {
    const t = this.next();
    if (!this.isOp(t, text)) throw this.unexpected(t);
    return t;
  }

  parseAll(): Ast {
    if (this.peek().kind === 'eof') throw new ExpressionError('empty expression', 1);
    const e = this.parse(0);
    if (this.peek().kind !== 'eof') throw this.unexpected(this.peek());
    return e;
  }

  private parse(minBp: number): Ast {
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') break;
      if (t.text === '?') {
        if (TERNARY_BP < minBp) break;
        this.next();
        const then = this.parse(0);
        this.expect(':');
        const otherwise = this.parse(TERNARY_BP); // right-associative
        left = { kind: 'conditional', test: left, then, otherwise, col: t.col };
        continue;
      }
      const bp = BINARY_BP[t.text];
      if (bp === undefined || bp < minBp) break;
      this.next();
      const right = this.parse(bp + 1);
      left = { kind: 'binary', op: t.text as BinaryOp, left, right, col: t.col };
    }
    return left;
  }

  private prefix(): Ast {
    const t = this.next();
    const col = t.col;
    switch (t.kind) {
      case 'number': {
        const n: Ast = { kind: 'number', value: t.value!, col };
        return this.isOp(this.peek(), '(') ? this.attMemory(n) : n;
      }
      case 'register':
        return { kind: 'register', name: t.text, explicit: true, col };
      case 'ident': {
        const lower = t.text.toLowerCase();
        if (lower in PTR_SIZES) return this.sizedOperand(t, PTR_SIZES[lower]);
        if (isTypeWord(t.text)) throw new ExpressionError(`unexpected type '${t.text}' at column ${col}: casts need parentheses`, col);
        if (isRegisterName(t.text)) return { kind: 'register', name: lower, explicit: false, col };
        const s: Ast = { kind: 'symbol', name: t.text, col };
        return this.isOp(this.peek(), '(') ? this.attMemory(s) : s;
      }
      case 'eof':
        throw this.unexpected(t);
      case 'op':
        break;
    }
    switch (t.text) {
      case '(': {
        const n = this.peek();
        if (n.kind === 'ident' && isTypeWord(n.text)) {
          const type = this.parseType();
          this.expect(')');
          return { kind: 'cast', type, operand: this.parse(UNARY_BP), col };
        }
        const n1 = this.peek(1);
        if (this.isOp(n, ',') || (n.kind === 'register' && (this.isOp(n1, ',') || this.isOp(n1, ')')))) {
          this.pos--; // re-read the '(' as an AT&T operand without displacement
          return this.attMemory(undefined);
        }
        const e = this.parse(0);
        this.expect(')');
        return e;
      }
      case '[': {
        const address = this.parse(0);
        this.expect(']');
        return { kind: 'deref', address, col };
      }
      case '-': {
        // -8(%rbp) is a negative displacement, not the negation of a memory read.
        const n = this.peek();
        if (n.kind === 'number' && this.isOp(this.peek(1), '(')) {
          this.next();
          return this.attMemory({ kind: 'number', value: BigInt.asUintN(64, -n.value!), col });
        }
        return { kind: 'unary', op: '-', operand: this.parse(UNARY_BP), col };
      }
      case '+':
      case '~':
      case '!':
        return { kind: 'unary', op: t.text as UnaryOp, operand: this.parse(UNARY_BP), col };
      case '*':
        return { kind: 'deref', address: this.parse(UNARY_BP), col };
      case '&':
        return { kind: 'addressOf', operand: this.parse(UNARY_BP), col };
    }
    throw this.unexpected(t);
  }

  /** byte/word/dword/qword [ptr] followed by [expr] or an AT&T operand. */
  private sizedOperand(t: Token, size: 1 | 2 | 4 | 8): Ast {
    if (this.peek().kind === 'ident' && this.peek().text.toLowerCase() === 'ptr') this.next();
    const operand = this.prefix();
    if (operand.kind !== 'deref')
      throw new ExpressionError(`expected a memory operand after '${t.text}' at column ${operand.col}`, operand.col);
    return { ...operand, type: { name: t.text.toLowerCase(), size, signed: false, pointer: 0 } };
  }

  /** disp(%base,%index,scale) with the '(' next; bare register names are accepted inside. */
  private attMemory(disp: Ast | undefined): Ast {
    const open = this.expect('(');
    const reg = (): Ast | undefined => {
      const t = this.peek();
      if (t.kind === 'register' || (t.kind === 'ident' && isRegisterName(t.text))) {
        this.next();
        return { kind: 'register', name: t.text.toLowerCase(), explicit: t.kind === 'register', col: t.col };
      }
      return undefined;
    };
    const parts: Ast[] = disp ? [disp] : [];
    const base = reg();
    if (base) parts.push(base);
    if (this.isOp(this.peek(), ',')) {
      this.next();
      const index = reg();
      if (!index) throw this.unexpected(this.peek());
      let scale = 1n;
      if (this.isOp(this.peek(), ',')) {
        this.next();
        const s = this.next();
        if (s.kind !== 'number' || ![1n, 2n, 4n, 8n].includes(s.value!))
          throw new ExpressionError(`scale must be 1, 2, 4 or 8 at column ${s.col}`, s.col);
        scale = s.value!;
      }
      parts.push(scale === 1n ? index : { kind: 'binary', op: '*', left: index, right: { kind: 'number', value: scale, col: index.col }, col: index.col });
    }
    if (!base && parts.length === (disp ? 1 : 0)) throw this.unexpected(this.peek());
    this.expect(')');
    const address = parts.reduce((l, r) => ({ kind: 'binary', op: '+', left: l, right: r, col: r.col }));
    return { kind: 'deref', address, col: disp?.col ?? open.col };
  }

  /** C type words then '*'s: "unsigned long", "u32", "char*", "uint64_t**". */
  private parseType(): CType {
    const words: string[] = [];
    const first = this.peek();
    while (this.peek().kind === 'ident' && isTypeWord(this.peek().text)) words.push(this.next().text);
    let pointer = 0;
    while (this.isOp(this.peek(), '*')) {
      this.next();
      pointer++;
    }
    const name = words.join(' ') + (pointer ? ` ${'*'.repeat(pointer)}` : '');
    const bad = (): ExpressionError => new ExpressionError(`invalid type '${name}' at column ${first.col}`, first.col);
    if (words.length === 1 && words[0] in SIZED_TYPES) return { name, ...SIZED_TYPES[words[0]], pointer };
    if (words.some((w) => w in SIZED_TYPES)) throw bad();
    const count = (w: string): number => words.filter((x) => x === w).length;
    const unsigned = count('unsigned');
    const signed = count('signed');
    if (unsigned + signed > 1 || count('char') + count('short') + count('void') > 1 || count('long') > 2 || count('int') > 1) throw bad();
    let size: CType['size'] = 4;
    if (count('void')) {
      if (words.length > 1) throw bad();
      size = 'void';
    } else if (count('char')) {
      if (count('int') || count('long')) throw bad();
      size = 1;
    } else if (count('short')) {
      if (count('long')) throw bad();
      size = 2;
    } else if (count('long') === 2) size = 8;
    else if (count('long') === 1) size = 'long';
    return { name, size, signed: !unsigned, pointer };
  }
}

export function parseExpression(text: string): Ast {
  return new Parser(tokenize(text)).parseAll();
}

// ---- evaluation ----

interface Val extends EvalResult {
  /** Set by pointer casts: what * reads. */
  pointee?: CType;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const bool = (b: boolean): Val => ({ value: b ? 1n : 0n });

function pointerSize(ctx: EvalContext): 2 | 4 | 8 {
  return ctx.bitness === 16 ? 2 : ctx.bitness === 32 ? 4 : 8;
}

function typeSize(t: CType, ctx: EvalContext, col: number): 1 | 2 | 4 | 8 {
  if (t.pointer > 0 || t.size === 'ptr') return pointerSize(ctx);
  if (t.size === 'long') return ctx.bitness === 64 ? 8 : 4;
  if (t.size === 'void') throw new ExpressionError(`cannot use a value of type 'void'`, col);
  return t.size;
}

/** Truncates to the type's width, sign-extending for signed types. */
function convert(value: bigint, t: CType, ctx: EvalContext, col: number): Val {
  const size = typeSize(t, ctx, col);
  const signed = t.pointer === 0 && t.signed;
  const v = signed ? u64(BigInt.asIntN(size * 8, value)) : BigInt.asUintN(size * 8, value);
  return { value: v, size, ...(signed ? { signed } : {}) };
}

function readMemory(ctx: EvalContext, address: bigint, type: CType, col: number): Val {
  const size = typeSize(type, ctx, col);
  const bytes = ctx.readMemory(address, size);
  if (!bytes || bytes.length < size) throw new ExpressionError(`cannot read ${size} byte${size > 1 ? 's' : ''} at ${hex(address)}: not mapped`, col);
  let raw = 0n;
  for (let i = size - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(bytes[i]);
  const v = convert(raw, type, ctx, col);
  const pointee = type.pointer > 0 ? { ...type, pointer: type.pointer - 1 } : undefined;
  return { ...v, address, ...(pointee ? { pointee } : {}) };
}

function evalNode(n: Ast, ctx: EvalContext): Val {
  switch (n.kind) {
    case 'number':
      return { value: n.value };
    case 'register': {
      const loc = resolveRegister(n.name);
      const name = loc?.name ?? n.name;
      const value = ctx.register(name);
      if (value !== undefined) return { value: u64(value), register: name, ...(loc ? { size: Math.ceil(loc.bits / 8) } : {}) };
      if (!loc) throw new ExpressionError(`unknown register '%${n.name}'`, n.col);
      const sym = n.explicit ? undefined : ctx.symbol(n.name);
      if (sym !== undefined) return { value: u64(sym) };
      throw new ExpressionError(`register '${name}' is not available`, n.col);
    }
    case 'symbol': {
      const value = ctx.symbol(n.name) ?? ctx.register(n.name.toLowerCase());
      if (value === undefined) throw new ExpressionError(`unknown register or symbol '${n.name}'`, n.col);
      return { value: u64(value) };
    }
    case 'unary': {
      const v = evalNode(n.operand, ctx);
      const keep = v.signed ? { signed: true } : {};
      switch (n.op) {
        case '-':
          return { value: u64(-v.value), ...keep };
        case '+':
          return { value: v.value, ...keep };
        case '~':
          return { value: u64(~v.value), ...keep };
        case '!':
          return bool(v.value === 0n);
      }
      break;
    }
    case 'binary':
      return binary(n.op, n.left, n.right, n.col, ctx);
    case 'conditional':
      return evalNode(n.test, ctx).value !== 0n ? evalNode(n.then, ctx) : evalNode(n.otherwise, ctx);
    case 'cast': {
      const v = evalNode(n.operand, ctx);
      if (n.type.pointer > 0)
        return { value: v.value, pointee: { ...n.type, pointer: Math.max(0, n.type.pointer - 1) } };
      return convert(v.value, n.type, ctx, n.col);
    }
    case 'deref': {
      const a = evalNode(n.address, ctx);
      const type = n.type ?? a.pointee ?? { name: 'pointer-sized', size: 'ptr', signed: false, pointer: 0 };
      if (type.size === 'void' && type.pointer === 0) throw new ExpressionError('cannot dereference a void pointer', n.col);
      return readMemory(ctx, a.value, type, n.col);
    }
    case 'addressOf': {
      const v = evalNode(n.operand, ctx);
      if (v.address !== undefined) return { value: v.address };
      if (n.operand.kind === 'symbol') return { value: v.value };
      throw new ExpressionError('cannot take the address of a value that is not in memory', n.col);
    }
  }
  throw new Error(`unhandled expression node ${(n as Ast).kind}`);
}

function binary(op: BinaryOp, l: Ast, r: Ast, col: number, ctx: EvalContext): Val {
  if (op === '&&') return bool(evalNode(l, ctx).value !== 0n && evalNode(r, ctx).value !== 0n);
  if (op === '||') return bool(evalNode(l, ctx).value !== 0n || evalNode(r, ctx).value !== 0n);
  const a = evalNode(l, ctx);
  const b = evalNode(r, ctx);
  const signed = !!(a.signed || b.signed);
  const x = signed ? s64(a.value) : a.value;
  const y = signed ? s64(b.value) : b.value;
  const out = (v: bigint): Val => ({ value: u64(v), ...(signed ? { signed } : {}) });
  switch (op) {
    case '+': return out(a.value + b.value);
    case '-': return out(a.value - b.value);
    case '*': return out(a.value * b.value);
    case '/':
    case '%':
      if (b.value === 0n) throw new ExpressionError(op === '/' ? 'division by zero' : 'modulo by zero', col);
      return out(op === '/' ? x / y : x % y);
    case '<<': return out(b.value >= 64n ? 0n : a.value << b.value);
    case '>>':
      // Arithmetic when the left operand is signed (as in C); counts of 64 or more saturate.
      if (a.signed) return out(s64(a.value) >> (b.value >= 64n ? 63n : b.value));
      return out(b.value >= 64n ? 0n : a.value >> b.value);
    case '&': return out(a.value & b.value);
    case '^': return out(a.value ^ b.value);
    case '|': return out(a.value | b.value);
    case '==': return bool(a.value === b.value);
    case '!=': return bool(a.value !== b.value);
    case '<': return bool(x < y);
    case '<=': return bool(x <= y);
    case '>': return bool(x > y);
    case '>=': return bool(x >= y);
  }
  throw new Error(`unhandled operator ${op}`);
}

export function evaluate(expression: Ast | string, ctx: EvalContext): EvalResult {
  const ast = typeof expression === 'string' ? parseExpression(expression) : expression;
  const { pointee: _pointee, ...result } = evalNode(ast, ctx);
  return result;
}

/** For breakpoint conditions: non-zero is true. Throws ExpressionError like evaluate(). */
export function evaluateCondition(expression: Ast | string, ctx: EvalContext): boolean {
  return evaluate(expression, ctx).value !== 0n;
}

/**
 * Hex (0x…, zero-padded to `size` bytes when given) or decimal (negative for signed values),
 * after truncating to `size` bytes.
 */
export function formatValue(value: bigint, options: { hex: boolean; size?: number; signed?: boolean }): string {
  const bits = options.size ? options.size * 8 : 64;
  const v = BigInt.asUintN(bits, value);
  if (options.hex) return `0x${v.toString(16).padStart(options.size ? options.size * 2 : 1, '0')}`;
  return options.signed ? BigInt.asIntN(bits, value).toString() : v.toString();
}

/** One evaluation result in a logpoint format: x (hex), d (signed), u (unsigned), c (char), s (C string). */
function formatResult(r: EvalResult, format: string, ctx: EvalContext): string {
  const v = r.size ? BigInt.asUintN(r.size * 8, r.value) : r.value;
  switch (format) {
    case 'd': return formatValue(r.value, { hex: false, size: r.size, signed: true });
    case 'u': return v.toString();
    case 'c': return String.fromCodePoint(Number(BigInt.asUintN(21, v)));
    case 's': return readCString(r.value, ctx);
    case 'x': return formatValue(v, { hex: true });
  }
  return r.signed ? formatValue(r.value, { hex: false, size: r.size, signed: true }) : v.toString();
}

function readCString(address: bigint, ctx: EvalContext, max = 256): string {
  const bytes: number[] = [];
  for (let i = 0n; i < BigInt(max); i++) {
    const b = ctx.readMemory(u64(address + i), 1);
    if (!b || b.length < 1) {
      if (i === 0n) throw new ExpressionError(`cannot read 1 byte at ${hex(address)}: not mapped`);
      break;
    }
    if (b[0] === 0) break;
    bytes.push(b[0]);
  }
  return Buffer.from(bytes).toString('latin1');
}

/**
 * Expands a logpoint message: each {expr} or {expr,f} (f one of x d u c s) becomes its value, hex
 * by default; {{ and }} are literal braces. A failing expression becomes "{error: message}".
 */
export function interpolate(template: string, ctx: EvalContext, options: { hex?: boolean } = {}): string {
  const defaultFormat = options.hex === false ? '' : 'x';
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      out += c;
      i += 2;
      continue;
    }
    if (c !== '{') {
      out += c;
      i++;
      continue;
    }
    const end = closingBrace(template, i + 1);
    if (end < 0) {
      out += template.slice(i);
      break;
    }
    let expr = template.slice(i + 1, end);
    let format = defaultFormat;
    const m = /,\s*([xducs])\s*$/.exec(expr);
    if (m) [expr, format] = [expr.slice(0, m.index), m[1]];
    try {
      out += formatResult(evaluate(expr, ctx), format, ctx);
    } catch (e) {
      out += `{error: ${e instanceof Error ? e.message : String(e)}}`;
    }
    i = end + 1;
  }
  return out;
}

/** Index of the '}' closing an expression starting at `from`, skipping character literals; -1 if none. */
function closingBrace(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '}') return i;
    if (s[i] === "'") {
      const close = s.indexOf("'", i + (s[i + 1] === '\\' ? 3 : 2));
      if (close < 0) return -1;
      i = close;
    }
  }
  return -1;
}

/** An EvalContext over register snapshots, a symbol table and a memory reader. */
export function createEvalContext(options: {
  bitness: Bitness;
  regs?: Regs;
  sregs?: SRegs;
  symbols?: Map<string, bigint> | Record<string, bigint> | ((name: string) => bigint | undefined);
  readMemory?: (address: bigint, size: number) => Uint8Array | undefined;
}): EvalContext {
  const { symbols } = options;
  return {
    bitness: options.bitness,
    register: (name) => (options.regs ? readRegister(name, options.regs, options.sregs) : undefined),
    symbol: (name) =>
      typeof symbols === 'function'
        ? symbols(name)
        : symbols instanceof Map
          ? symbols.get(name)
          : symbols && Object.prototype.hasOwnProperty.call(symbols, name)
            ? symbols[name]
            : undefined,
    readMemory: (address, size) => options.readMemory?.(address, size),
  };
}
