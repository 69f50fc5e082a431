// Document symbols (sections holding their labels; macros, constants and #defines) and
// workspace symbols (every named definition in the index).
import * as path from 'node:path';
import { DocumentSymbol, SymbolInformation, SymbolKind } from 'vscode-languageserver-types';
import type { Definition, ParsedFile } from '../parser/types';
import type { ServerContext } from '../server/context';

function kindOf(d: Definition): SymbolKind {
  switch (d.kind) {
    case 'label':
      return d.isCode ? SymbolKind.Function : SymbolKind.Variable;
    case 'macro':
      return SymbolKind.Method;
    case 'define':
      return d.params ? SymbolKind.Function : SymbolKind.Constant;
    case 'comm':
      return SymbolKind.Variable;
    default:
      return SymbolKind.Constant;
  }
}

function detailOf(d: Definition): string {
  switch (d.kind) {
    case 'label':
      return d.isCode ? 'code' : 'data';
    case 'macro':
      return `.macro${d.params?.length ? ' ' + d.params.join(', ') : ''}`;
    case 'define':
      return `#define${d.params ? `(${d.params.join(', ')})` : ''} ${d.value ?? ''}`.trim();
    case 'equ':
      return `.equ ${d.value ?? ''}`;
    case 'set':
      return `.set ${d.value ?? ''}`;
    case 'comm':
      return '.comm';
    default:
      return '';
  }
}

const SHOWN = new Set(['label', 'macro', 'define', 'equ', 'set', 'comm']);

export function documentSymbols(ctx: ServerContext, file: string): DocumentSymbol[] {
  const parsed = ctx.index.get(file);
  if (parsed === undefined || parsed.kind === 'c') return [];
  const lineEnd = (line: number): number => ctx.lineText(file, line).length;
  const sym = (d: Definition, endLine = d.line): DocumentSymbol => ({
    name: d.name, detail: detailOf(d), kind: kindOf(d),
    range: { start: { line: d.line, character: 0 }, end: { line: endLine, character: lineEnd(endLine) } },
    selectionRange: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } },
  });
  const top: DocumentSymbol[] = [];
  // Sections in file order, each holding the labels defined while it was current.
  const sections = sectionSpans(parsed);
  const sectionSymbols = sections.map((s) => ({
    name: s.name, detail: 'section', kind: SymbolKind.Namespace,
    range: { start: { line: s.line, character: 0 }, end: { line: s.end, character: lineEnd(s.end) } },
    selectionRange: { start: { line: s.line, character: s.start }, end: { line: s.line, character: s.nameEnd } },
    children: [] as DocumentSymbol[],
  }));
  const labelEnds = labelBlockEnds(parsed);
  for (const d of parsed.defs) {
    if (!SHOWN.has(d.kind) || d.name === '' || (d.soft && d.kind !== 'macro')) continue;
    if (d.kind === 'label') {
      let s: (typeof sectionSymbols)[number] | undefined;
      for (const x of sectionSymbols) if (x.range.start.line <= d.line) s = x;
      const symbol = sym(d, labelEnds.get(d) ?? d.line);
      if (s) s.children.push(symbol);
      else top.push(symbol);
      continue;
    }
    top.push(sym(d, d.kind === 'macro' && d.body ? Math.min(d.body.end + 1, parsed.lineCount - 1) : d.line));
  }
  return [...top, ...sectionSymbols].sort((a, b) => a.range.start.line - b.range.start.line);
}

function sectionSpans(parsed: ParsedFile): Array<{ name: string; line: number; start: number; nameEnd: number; end: number }> {
  const out = parsed.sections.map((s, i) => ({
    name: s.name, line: s.line, start: s.start, nameEnd: s.end,
    end: i + 1 < parsed.sections.length ? Math.max(s.line, parsed.sections[i + 1].line - 1) : parsed.lineCount - 1,
  }));
  // Labels before any section directive are in .text.
  const firstLabel = parsed.defs.find((d) => d.kind === 'label' && !d.soft);
  if (firstLabel && (out.length === 0 || firstLabel.line < out[0].line)) {
    out.unshift({ name: '.text', line: 0, start: 0, nameEnd: 0, end: out.length ? out[0].line - 1 : parsed.lineCount - 1 });
  }
  return out;
}

/** A label's symbol spans up to the next label or section change. */
function labelBlockEnds(parsed: ParsedFile): Map<Definition, number> {
  const starts = parsed.defs.filter((d) => d.kind === 'label' && !d.soft).map((d) => d.line);
  const breaks = [...new Set([...starts, ...parsed.sections.map((s) => s.line)])].sort((a, b) => a - b);
  const out = new Map<Definition, number>();
  for (const d of parsed.defs) {
    if (d.kind !== 'label' || d.soft) continue;
    const next = breaks.find((l) => l > d.line);
    let end = next === undefined ? parsed.lineCount - 1 : next - 1;
    while (end > d.line && !parsed.codeLines[end]) end--;
    out.set(d, end);
  }
  return out;
}

/**
 * Every definition whose name contains the query's characters in order (case-insensitive).
 * Works through the names in slices, yielding between them, so a cancellation can land.
 */
export async function workspaceSymbols(ctx: ServerContext, query: string, isCancelled: () => boolean = () => false, limit = 500): Promise<SymbolInformation[] | 'cancelled'> {
  const q = query.toLowerCase();
  const out: SymbolInformation[] = [];
  const matches = (name: string): boolean => {
    const n = name.toLowerCase();
    let i = 0;
    for (let k = 0; k < n.length && i < q.length; k++) if (n[k] === q[i]) i++;
    return i === q.length;
  };
  let count = 0;
  for (const name of [...ctx.index.allDefinitionNames()]) {
    if (out.length >= limit) break;
    if (++count % 2000 === 0) {
      await new Promise((r) => setImmediate(r));
      if (isCancelled()) return 'cancelled';
    }
    if (!matches(name)) continue;
    for (const file of ctx.index.filesDefining(name)) {
      for (const d of ctx.index.definitionsNamed(file, name)) {
        if (!SHOWN.has(d.kind) || d.soft) continue;
        out.push({
          name: d.name, kind: kindOf(d), containerName: `${path.basename(file)}${d.kind === 'label' ? ' ' + (d.section ?? '') : ''}`,
          location: { uri: ctx.uris.toUri(file), range: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } } },
        });
      }
    }
  }
  return isCancelled() ? 'cancelled' : out;
}
