// Semantic tokens: what each word is, as the index sees it (an instruction or a macro call, a
// code or data label, a constant, a #define), and preprocessor-removed lines as comments.
import type { SemanticTokens, SemanticTokensLegend } from 'vscode-languageserver-types';
import { findDefinitions } from '../index/resolve';
import type { Definition, Token } from '../parser/types';
import type { ServerContext } from '../server/context';

const TYPES = ['keyword', 'macro', 'function', 'label', 'variable', 'parameter', 'number', 'string', 'comment', 'namespace', 'enumMember'] as const;
const MODIFIERS = ['declaration', 'defaultLibrary', 'readonly'] as const;
type TokenType = (typeof TYPES)[number];

export const SEMANTIC_LEGEND: SemanticTokensLegend = { tokenTypes: [...TYPES], tokenModifiers: [...MODIFIERS] };

const typeIndex = (t: TokenType): number => TYPES.indexOf(t);
const DECL = 1;
const LIB = 2;
const READONLY = 4;

export function semanticTokens(ctx: ServerContext, file: string, fromLine = 0, toLine = Number.MAX_SAFE_INTEGER): SemanticTokens {
  const parsed = ctx.index.get(file);
  if (parsed === undefined || parsed.kind === 'c') return { data: [] };
  const cache = new Map<string, Definition | null>();
  const defOf = (name: string): Definition | null => {
    let d = cache.get(name);
    if (d === undefined) {
      const all = findDefinitions(ctx.index, file, name);
      d = all.find((x) => x.kind === 'define') ?? all.find((x) => !x.soft) ?? all[0] ?? null;
      cache.set(name, d);
    }
    return d;
  };
  const inactive = new Set<number>();
  for (const [a, b] of parsed.inactive) for (let l = a; l <= b; l++) inactive.add(l);
  const data: number[] = [];
  let prevLine = 0;
  let prevChar = 0;
  const emit = (line: number, start: number, length: number, type: TokenType, mods = 0): void => {
    if (length <= 0) return;
    const dl = line - prevLine;
    data.push(dl, dl === 0 ? start - prevChar : start, length, typeIndex(type), mods);
    prevLine = line;
    prevChar = start;
  };
  const last = Math.min(toLine, parsed.lineCount - 1);
  for (let line = Math.max(0, fromLine); line <= last; line++) {
    if (inactive.has(line)) {
      emit(line, 0, ctx.lineText(file, line).length, 'comment');
      continue;
    }
    for (const t of parsed.tokens[line]) {
      const c = classify(t, defOf);
      if (c) emit(line, t.start, t.end - t.start, c[0], c[1]);
    }
  }
  return { data };
}

function classify(t: Token, defOf: (n: string) => Definition | null): [TokenType, number] | undefined {
  switch (t.kind) {
    case 'mnemonic': {
      const d = defOf(t.text);
      if (d?.kind === 'macro') return ['function', 0];
      if (d?.kind === 'define') return ['macro', 0];
      return ['keyword', 0];
    }
    case 'prefix':
    case 'keyword':
      return ['keyword', 0];
    case 'directive':
      return ['macro', LIB];
    case 'preproc':
      return ['macro', 0];
    case 'register':
      return ['variable', LIB];
    case 'label':
    case 'numlabel':
      return ['label', DECL];
    case 'numref':
      return ['label', 0];
    case 'macro-def':
      return ['function', DECL];
    case 'define-def':
      return ['macro', DECL];
    case 'const-def':
    case 'comm-def':
      return ['variable', DECL | READONLY];
    case 'param':
      return ['parameter', 0];
    case 'number':
      return ['number', 0];
    case 'string':
    case 'include-path':
      return ['string', 0];
    case 'comment':
      return ['comment', 0];
    case 'section':
      return ['namespace', 0];
    case 'symbol': {
      const d = defOf(t.text);
      if (d === null) return ['variable', 0];
      if (d.kind === 'define') return ['macro', 0];
      if (d.kind === 'macro') return ['function', 0];
      if (d.kind === 'label') return ['label', 0];
      return ['variable', READONLY];
    }
  }
  return undefined;
}
