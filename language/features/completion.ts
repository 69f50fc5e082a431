// Completion: mnemonics (valid in the line's mode, spelled for its syntax, with operand
// snippets), prefixes, directives, registers, labels (also from included files), numeric label
// references, macros, .equ constants, #defines and macro parameters.
import {
  CompletionItem, CompletionItemKind, CompletionList, InsertTextFormat, MarkupKind, Range,
} from 'vscode-languageserver-types';
import { Bitness, instructionTable, InstructionInfo, MODE_BIT } from '../instruction-data/iced-table';
import { lookupMnemonic } from '../instruction-data/mnemonic-lookup';
import { registersFor } from '../instruction-data/registers';
import { DIRECTIVES, PREPROCESSOR_DIRECTIVES } from '../instruction-data/directives';
import { PREFIXES, SUMMARIES } from '../instruction-data/summaries';
import { effectiveBits } from '../index/build-mode';
import { resolveNumeric } from '../index/resolve';
import type { Bits, Definition, ParsedFile, Statement, Syntax } from '../parser/types';
import type { ServerContext } from '../server/context';
import { formText, instructionMarkdown, relevantForms, summaryOf } from './instruction-docs';
import { definitionMarkdown } from './hover';

interface ItemData {
  k: 'mnemonic' | 'def';
  name: string;
  size?: number;
  bits?: Bits;
  syntax?: Syntax;
  file?: string;
  line?: number;
}

const ATT_SPELLING: Record<string, string[]> = {
  stosd: ['stosl'], lodsd: ['lodsl'], scasd: ['scasl'], insd: ['insl'], outsd: ['outsl'], iretd: ['iretl'],
  pushfd: ['pushfl'], popfd: ['popfl'], pushad: ['pushal'], popad: ['popal'],
  movsd: ['movsd', 'movsl'], cmpsd: ['cmpsd', 'cmpsl'],
};
const SUFFIXES: Array<[number, string]> = [[8, 'b'], [16, 'w'], [32, 'l'], [64, 'q']];

/**
 * AT&T spellings GNU as accepts that iced's names do not give: far transfers, sign/zero
 * extensions, the size-named conversions and flag/stack forms. `modes`: where GNU as takes them
 * (bit mask of MODE_BIT); `common`: ranked with the everyday instructions.
 */
const ATT_EXTRA: Array<{ name: string; modes: number; detail: string; common?: boolean; snippet?: string }> = [
  { name: 'ljmp', modes: 7, detail: 'far jump (JMP ptr16:16/32 or m16:16/32/64)', common: true, snippet: 'ljmp ${1:\\$sel16}, ${2:\\$offset}' },
  { name: 'ljmpl', modes: 7, detail: 'far jump with a 32-bit offset', common: true, snippet: 'ljmpl ${1:\\$sel16}, ${2:\\$off32}' },
  { name: 'ljmpw', modes: 7, detail: 'far jump with a 16-bit offset', snippet: 'ljmpw ${1:\\$sel16}, ${2:\\$off16}' },
  { name: 'ljmpq', modes: 4, detail: 'far jump through a m16:64 pointer', snippet: 'ljmpq *${1:m16:64}' },
  { name: 'lcall', modes: 7, detail: 'far call (CALL ptr16:16/32 or m16:16/32/64)', common: true, snippet: 'lcall ${1:\\$sel16}, ${2:\\$offset}' },
  { name: 'lcalll', modes: 7, detail: 'far call with a 32-bit offset', snippet: 'lcalll ${1:\\$sel16}, ${2:\\$off32}' },
  { name: 'lcallw', modes: 7, detail: 'far call with a 16-bit offset', snippet: 'lcallw ${1:\\$sel16}, ${2:\\$off16}' },
  { name: 'lcallq', modes: 4, detail: 'far call through a m16:64 pointer', snippet: 'lcallq *${1:m16:64}' },
  { name: 'lret', modes: 7, detail: 'far return (RETF)', common: true },
  { name: 'lretl', modes: 7, detail: 'far return, 32-bit operand size (RETF)' },
  { name: 'lretw', modes: 7, detail: 'far return, 16-bit operand size (RETF)' },
  { name: 'lretq', modes: 4, detail: 'far return, 64-bit operand size (REX.W RETF)', common: true },
  { name: 'iretl', modes: 7, detail: 'IRETD: interrupt return, 32-bit frame' },
  { name: 'iretw', modes: 7, detail: 'IRET: interrupt return, 16-bit frame' },
  { name: 'iretq', modes: 4, detail: 'IRETQ: interrupt return, 64-bit frame', common: true },
  { name: 'cbtw', modes: 7, detail: 'CBW: AL sign-extended into AX' },
  { name: 'cwtl', modes: 7, detail: 'CWDE: AX sign-extended into EAX' },
  { name: 'cltq', modes: 4, detail: 'CDQE: EAX sign-extended into RAX', common: true },
  { name: 'cwtd', modes: 7, detail: 'CWD: AX sign-extended into DX:AX' },
  { name: 'cltd', modes: 7, detail: 'CDQ: EAX sign-extended into EDX:EAX', common: true },
  { name: 'cqto', modes: 4, detail: 'CQO: RAX sign-extended into RDX:RAX', common: true },
  { name: 'movzbw', modes: 7, detail: 'MOVZX r16, r/m8' },
  { name: 'movzbl', modes: 7, detail: 'MOVZX r32, r/m8', common: true },
  { name: 'movzwl', modes: 7, detail: 'MOVZX r32, r/m16', common: true },
  { name: 'movzbq', modes: 4, detail: 'MOVZX r64, r/m8' },
  { name: 'movzwq', modes: 4, detail: 'MOVZX r64, r/m16' },
  { name: 'movsbw', modes: 7, detail: 'MOVSX r16, r/m8' },
  { name: 'movsbl', modes: 7, detail: 'MOVSX r32, r/m8', common: true },
  { name: 'movswl', modes: 7, detail: 'MOVSX r32, r/m16', common: true },
  { name: 'movsbq', modes: 4, detail: 'MOVSX r64, r/m8' },
  { name: 'movswq', modes: 4, detail: 'MOVSX r64, r/m16' },
  { name: 'movslq', modes: 4, detail: 'MOVSXD r64, r/m32', common: true },
  { name: 'movabs', modes: 4, detail: 'MOV with a 64-bit immediate or absolute address', common: true },
  { name: 'pushfl', modes: 3, detail: 'PUSHFD' },
  { name: 'popfl', modes: 3, detail: 'POPFD' },
  { name: 'pushfq', modes: 4, detail: 'PUSHFQ' },
  { name: 'popfq', modes: 4, detail: 'POPFQ' },
  { name: 'pushal', modes: 3, detail: 'PUSHAD' },
  { name: 'popal', modes: 3, detail: 'POPAD' },
  { name: 'sysretl', modes: 4, detail: 'SYSRET to 32-bit code' },
  { name: 'sysretq', modes: 4, detail: 'SYSRET to 64-bit code' },
];
const mnemonicCache = new Map<string, CompletionItem[]>();

function snippetEscape(s: string): string {
  return s.replace(/[\\$}]/g, (c) => '\\' + c);
}

/** `movl ${1:r32}, ${2:r/m32}` from the first form of that size valid in the mode. */
function snippetFor(info: InstructionInfo, word: string, bits: Bitness | undefined, syntax: Syntax, size?: number): string {
  const forms = relevantForms(info, bits, size);
  const form = forms.find((f) => f.encoding === 'legacy') ?? forms[0];
  if (form === undefined) return snippetEscape(word);
  const text = formText(form, syntax);
  const space = text.indexOf(' ');
  if (space < 0) return snippetEscape(word);
  // Far jumps/calls read `$sel16, $off16`: split at commas after the mnemonic.
  const ops = text.slice(space + 1).split(/,\s*/);
  return `${snippetEscape(word)} ${ops.map((o, i) => `\${${i + 1}:${snippetEscape(o)}}`).join(', ')}`;
}

function mnemonicItems(bits: Bitness | undefined, syntax: Syntax): CompletionItem[] {
  const key = `${bits ?? 'any'}:${syntax}`;
  const hit = mnemonicCache.get(key);
  if (hit) return hit;
  const table = instructionTable();
  const items: CompletionItem[] = [];
  if (table) {
    for (const info of table.all()) {
      if (bits !== undefined && (info.modes & MODE_BIT[bits]) === 0) continue;
      const common = SUMMARIES[info.name] !== undefined;
      const rank = common ? '0' : '1';
      const detail = summaryOf(info);
      // GAS in AT&T mode knows some of these only by their AT&T names (stosl, not stosd).
      const names = syntax === 'att' && ATT_SPELLING[info.name] ? ATT_SPELLING[info.name] : [info.name];
      for (const name of names) {
        items.push({
          label: name, kind: CompletionItemKind.Keyword, detail: common ? detail : undefined, sortText: `${rank}${name}`,
          insertText: snippetFor(info, name, bits, syntax), insertTextFormat: InsertTextFormat.Snippet,
          data: { k: 'mnemonic', name, bits, syntax } satisfies ItemData,
        });
      }
      if (syntax !== 'att') continue;
      // AT&T size suffixes for the sizes the instruction has in this mode.
      const sizes = new Set(info.forms.filter((f) => f.encoding === 'legacy' && f.size !== undefined && (bits === undefined || f.modes & MODE_BIT[bits])).map((f) => f.size));
      if (sizes.size < 2) continue;
      for (const [size, suffix] of SUFFIXES) {
        if (!sizes.has(size as 8)) continue;
        const word = info.name + suffix;
        if (table.has(word)) continue; // movsb, movsw are instructions of their own
        items.push({
          label: word, kind: CompletionItemKind.Keyword, detail: `${info.name} with ${size}-bit operands`, sortText: `${rank}${word}`,
          insertText: snippetFor(info, word, bits, syntax, size), insertTextFormat: InsertTextFormat.Snippet,
          data: { k: 'mnemonic', name: word, size, bits, syntax } satisfies ItemData,
        });
      }
    }
  }
  if (table && syntax === 'att') {
    const have = new Set(items.map((i) => i.label));
    for (const x of ATT_EXTRA) {
      if (have.has(x.name) || (bits !== undefined && (x.modes & MODE_BIT[bits]) === 0)) continue;
      const match = lookupMnemonic(x.name, 'att', table);
      items.push({
        label: x.name, kind: CompletionItemKind.Keyword, detail: x.detail, sortText: `${x.common ? '0' : '1'}${x.name}`,
        insertText: x.snippet ?? (match ? snippetFor(match.info, x.name, bits, syntax, match.size) : snippetEscape(x.name)), insertTextFormat: InsertTextFormat.Snippet,
        data: { k: 'mnemonic', name: x.name, size: match?.size, bits, syntax } satisfies ItemData,
      });
      have.add(x.name);
    }
  }
  mnemonicCache.set(key, items);
  return items;
}

const MAX_ITEMS = 400;

function subsequence(text: string, query: string): boolean {
  let i = 0;
  for (let k = 0; k < text.length && i < query.length; k++) if (text[k] === query[i]) i++;
  return i === query.length;
}

/**
 * The list for `range`: items whose first character matches the typed word's; above MAX_ITEMS
 * only those containing the typed characters in order, marked incomplete so the client asks
 * again as the word grows. With `editRange` support the shared range goes in `itemDefaults`
 * and the cached item objects are sent as they are.
 */
function finish(ctx: ServerContext, items: CompletionItem[], range: Range, word: string | undefined, incomplete = false): CompletionList {
  const w = word?.toLowerCase() ?? '';
  const fc = w === '' ? undefined : w[0];
  let out = fc === undefined ? items : items.filter((it) => (it.filterText ?? it.label).charAt(0).toLowerCase() === fc);
  let isIncomplete = incomplete;
  if (out.length > MAX_ITEMS) {
    out = out.filter((it) => subsequence((it.filterText ?? it.label).toLowerCase(), w));
    if (out.length > MAX_ITEMS) {
      const key = (it: CompletionItem): string => it.sortText ?? it.label;
      out = out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).slice(0, MAX_ITEMS);
    }
    isIncomplete = true;
  }
  if (!ctx.clientSupportsSnippets) {
    out = out.map((it) => (it.insertTextFormat === InsertTextFormat.Snippet ? { ...it, insertText: it.label, insertTextFormat: InsertTextFormat.PlainText } : it));
  }
  if (ctx.clientSupportsEditRange) return { isIncomplete, itemDefaults: { editRange: range }, items: out };
  return { isIncomplete, items: out.map((it) => ({ ...it, textEdit: { range, newText: it.insertText ?? it.label }, insertText: undefined })) };
}

/** What the line holds before the cursor: the current statement, without labels. */
function statementPrefix(lineText: string, character: number): string {
  const before = lineText.slice(0, character);
  let cut = 0;
  let inString = false;
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (c === '"') inString = !inString;
    else if (c === ';' && !inString) cut = i + 1;
  }
  let s = before.slice(cut);
  for (;;) {
    const m = /^\s*(?:[A-Za-z_.$][A-Za-z0-9_.$]*|[0-9]+)\s*:(?!:)/.exec(s);
    if (!m) break;
    s = s.slice(m[0].length);
  }
  return s;
}

export function completion(ctx: ServerContext, file: string, line: number, character: number): CompletionList | null {
  const parsed = ctx.index.get(file);
  const doc = ctx.document(file);
  if (parsed === undefined || parsed.kind === 'c') return null;
  const lineText = doc ? doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, '') : ctx.lineText(file, line);
  if (character > lineText.length) character = lineText.length;
  const before = lineText.slice(0, character);
  // Inside a comment or a string: nothing to offer (a `#word` being typed in a .S file is a directive).
  const typingDirective = parsed.kind === 'asm-cpp' && /^\s*#\s*[A-Za-z_]*$/.test(before);
  for (const t of typingDirective ? [] : parsed.tokens[line] ?? []) {
    if ((t.kind === 'comment' || t.kind === 'string') && t.start < character && character < t.end + (t.kind === 'comment' ? 1 : 0)) return null;
  }
  const wordMatch = /[A-Za-z0-9_.$%\\#]*$/.exec(before) as RegExpExecArray;
  let word = wordMatch[0];
  let wordStart = character - word.length;
  const range = (): Range => ({ start: { line, character: wordStart }, end: { line, character } });
  const st = statementAt(parsed, line, character);
  const bits = (st?.bits ?? lastBits(parsed, line)) as Bitness | undefined;
  const syntax = st?.syntax ?? lastSyntax(parsed, line);
  const regPrefix = st?.regPrefix ?? syntax === 'att';

  // Preprocessor directives.
  if (parsed.kind === 'asm-cpp' && /^\s*#\s*[A-Za-z_]*$/.test(before)) {
    wordStart = before.indexOf('#');
    const items = Object.entries(PREPROCESSOR_DIRECTIVES).map(([name, d]): CompletionItem => ({
      label: name, kind: CompletionItemKind.Keyword, detail: d.syntax, documentation: d.doc,
      insertText: snippetEscape(name) + (d.snippet ?? ''), insertTextFormat: InsertTextFormat.Snippet,
    }));
    return finish(ctx, items, range(), undefined);
  }
  if (/^\s*#/.test(before) && parsed.kind === 'asm-cpp') return { isIncomplete: false, items: [] };

  const stmtText = statementPrefix(lineText, character);
  const atHead = /^\s*(?:(?:rep|repe|repz|repne|repnz|lock|cs|ds|es|fs|gs|ss|data16|data32|addr16|addr32|notrack|bnd|xacquire|xrelease|rex|rex64|\{[a-z0-9]+\})(?:\s+|\/))*[A-Za-z0-9_.$\\]*$/i.test(stmtText);

  const items: CompletionItem[] = [];
  if (atHead) {
    if (word.startsWith('.') || word === '') {
      for (const [name, d] of Object.entries(DIRECTIVES)) {
        items.push({
          label: name, kind: CompletionItemKind.Keyword, detail: d.syntax, documentation: d.doc, sortText: `2${name}`,
          insertText: snippetEscape(name) + (d.snippet ?? ''), insertTextFormat: InsertTextFormat.Snippet,
        });
      }
    }
    if (!word.startsWith('.')) {
      items.push(...mnemonicItems(bits, syntax));
      for (const [p, doc] of Object.entries(PREFIXES)) items.push({ label: p, kind: CompletionItemKind.Keyword, detail: 'prefix', documentation: doc, sortText: `1${p}`, insertText: p + ' ' });
    }
    items.push(...headDefinitionItems(ctx, file));
    return finish(ctx, items, range(), word, word === '');
  }

  // Operands.
  const head = st?.head?.text.toLowerCase() ?? /^\s*(\S+)/.exec(stmtText.replace(/^\s*(?:(?:rep\w*|lock|[c-gs]s)\s+)*/i, ''))?.[1]?.toLowerCase();
  if (head === '.intel_syntax' || head === '.att_syntax') {
    return finish(ctx, ['noprefix', 'prefix'].map((l) => ({ label: l, kind: CompletionItemKind.Keyword })), range(), undefined);
  }
  if (head === '.section' || head === '.pushsection') {
    const names = ['.text', '.data', '.bss', '.rodata', '.start', '.init'];
    return finish(ctx, names.map((l) => ({ label: l, kind: CompletionItemKind.Module })), range(), undefined);
  }
  if (head !== undefined && /^\.(?:code|include|incbin|ascii|asciz|string|macro|endm|file|ident|arch|cfi_)/.test(head)) return { isIncomplete: false, items: [] };

  // Registers: `%` typed (complete the name), or in Intel noprefix syntax.
  const afterPercent = word.startsWith('%') || before[wordStart - 1] === '%';
  if (word.startsWith('$')) {
    word = word.slice(1);
    wordStart++;
  }
  const isDirective = head?.startsWith('.') ?? false;
  if (!isDirective || afterPercent) {
    const prefix = regPrefix ? '%' : '';
    for (const r of registersFor(bits)) {
      const label = prefix + r.name;
      items.push({
        label, kind: CompletionItemKind.Variable, detail: `${r.width}-bit ${r.kind} register`, documentation: r.purpose,
        sortText: `${r.kind === 'general' || r.kind === 'segment' ? '1' : '3'}${r.name}`, filterText: label, insertText: label,
      });
    }
    if (afterPercent) {
      if (before[wordStart - 1] === '%') wordStart--;
      return finish(ctx, items, range(), undefined);
    }
  }
  if (word.startsWith('\\') || st?.scope === 'macro') {
    const macro = st?.macro !== undefined ? parsed.defs.find((d) => d.kind === 'macro' && d.name === st.macro) : undefined;
    for (const p of macro?.params ?? []) {
      const n = p.replace(/[=:].*$/, '').trim();
      items.push({ label: '\\' + n, kind: CompletionItemKind.TypeParameter, detail: `parameter of .macro ${macro?.name}`, sortText: `0${n}`, filterText: '\\' + n });
    }
  }
  // Numeric labels: the nearest `N:` before (Nb) and after (Nf) the cursor.
  for (const [num] of parsed.numericDefs) {
    for (const dir of ['b', 'f'] as const) {
      const fake = { line, start: character, end: character, kind: 'numref' as const, text: num, extra: dir };
      const def = resolveNumeric(parsed, fake);
      if (def) items.push({ label: num + dir, kind: CompletionItemKind.Reference, detail: `local label ${num}: on line ${def.line + 1}`, sortText: `0${num}${dir}` });
    }
  }
  items.push(...operandDefinitionItems(ctx, file));
  return finish(ctx, items, range(), word.startsWith('%') ? undefined : word);
}

const defItemCache = new Map<string, { revision: number; head: CompletionItem[]; operand: CompletionItem[] }>();

function definitionItems(ctx: ServerContext, file: string): { head: CompletionItem[]; operand: CompletionItem[] } {
  const hit = defItemCache.get(file);
  if (hit && hit.revision === ctx.index.revision) return hit;
  const head: CompletionItem[] = [];
  const operand: CompletionItem[] = [];
  const isCpp = ctx.index.get(file)?.kind === 'asm-cpp';
  for (const d of visibleDefinitions(ctx, file)) {
    const data: ItemData = { k: 'def', name: d.name, file: d.file, line: d.line };
    if (d.kind === 'macro' || (d.kind === 'define' && isCpp)) {
      const args = d.kind === 'macro' ? (d.params ?? []).map((p) => p.replace(/[=:].*$/, '').trim()) : d.params ?? [];
      const snippet = d.kind === 'macro'
        ? `${snippetEscape(d.name)}${args.length ? ' ' + args.map((a, i) => `\${${i + 1}:${snippetEscape(a)}}`).join(', ') : ''}`
        : `${snippetEscape(d.name)}${d.params ? `(${args.map((a, i) => `\${${i + 1}:${snippetEscape(a)}}`).join(', ')})` : ''}`;
      head.push({
        label: d.name, kind: d.kind === 'macro' ? CompletionItemKind.Method : CompletionItemKind.Constant,
        detail: d.kind === 'macro' ? `.macro ${d.name} ${(d.params ?? []).join(', ')}` : `#define ${d.name}${d.params ? `(${d.params.join(', ')})` : ''} ${d.value ?? ''}`,
        sortText: `0${d.name}`, insertText: snippet, insertTextFormat: InsertTextFormat.Snippet, data,
      });
    }
    if (d.kind === 'macro') continue;
    const kind = d.kind === 'label' ? (d.isCode ? CompletionItemKind.Function : CompletionItemKind.Field) : CompletionItemKind.Constant;
    const detail = d.kind === 'label' ? `label in ${d.section ?? '.text'}` : d.kind === 'define' ? `#define ${d.name} ${d.value ?? ''}` : `.${d.kind === 'set' ? 'set' : 'equ'} ${d.name}, ${d.value ?? ''}`;
    operand.push({ label: d.name, kind, detail, sortText: `${d.file === file ? '0' : '1'}${d.name}`, data });
  }
  const entry = { revision: ctx.index.revision, head, operand };
  defItemCache.set(file, entry);
  if (defItemCache.size > 50) defItemCache.delete(defItemCache.keys().next().value as string);
  return entry;
}

function headDefinitionItems(ctx: ServerContext, file: string): CompletionItem[] {
  return definitionItems(ctx, file).head;
}

function operandDefinitionItems(ctx: ServerContext, file: string): CompletionItem[] {
  return definitionItems(ctx, file).operand;
}

/** Adds documentation to an item when the client selects it (keeps the list itself small). */
export function resolveCompletion(ctx: ServerContext, item: CompletionItem): CompletionItem {
  const data = item.data as ItemData | undefined;
  if (data === undefined) return item;
  if (data.k === 'mnemonic') {
    const table = instructionTable();
    const match = table && lookupMnemonic(data.name, data.syntax ?? 'att', table);
    if (match) {
      item.documentation = { kind: MarkupKind.Markdown, value: instructionMarkdown({ word: data.name, match, syntax: data.syntax ?? 'att', bits: data.bits, maxForms: 8 }) };
    }
    return item;
  }
  if (data.file !== undefined && data.line !== undefined) {
    const def = ctx.index.definitionsNamed(data.file, data.name).find((d) => d.line === data.line);
    if (def) item.documentation = { kind: MarkupKind.Markdown, value: definitionMarkdown(ctx, def, data.file) };
  }
  return item;
}

/** Labels, constants, macros and #defines of the files assembled with `file` (one per name). */
function visibleDefinitions(ctx: ServerContext, file: string): Definition[] {
  const seen = new Set<string>();
  const out: Definition[] = [];
  for (const f of ctx.index.scope(file)) {
    const p = ctx.index.get(f);
    if (p === undefined) continue;
    for (const d of p.defs) {
      if (d.kind === 'param' || d.kind === 'numlabel' || d.name.includes('\\') || d.name === '' || seen.has(d.name)) continue;
      seen.add(d.name);
      out.push(d);
    }
  }
  return out;
}

function statementAt(parsed: ParsedFile, line: number, character: number): Statement | undefined {
  const first = parsed.lineStatement[line];
  if (first === undefined || first < 0) return undefined;
  let best: Statement | undefined;
  for (let i = first; i < parsed.statements.length && parsed.statements[i].line === line; i++) {
    if (parsed.statements[i].start <= character) best = parsed.statements[i];
  }
  return best;
}

/** Mode in force at `line` even when the line has no statement yet (before any .code: the file's). */
function lastBits(parsed: ParsedFile, line: number): Bits | undefined {
  return effectiveBits(parsed, modeAt(parsed, line).bits);
}

function lastSyntax(parsed: ParsedFile, line: number): Syntax {
  return modeAt(parsed, line).syntax;
}

/** Mode and syntax after the last statement at or before `line` (a `.code`/syntax switch applies to what follows it). */
export function modeAt(parsed: ParsedFile, line: number): { bits: Bits | undefined; syntax: Syntax; regPrefix: boolean } {
  for (let l = Math.min(line, parsed.lineCount - 1); l >= 0; l--) {
    const i = parsed.lineStatement[l];
    if (i < 0) continue;
    let j = i;
    while (j + 1 < parsed.statements.length && parsed.statements[j + 1].line === l) j++;
    const s = parsed.statements[j];
    let bits = s.bits;
    let syntax = s.syntax;
    let regPrefix = s.regPrefix;
    const head = s.kind === 'directive' ? s.head?.text.toLowerCase() : undefined;
    const code = head ? /^\.code(16|32|64)/.exec(head) : null;
    if (code) bits = Number(code[1]) as Bits;
    if (head === '.intel_syntax' || head === '.att_syntax') {
      syntax = head === '.intel_syntax' ? 'intel' : 'att';
      regPrefix = (s.operands[0]?.text.toLowerCase() ?? '') !== 'noprefix';
    }
    return { bits, syntax, regPrefix };
  }
  return { bits: undefined, syntax: 'att', regPrefix: true };
}
