// What the parser produces for one file: tokens per line, statements, definitions, references,
// includes, conditional and foldable regions.

export type Bits = 16 | 32 | 64;
export type Syntax = 'att' | 'intel';
/** `asm`: plain GNU as (.s); `asm-cpp`: through the C preprocessor (.S, headers); `c`: C (not parsed). */
export type FileKind = 'asm' | 'asm-cpp' | 'c';

export type TokenKind =
  | 'label' // label definition
  | 'numlabel' // numeric local label definition `1:`
  | 'numref' // `1b` / `1f`
  | 'mnemonic' // statement head: an instruction or a macro invocation (told apart with the index)
  | 'prefix'
  | 'directive'
  | 'preproc' // `#include`, `#define`, ...
  | 'register'
  | 'symbol' // a name used in an expression
  | 'number'
  | 'string'
  | 'comment'
  | 'param' // macro parameter, declared or used as `\name`
  | 'macro-def'
  | 'const-def' // .equ/.set/= name
  | 'define-def' // #define name
  | 'comm-def'
  | 'section'
  | 'keyword' // Intel `ptr`, `offset`, directive keywords such as `noprefix`
  | 'include-path';

export interface Token {
  line: number;
  start: number;
  end: number;
  kind: TokenKind;
  text: string;
  /** Symbol use that must not be reported when undefined (.globl, .ifdef, #if, macro bodies, #define bodies). */
  noCheck?: boolean;
  /** For `numref`: 'b' or 'f'. For `param` uses: the macro's name. */
  extra?: string;
  /** Index into ParsedFile.statements. */
  stmt?: number;
}

/** Branches of `#if`/`.if` chains a line sits in: [chain id, branch index] from outermost. */
export type CondPath = ReadonlyArray<readonly [number, number]>;

export interface Operand {
  start: number;
  end: number;
  text: string;
}

export interface Statement {
  line: number;
  start: number;
  end: number;
  labels: Token[];
  kind: 'instruction' | 'directive' | 'assignment' | 'empty';
  head?: Token;
  prefixes: Token[];
  operands: Operand[];
  /** Column where the operands start (after the head). */
  operandsStart: number;
  bits: Bits | undefined;
  syntax: Syntax;
  /** Registers need `%`. */
  regPrefix: boolean;
  /** Inside a .macro body (`macro`) or a .rept/.irp body (`repeat`): expanded elsewhere. */
  scope: 'top' | 'macro' | 'repeat';
  macro?: string;
  cond: CondPath;
  section: string;
}

export type DefinitionKind = 'label' | 'numlabel' | 'macro' | 'equ' | 'set' | 'define' | 'comm' | 'param';

export interface Definition {
  name: string;
  kind: DefinitionKind;
  file: string;
  line: number;
  start: number;
  end: number;
  /** Expression of .equ/.set/=, body of #define. */
  value?: string;
  /** Macro parameters (with defaults) or function-like #define parameters. */
  params?: string[];
  section?: string;
  /** Inside a macro or repeat body: defined once per expansion, not checked for duplicates. */
  soft?: boolean;
  cond: CondPath;
  /** Macro: the body's lines [first, last]. */
  body?: { start: number; end: number };
  /** Label: code follows it. */
  isCode?: boolean;
  /** For params: the macro they belong to. */
  owner?: string;
  stmt?: number;
}

export interface IncludeDirective {
  line: number;
  start: number;
  end: number;
  spec: string;
  via: 'cpp' | 'gas' | 'incbin';
  angle: boolean;
  /** Absolute path, when found. */
  resolved?: string;
}

export interface DefineInfo {
  name: string;
  params?: string[];
  body: string;
  /** Where it was defined; '' for predefined names. */
  file: string;
  line: number;
}

/** A preprocessor directive as written, replayed by includers in their own context. */
export interface CppEvent {
  w: string;
  text: string;
  def?: DefineInfo;
  /** For #include: the resolved file. */
  inc?: string;
}

export interface FoldRegion {
  start: number;
  end: number;
  kind?: 'comment' | 'region';
}

export interface SectionRegion {
  name: string;
  line: number;
  start: number;
  end: number;
}

export interface ParseProblem {
  line: number;
  start: number;
  end: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface ParsedFile {
  path: string;
  version: number;
  kind: FileKind;
  lineCount: number;
  /** Tokens of each line, by start column. */
  tokens: Token[][];
  statements: Statement[];
  defs: Definition[];
  /** Names used (symbol tokens and statement heads), by name. */
  refs: Map<string, Token[]>;
  /** Numeric label definitions by number, in file order. */
  numericDefs: Map<string, Token[]>;
  includes: IncludeDirective[];
  folds: FoldRegion[];
  /** Lines removed by the preprocessor (inclusive ranges). */
  inactive: Array<[number, number]>;
  sections: SectionRegion[];
  /** #defines visible at the end of the file. */
  defines: Map<string, DefineInfo>;
  /** Its preprocessor directives, for files that include it. */
  cppEvents: CppEvent[];
  problems: ParseProblem[];
  /** Comment text per line (without markers), for documentation. */
  comments: Array<string | undefined>;
  /** Lines with code (not only comments or blanks). */
  codeLines: Uint8Array;
  /** The first .code16/32/64 seen, if any. */
  firstBits?: Bits;
  /** Prefixes of label names made in macro/repeat bodies from parameters (`label\@`, `isr\n`). */
  generatedPrefixes: string[];
  /** Index of the first statement of each line, -1 for none. */
  lineStatement: Int32Array;
  /** Names declared .globl/.global. */
  globals: Set<string>;
  /** Names declared .weak: an undefined weak symbol links as 0. */
  weaks: Set<string>;
  /** The build mode of the source (see WorkspaceIndex.parseText for the order), set by the index. */
  detectedMode?: 'real' | 'protected' | 'paged32' | 'long';
  /** Where detectedMode comes from ('default': nothing says, the build's 32-bit default; see index/build-mode.ts). */
  modeSource?: 'compile_commands' | 'includer' | 'marker' | 'own-build' | 'setting' | 'heuristic' | 'default';
  /** The compilation-database flags the file is parsed with (its own entry or its includer's). */
  compileFlags?: import('../build-info/compile-commands').CompileFlags;
  /** Every .code16/32/64 seen outside macro bodies. */
  codeBits: Set<Bits>;
  /** Names declared .extern (GNU as ignores it: every undefined name is external). */
  externs: Set<string>;
}
