// Go to definition, find references, highlights and rename for labels (numeric ones too),
// macros, macro parameters, .equ/.set constants and #defines, across the include graph.
import { DocumentHighlight, DocumentHighlightKind, Location, Range, TextEdit, WorkspaceEdit } from 'vscode-languageserver-types';
import { numericUses, resolveAt, usesOf, type Resolved } from '../index/resolve';
import type { Definition, Token } from '../parser/types';
import type { ServerContext } from '../server/context';
import { tokenRange } from './hover';

export function definition(ctx: ServerContext, file: string, line: number, character: number): Location[] | null {
  const r = resolveAt(ctx.index, file, line, character);
  if (r === undefined) return null;
  if (r.token.kind === 'include-path') {
    const inc = ctx.index.get(file)?.includes.find((i) => i.line === r.token.line && i.start === r.token.start);
    if (inc?.resolved) return [{ uri: ctx.uris.toUri(inc.resolved), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }];
    return null;
  }
  if (r.numeric) return [{ uri: ctx.uris.toUri(file), range: tokenRange(r.numeric) }];
  const defs = r.all && r.all.length > 0 && r.token.kind !== 'param' ? preferred(r) : r.def ? [r.def] : [];
  const out = defs.filter((d) => d.file !== '').map((d) => ({ uri: ctx.uris.toUri(d.file), range: defRange(d) }));
  return out.length ? out : null;
}

/** For a statement head only the macro; otherwise every visible definition (duplicates too). */
function preferred(r: Resolved): Definition[] {
  const all = r.all ?? [];
  if (r.token.kind === 'mnemonic') return r.def ? [r.def] : [];
  if (r.def?.kind === 'define') return [r.def];
  return all.filter((d) => !d.soft).length ? all.filter((d) => !d.soft) : all;
}

function defRange(d: Definition): Range {
  return { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } };
}

/** Uses of the symbol at the position: [file, token, isDefinition][]. */
function uses(ctx: ServerContext, file: string, line: number, character: number, isCancelled?: () => boolean): Array<{ file: string; token: Token; isDefinition: boolean }> | undefined {
  const r = resolveAt(ctx.index, file, line, character);
  if (r === undefined) return undefined;
  if (r.numeric) {
    const parsed = ctx.index.get(file);
    if (parsed === undefined) return undefined;
    return [{ file, token: r.numeric, isDefinition: true }, ...numericUses(parsed, r.numeric).map((t) => ({ file, token: t, isDefinition: false }))];
  }
  if (r.def === undefined) return undefined;
  return usesOf(ctx.index, r.def, isCancelled);
}

export function references(ctx: ServerContext, file: string, line: number, character: number, includeDeclaration: boolean, isCancelled?: () => boolean): Location[] | null {
  const list = uses(ctx, file, line, character, isCancelled);
  if (list === undefined) return null;
  return list
    .filter((u) => includeDeclaration || !u.isDefinition)
    .map((u) => ({ uri: ctx.uris.toUri(u.file), range: tokenRange(u.token) }));
}

export function highlights(ctx: ServerContext, file: string, line: number, character: number): DocumentHighlight[] | null {
  const list = uses(ctx, file, line, character);
  if (list === undefined) return null;
  return list
    .filter((u) => u.file === file)
    .map((u) => ({ range: tokenRange(u.token), kind: u.isDefinition ? DocumentHighlightKind.Write : DocumentHighlightKind.Read }));
}

const RENAMABLE = new Set(['label', 'numlabel', 'numref', 'symbol', 'mnemonic', 'const-def', 'define-def', 'macro-def', 'comm-def', 'param']);

export function prepareRename(ctx: ServerContext, file: string, line: number, character: number): { range: Range; placeholder: string } | null {
  const r = resolveAt(ctx.index, file, line, character);
  if (r === undefined || !RENAMABLE.has(r.token.kind)) return null;
  if (r.token.kind === 'numref' || r.token.kind === 'numlabel') {
    if (!r.numeric) return null;
    return { range: { start: { line: r.token.line, character: r.token.start }, end: { line: r.token.line, character: r.token.start + r.token.text.length } }, placeholder: r.token.text };
  }
  if (r.def === undefined || r.def.file === '') return null;
  const range = tokenRange(r.token);
  if (r.token.kind === 'param' && ctx.lineText(file, r.token.line)[r.token.start] === '\\') range.start.character++;
  return { range, placeholder: r.token.text };
}

export class RenameError extends Error {}

export function rename(ctx: ServerContext, file: string, line: number, character: number, newName: string): WorkspaceEdit | null {
  const r = resolveAt(ctx.index, file, line, character);
  if (r === undefined || !RENAMABLE.has(r.token.kind)) return null;
  const numeric = r.numeric !== undefined;
  if (numeric ? !/^[0-9]+$/.test(newName) : !/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(newName)) {
    throw new RenameError(numeric ? `'${newName}' is not a numeric local label (digits only)` : `'${newName}' is not a valid symbol name`);
  }
  if (!numeric && (r.def === undefined || r.def.file === '')) return null;
  const list = uses(ctx, file, line, character);
  if (list === undefined) return null;
  const changes: Record<string, TextEdit[]> = {};
  const seen = new Set<string>();
  for (const u of list) {
    const key = `${u.file}:${u.token.line}:${u.token.start}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const uri = ctx.uris.toUri(u.file);
    // `1b` keeps its direction letter; a parameter use keeps its backslash.
    let start = u.token.start;
    let end = u.token.end;
    if (u.token.kind === 'numref') end = start + u.token.text.length;
    if (u.token.kind === 'param' && ctx.lineText(u.file, u.token.line)[start] === '\\') start++;
    (changes[uri] ??= []).push({ range: { start: { line: u.token.line, character: start }, end: { line: u.token.line, character: end } }, newText: newName });
  }
  return { changes };
}
