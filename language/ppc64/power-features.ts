// Hover and completion for POWER assembly files (files the server judges ppc64: a
// `kvm-guest: arch=ppc64` comment, -mpower8, or POWER-only instructions). Labels, definitions,
// references and symbols come from the shared GAS parser, which is architecture-neutral for them;
// only what is about instructions and registers is POWER's here.
import { CompletionItem, CompletionItemKind, CompletionList, Hover, MarkupKind } from 'vscode-languageserver-types';
import type { ServerContext } from '../server/context';
import { POWER_BY_MNEMONIC, POWER_INSTRUCTIONS, POWER_ISA_URL, POWER_REGISTER_BY_NAME, POWER_REGISTERS, PowerInstruction } from './power-isa';

const WORD = /[A-Za-z0-9_.]/;

/** The word under the cursor and where it is on the line. */
function wordAt(text: string, character: number): { word: string; start: number; end: number } | undefined {
  let start = Math.min(character, text.length);
  let end = start;
  while (start > 0 && WORD.test(text[start - 1])) start--;
  while (end < text.length && WORD.test(text[end])) end++;
  if (start === end) return undefined;
  return { word: text.slice(start, end), start, end };
}

/** The code part of a line (before a `#` comment). */
function codeOf(text: string): string {
  const hash = text.indexOf('#');
  return hash >= 0 ? text.slice(0, hash) : text;
}

/** The instruction's hover: the form and summary in one line, and the Power ISA link. */
export function powerInstructionMarkdown(i: PowerInstruction): string {
  const form = `\`${i.mnemonic}${i.operands ? ' ' + i.operands : ''}\``;
  const ext = i.extendedOf ? ` (extended mnemonic for \`${i.extendedOf}\`)` : '';
  return `${form} — ${i.summary}${ext}. [Power ISA](${POWER_ISA_URL})`;
}

export function powerHover(ctx: ServerContext, file: string, line: number, character: number): Hover | null {
  const text = ctx.lineText(file, line);
  const code = codeOf(text);
  if (character >= code.length) return null;
  const w = wordAt(code, character);
  if (!w) return null;
  const range = { start: { line, character: w.start }, end: { line, character: w.end } };
  const lower = w.word.toLowerCase();
  // The statement head (after an optional label) is the mnemonic; `+`/`-` branch hints are GNU as's.
  const head = /^\s*(?:[\w.$]+:\s*)?([A-Za-z.][\w.]*)/.exec(code);
  const headStart = head ? head.index + head[0].length - head[1].length : -1;
  if (head && w.start === headStart) {
    const i = POWER_BY_MNEMONIC.get(lower) ?? POWER_BY_MNEMONIC.get(lower.replace(/[+-]$/, ''));
    if (i) return { contents: { kind: MarkupKind.Markdown, value: powerInstructionMarkdown(i) }, range };
    if (lower.startsWith('.')) return null;
    return { contents: { kind: MarkupKind.Markdown, value: `\`${w.word}\` — not among the common POWER instructions this server describes; see the [Power ISA](${POWER_ISA_URL})` }, range };
  }
  const reg = POWER_REGISTER_BY_NAME.get(lower);
  if (reg) {
    const prefixed = w.start > 0 && code[w.start - 1] === '%';
    const spelling = reg.operand && reg.operand.startsWith('%') && !prefixed ? ` Write \`${reg.operand}\` (or the bare number): GNU as reads a plain \`${reg.name}\` as a symbol unless -mregnames.` : '';
    return { contents: { kind: MarkupKind.Markdown, value: `\`${reg.name}\` — ${reg.summary}.${spelling} [Power ISA](${POWER_ISA_URL})` }, range };
  }
  // A bare register number in a register operand position (`li 16,8`: 16 is r16).
  if (/^\d+$/.test(w.word) && head && w.start > headStart) {
    const i = POWER_BY_MNEMONIC.get(head[1].toLowerCase());
    const operandIndex = code.slice(headStart + head[1].length, w.start).split(',').length - 1;
    const kind = i?.operands.replace(/[[\]]/g, '').split(',')[operandIndex]?.replace(/^.*\(/, '').replace(/\)$/, '');
    if (kind && /^R[TASB]$/.test(kind) && Number(w.word) < 32)
      return { contents: { kind: MarkupKind.Markdown, value: `\`${w.word}\` — register r${w.word} (operand ${kind} of ${i!.mnemonic})` }, range };
  }
  return null;
}

export function powerCompletion(ctx: ServerContext, file: string, line: number, character: number): CompletionList | null {
  const text = ctx.lineText(file, line);
  const before = text.slice(0, Math.min(character, text.length));
  if (before.includes('#')) return null; // in a comment
  const range = (start: number) => ({ start: { line, character: start }, end: { line, character } });
  const head = /^\s*(?:[\w.$]+:\s*)?([A-Za-z.][\w.]*)?$/.exec(before);
  if (head) {
    const start = before.length - (head[1]?.length ?? 0);
    const items: CompletionItem[] = POWER_INSTRUCTIONS.map((i) => ({
      label: i.mnemonic, kind: CompletionItemKind.Keyword, detail: `${i.mnemonic} ${i.operands}`.trim(),
      documentation: { kind: MarkupKind.Markdown, value: powerInstructionMarkdown(i) },
      textEdit: { range: range(start), newText: i.mnemonic },
    }));
    return { isIncomplete: false, items };
  }
  // Operands: registers as GNU as takes them (%r3, %f1, cr1) and the labels the index knows in this file.
  const word = /[\w.$%]*$/.exec(before)![0];
  const start = before.length - word.length;
  const items: CompletionItem[] = POWER_REGISTERS.filter((r) => r.operand).map((r) => ({
    label: r.operand!, kind: CompletionItemKind.Variable, detail: r.summary, textEdit: { range: range(start), newText: r.operand! },
  }));
  const parsed = ctx.index.get(file);
  for (const d of parsed?.defs ?? [])
    if (d.kind === 'label') items.push({ label: d.name, kind: CompletionItemKind.Reference, detail: `label, line ${d.line + 1}`, textEdit: { range: range(start), newText: d.name } });
  return { isIncomplete: false, items };
}
