// Inlay hints after a build: the address and encoded bytes of each source line, from the DWARF
// line table and section contents of build/<name>.<mode>.elf. Only while the text on screen is
// what was built (saved, and not newer than the ELF).
import * as fs from 'node:fs';
import { InlayHint, InlayHintKind } from 'vscode-languageserver-types';
import { sourceKindOf } from '../../debug-adapter/toolchain/build';
import { hex } from '../build-info/build-artifacts';
import type { ServerContext } from '../server/context';

const MAX_BYTES = 8;

export function inlayHints(ctx: ServerContext, file: string, fromLine: number, toLine: number, unsaved: boolean): InlayHint[] {
  if (!ctx.settings().inlayHints || unsaved) return [];
  let sourceTime: number;
  try {
    sourceTime = fs.statSync(file).mtimeMs;
  } catch {
    return [];
  }
  for (const root of ctx.index.roots(file)) {
    if (sourceKindOf(root) === undefined) continue;
    const art = ctx.artifacts.forSource(root, ctx.buildMode(root));
    if (art === undefined || art.mtimeMs + 1 < sourceTime) continue;
    const byLine = art.lines.get(file);
    if (byLine === undefined) continue;
    const width = art.debug.elfClass === 64 || art.mode === 'long' ? 8 : art.mode === 'real' ? 4 : 8;
    const hints: InlayHint[] = [];
    for (const [line, codes] of byLine) {
      if (line < fromLine || line > toLine) continue;
      const text = ctx.lineText(file, line);
      const first = codes[0];
      const all = codes.flatMap((c) => [...c.bytes]);
      const bytes = all.slice(0, MAX_BYTES).map((b) => b.toString(16).padStart(2, '0')).join(' ') + (all.length > MAX_BYTES ? ' …' : '');
      hints.push({
        position: { line, character: text.length },
        label: `${hex(first.address, width)}: ${bytes}`,
        kind: InlayHintKind.Type,
        paddingLeft: true,
        tooltip: `${all.length} byte${all.length === 1 ? '' : 's'} at ${hex(first.address)} in ${art.elf} (${art.mode} mode)`,
      });
    }
    return hints.sort((a, b) => a.position.line - b.position.line);
  }
  return [];
}
