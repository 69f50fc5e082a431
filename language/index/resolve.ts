// What a token means: the definition a name, a numeric label reference or a macro parameter
// resolves to, and every use of a definition across the files assembled with it.
import type { Definition, ParsedFile, Token } from '../parser/types';
import type { WorkspaceIndex } from './workspace-index';

/** The token at (line, character); a cursor just after a word still finds the word. */
export function tokenAt(parsed: ParsedFile, line: number, character: number): Token | undefined {
  const toks = parsed.tokens[line];
  if (toks === undefined) return undefined;
  let after: Token | undefined;
  for (const t of toks) {
    if (t.start <= character && character < t.end) return t;
    if (t.end === character && t.kind !== 'comment') after = t;
  }
  return after;
}

/** The `1:` a `1b`/`1f` refers to: the closest one before (b) or after (f) the use. */
export function resolveNumeric(parsed: ParsedFile, ref: Token): Token | undefined {
  const defs = parsed.numericDefs.get(ref.text);
  if (defs === undefined) return undefined;
  const before = (d: Token): boolean => d.line < ref.line || (d.line === ref.line && d.start < ref.start);
  if (ref.extra === 'b') {
    let best: Token | undefined;
    for (const d of defs) {
      if (before(d)) best = d;
      else break;
    }
    return best;
  }
  for (const d of defs) if (!before(d)) return d;
  return undefined;
}

/** Uses of a numeric label definition in its file. */
export function numericUses(parsed: ParsedFile, def: Token): Token[] {
  const out: Token[] = [];
  for (let l = 0; l < parsed.lineCount; l++) {
    for (const t of parsed.tokens[l]) {
      if (t.kind === 'numref' && t.text === def.text && resolveNumeric(parsed, t) === def) out.push(t);
    }
  }
  return out;
}

const NAMED_KINDS = new Set(['label', 'macro', 'equ', 'set', 'define', 'comm']);

/** Definitions of `name` visible from `file`: same file first, then its includes, then the rest of its scope; global symbols of other files last. */
export function findDefinitions(index: WorkspaceIndex, file: string, name: string): Definition[] {
  const out: Definition[] = [];
  const scope = index.scope(file);
  for (const f of scope) for (const d of index.definitionsNamed(f, name)) if (NAMED_KINDS.has(d.kind)) out.push(d);
  if (out.length > 0) return out;
  // Across the workspace: a .globl label of another object linked with this one.
  const inScope = new Set(scope);
  for (const f of index.filesDefining(name)) {
    if (inScope.has(f)) continue;
    const p = index.get(f);
    if (p?.globals.has(name)) for (const d of index.definitionsNamed(f, name)) if (d.kind === 'label' || d.kind === 'comm') out.push(d);
  }
  return out;
}

/** Prefer the definition the assembler uses: a macro for a statement head, else the first one. */
export function bestDefinition(defs: Definition[], token: Token): Definition | undefined {
  if (defs.length === 0) return undefined;
  if (token.kind === 'mnemonic') return defs.find((d) => d.kind === 'macro') ?? defs.find((d) => d.kind === 'define' && d.params === undefined);
  // The preprocessor runs first: a #define of the name wins over a label.
  return defs.find((d) => d.kind === 'define') ?? defs.find((d) => !d.soft) ?? defs[0];
}

/** The macro parameter a `\name` use (or the declaration) belongs to. */
export function resolveParam(index: WorkspaceIndex, file: string, tok: Token): Definition | undefined {
  const candidates = index.definitionsNamed(file, tok.text).filter((d) => d.kind === 'param' && d.owner === tok.extra);
  let best: Definition | undefined;
  for (const d of candidates) if (d.line <= tok.line && (best === undefined || d.line > best.line)) best = d;
  return best;
}

export interface Resolved {
  token: Token;
  /** Where the name is defined, when it is a name. */
  def?: Definition;
  /** For numeric labels: the `N:` token. */
  numeric?: Token;
  /** Every visible definition (duplicates included). */
  all?: Definition[];
}

export function resolveAt(index: WorkspaceIndex, file: string, line: number, character: number): Resolved | undefined {
  const parsed = index.get(file);
  if (parsed === undefined) return undefined;
  const token = tokenAt(parsed, line, character);
  if (token === undefined) return undefined;
  switch (token.kind) {
    case 'numref':
      return { token, numeric: resolveNumeric(parsed, token) };
    case 'numlabel':
      return { token, numeric: token };
    case 'param':
      return { token, def: resolveParam(index, file, token) };
    case 'label':
    case 'const-def':
    case 'define-def':
    case 'macro-def':
    case 'comm-def': {
      const own = index.definitionsNamed(file, token.text).find((d) => d.line === token.line && d.start === token.start);
      return { token, def: own, all: findDefinitions(index, file, token.text) };
    }
    case 'symbol':
    case 'mnemonic': {
      const all = findDefinitions(index, file, token.text);
      // The #define in force here, after the preprocessor ran the includes in this file's context.
      const active = parsed.defines.get(token.text);
      const def = (active && all.find((d) => d.kind === 'define' && d.file === active.file && d.line === active.line)) || bestDefinition(all, token);
      return { token, def, all };
    }
  }
  return { token };
}

export interface Use {
  file: string;
  token: Token;
  /** The definition site itself. */
  isDefinition: boolean;
}

/** Every use of `def` in the files that see it (and in the workspace, for .globl symbols). */
export function usesOf(index: WorkspaceIndex, def: Definition, isCancelled: () => boolean = () => false): Use[] {
  const out: Use[] = [];
  if (def.kind === 'param') {
    const parsed = index.get(def.file);
    if (parsed === undefined) return out;
    for (let l = def.line; l < parsed.lineCount; l++) {
      for (const t of parsed.tokens[l]) {
        if (t.kind === 'param' && t.text === def.name && t.extra === def.owner) out.push({ file: def.file, token: t, isDefinition: l === def.line && t.start === def.start });
      }
      if (l > def.line && parsed.tokens[l].some((t) => t.kind === 'directive' && /^\.(?:endm|endmacro|endr)$/i.test(t.text))) break;
    }
    return out;
  }
  const files = new Set(index.scope(def.file));
  if (index.get(def.file)?.globals.has(def.name)) {
    // Other objects may use it without defining it themselves.
    for (const f of index.filesUsing(def.name)) {
      if (files.has(f)) continue;
      if (findDefinitions(index, f, def.name).some((d) => d.file === def.file)) files.add(f);
    }
  }
  const isMacroLike = def.kind === 'macro' || (def.kind === 'define' && def.params === undefined);
  for (const f of files) {
    if (isCancelled()) break;
    const parsed = index.get(f);
    if (parsed === undefined) continue;
    for (const d of index.definitionsNamed(f, def.name)) {
      if (d.kind === 'param' || !sameKindFamily(d, def)) continue;
      out.push({ file: f, token: { line: d.line, start: d.start, end: d.end, kind: 'label', text: d.name }, isDefinition: true });
    }
    for (const t of parsed.refs.get(def.name) ?? []) {
      if (t.kind === 'mnemonic' && !isMacroLike) continue;
      out.push({ file: f, token: t, isDefinition: false });
    }
  }
  return out;
}

function sameKindFamily(a: Definition, b: Definition): boolean {
  const family = (d: Definition): string => (d.kind === 'macro' ? 'macro' : d.kind === 'define' ? 'define' : 'symbol');
  return family(a) === family(b);
}
