// Folding ranges: macro bodies, #if/.if branches, .rept blocks, label blocks, block comments.
import type { FoldingRange } from 'vscode-languageserver-types';
import type { ServerContext } from '../server/context';

export function foldingRanges(ctx: ServerContext, file: string): FoldingRange[] {
  const parsed = ctx.index.get(file);
  if (parsed === undefined || parsed.kind === 'c') return [];
  const seen = new Set<string>();
  const out: FoldingRange[] = [];
  for (const f of parsed.folds) {
    if (f.end <= f.start) continue;
    const key = `${f.start}:${f.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ startLine: f.start, endLine: f.end, ...(f.kind === 'comment' ? { kind: 'comment' } : {}) });
  }
  // Runs of three or more comment-only lines.
  let run = -1;
  for (let l = 0; l <= parsed.lineCount; l++) {
    const commentOnly = l < parsed.lineCount && parsed.comments[l] !== undefined && !parsed.tokens[l].some((t) => t.kind !== 'comment');
    if (commentOnly && run < 0) run = l;
    if (!commentOnly && run >= 0) {
      if (l - 1 - run >= 2 && !seen.has(`${run}:${l - 1}`)) out.push({ startLine: run, endLine: l - 1, kind: 'comment' });
      run = -1;
    }
  }
  return out.sort((a, b) => a.startLine - b.startLine || b.endLine - a.endLine);
}
