// The state a parse builds up (tokens, statements, definitions, conditional stacks) and the
// small helpers every part of the parser uses to record them.
import type {
  Bits, CondPath, CppEvent, Definition, DefineInfo, FileKind, FoldRegion, IncludeDirective, ParseProblem,
  SectionRegion, Statement, Syntax, Token,
} from './types';
import { NO_TOKENS } from './lexical';

export interface ParseOptions {
  path: string;
  version?: number;
  kind: FileKind;
  /** Mode before the first .code directive (from the build mode); undefined when not known. */
  initialBits?: Bits;
  /** Names the preprocessor knows before the first line (__ASSEMBLER__, KVM_GUEST_BITS, ...). */
  predefined?: ReadonlyMap<string, DefineInfo>;
  /** Names whose definition depends on a build mode we do not know: `#if` on them is left open. */
  unknownDefines?: ReadonlySet<string>;
  resolveInclude?(spec: string, angle: boolean, via: IncludeDirective['via']): string | undefined;
  /** Preprocessor directives of a resolved include (its ParsedFile.cppEvents), when it is indexed. */
  cppEventsOf?(path: string): readonly CppEvent[] | undefined;
}

export interface CppFrame {
  id: number;
  branch: number;
  /** This branch: kept, dropped, or kept without knowing (the condition depends on the mode). */
  state: 'on' | 'off' | 'maybe';
  taken: 'yes' | 'no' | 'maybe';
  parentOn: boolean;
  line: number;
  branchLine: number;
}

export interface GasFrame {
  id: number;
  branch: number;
  line: number;
  branchLine: number;
}

export abstract class ParserState {
  protected readonly lines: string[];
  protected readonly cpp: boolean;
  protected readonly tokens: Token[][];
  protected readonly statements: Statement[] = [];
  protected readonly defs: Definition[] = [];
  protected readonly refs = new Map<string, Token[]>();
  protected readonly numericDefs = new Map<string, Token[]>();
  protected readonly includes: IncludeDirective[] = [];
  protected readonly folds: FoldRegion[] = [];
  protected readonly inactive: Array<[number, number]> = [];
  protected readonly sections: SectionRegion[] = [];
  protected readonly problems: ParseProblem[] = [];
  protected readonly comments: Array<string | undefined>;
  protected readonly codeLines: Uint8Array;
  protected readonly lineStatement: Int32Array;
  protected readonly defines: Map<string, DefineInfo>;
  protected readonly generatedPrefixes = new Set<string>();
  protected readonly globals = new Set<string>();
  protected readonly weaks = new Set<string>();
  protected readonly externs = new Set<string>();
  protected readonly codeBits = new Set<Bits>();
  protected readonly cppEvents: CppEvent[] = [];

  protected bits: Bits | undefined;
  protected firstBits: Bits | undefined;
  protected syntax: Syntax = 'att';
  protected regPrefix = true;
  protected section = '.text';
  protected readonly sectionStack: string[] = [];
  protected previousSection = '.text';
  protected readonly macroStack: Array<{ def: Definition; line: number }> = [];
  protected readonly repeatStack: Array<{ line: number; param?: string }> = [];
  protected readonly cppStack: CppFrame[] = [];
  protected readonly gasStack: GasFrame[] = [];
  protected condId = 0;
  protected condPath: CondPath = [];
  protected inactiveFrom = -1;
  protected readonly scanOptions: { cpp: boolean };

  constructor(text: string, protected readonly opts: ParseOptions) {
    this.lines = text.includes('\r') ? text.split(/\r\n|\n|\r/) : text.split('\n');
    this.cpp = opts.kind === 'asm-cpp' || opts.kind === 'c';
    this.scanOptions = { cpp: this.cpp };
    const n = this.lines.length;
    this.tokens = new Array<Token[]>(n);
    // Lines share one empty array until they get a token (most allocations of a parse are here).
    for (let i = 0; i < n; i++) this.tokens[i] = NO_TOKENS;
    this.comments = new Array<string | undefined>(n);
    this.codeLines = new Uint8Array(n);
    this.lineStatement = new Int32Array(n).fill(-1);
    this.bits = opts.initialBits;
    this.defines = new Map(opts.predefined ?? []);
  }


  protected push(t: Token): Token {
    const list = this.tokens[t.line];
    if (list === NO_TOKENS) this.tokens[t.line] = [t];
    else list.push(t);
    return t;
  }

  protected ref(t: Token): Token {
    this.push(t);
    let list = this.refs.get(t.text);
    if (list === undefined) this.refs.set(t.text, (list = []));
    list.push(t);
    return t;
  }

  protected define(d: Omit<Definition, 'file' | 'cond'>): Definition {
    const def = d as Definition;
    def.file = this.opts.path;
    def.cond = this.condPath;
    this.defs.push(def);
    return def;
  }

  protected scope(): Statement['scope'] {
    return this.macroStack.length > 0 ? 'macro' : this.repeatStack.length > 0 ? 'repeat' : 'top';
  }

  protected problem(line: number, start: number, end: number, message: string, severity: ParseProblem['severity'] = 'error'): void {
    this.problems.push({ line, start, end, message, severity });
  }

  protected rebuildCondPath(): void {
    const path: Array<readonly [number, number]> = [];
    for (const f of this.cppStack) path.push([f.id, f.branch]);
    for (const f of this.gasStack) path.push([f.id, f.branch]);
    this.condPath = path;
  }

}
