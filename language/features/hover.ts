// Hover: instructions, prefixes, registers, directives, labels (with the address from the last
// build), macros, .equ/.set constants, #defines, macro parameters and numbers.
import * as path from 'node:path';
import type { Hover, MarkupContent, Range } from 'vscode-languageserver-types';
import { sourceKindOf } from '../../debug-adapter/toolchain/build';
import { instructionTable, tableFailure } from '../instruction-data/iced-table';
import { lookupInstruction } from '../instruction-data/mnemonic-lookup';
import { splitOperands } from '../parser/lexical';
import { bitsReason, effectiveBits } from '../index/build-mode';
import { modeAt } from './completion';
import { registerInfo } from '../instruction-data/registers';
import { DIRECTIVES, PREPROCESSOR_DIRECTIVES } from '../instruction-data/directives';
import { PREFIXES } from '../instruction-data/summaries';
import { resolveAt } from '../index/resolve';
import { evaluate, formatValue, parseNumber } from '../parser/expression';
import type { Definition, ParsedFile, Token } from '../parser/types';
import type { ServerContext } from '../server/context';
import { hex } from '../build-info/build-artifacts';
import { bestFormScore, instructionMarkdown } from './instruction-docs';
import { constantValue } from './values';

const md = (value: string): MarkupContent => ({ kind: 'markdown', value });

export function tokenRange(t: { line: number; start: number; end: number }): Range {
  return { start: { line: t.line, character: t.start }, end: { line: t.line, character: t.end } };
}

export function hover(ctx: ServerContext, file: string, line: number, character: number): Hover | null {
  const parsed = ctx.index.get(file);
  if (parsed === undefined || parsed.kind === 'c') return null;
  const r = resolveAt(ctx.index, file, line, character);
  if (r === undefined) return null;
  const t = r.token;
  const range = tokenRange(t);
  const st = t.stmt !== undefined ? parsed.statements[t.stmt] : undefined;
  switch (t.kind) {
    case 'mnemonic': {
      if (r.def && (r.def.kind === 'macro' || r.def.kind === 'define')) return { contents: md(definitionMarkdown(ctx, r.def, file)), range };
      const table = instructionTable();
      if (!table) return { contents: md(`Instruction data unavailable: ${tableFailure() ?? 'iced-x86 did not load'}`), range };
      const syntax = st?.syntax ?? 'att';
      const ops = st?.operands.map((o) => o.text) ?? [];
      const bits = effectiveBits(parsed, st?.bits);
      const match = lookupInstruction(t.text, syntax, table, bits, (info, size) => bestFormScore(info, size, bits, ops, syntax, st?.regPrefix));
      if (!match) {
        const prefix = PREFIXES[t.text.toLowerCase()];
        if (prefix) return { contents: md(`**${t.text}** — prefix. ${prefix}`), range };
        return { contents: md(`**${t.text}** — not an instruction iced-x86 knows, nor a macro visible here.`), range };
      }
      const operandsText = st ? st.operands.map((o) => o.text).join(', ') : '';
      return {
        contents: md(instructionMarkdown({
          word: t.text, match, syntax, bits, bitsWhy: bits !== undefined ? bitsReason(parsed, t.line, bits) : undefined, operandsText,
          operands: st?.operands.map((o) => o.text), regPrefix: st?.regPrefix,
          prefixes: st?.prefixes.map((p) => p.text),
        })),
        range,
      };
    }
    case 'prefix': {
      const doc = PREFIXES[t.text.toLowerCase()];
      return { contents: md(`**${t.text}** — prefix.${doc ? ' ' + doc : ''}`), range };
    }
    case 'register': {
      const info = registerInfo(t.text);
      if (!info) return { contents: md(`**%${t.text}** — not a register name the assembler knows.`), range };
      const p = st?.regPrefix === false ? '' : '%';
      const family = info.family.filter((n) => n !== info.name).map((n) => `\`${p}${n}\``);
      const lines = [
        `**${p}${info.name}** — ${info.width}-bit ${kindText(info.kind)} register`,
        '',
        info.purpose.charAt(0).toUpperCase() + info.purpose.slice(1) + '.',
      ];
      if (family.length) lines.push('', `Same storage: ${family.join(', ')}.`);
      if (info.only64) lines.push('', 'Only in 64-bit code.');
      return { contents: md(lines.join('\n')), range };
    }
    case 'directive': {
      const doc = DIRECTIVES[t.text.toLowerCase()];
      if (doc) return { contents: md(`\`${doc.syntax}\`\n\n${doc.doc}`), range };
      return { contents: md(`\`${t.text}\` — assembler directive.`), range };
    }
    case 'preproc': {
      const doc = PREPROCESSOR_DIRECTIVES[t.text];
      if (doc) return { contents: md(`\`${doc.syntax}\`\n\n${doc.doc}`), range };
      return null;
    }
    case 'numref':
    case 'numlabel': {
      const def = r.numeric;
      if (!def) return { contents: md(`**${t.text}${t.extra ?? ''}** — no \`${t.text}:\` ${t.extra === 'b' ? 'before' : 'after'} this line.`), range };
      const lines = [`**${t.text}:** — numeric local label, line ${def.line + 1}${t.kind === 'numref' ? ` (the nearest ${t.extra === 'b' ? 'before' : 'after'} this use)` : ''}`];
      const addr = lineAddress(ctx, file, def.line);
      if (addr) lines.push('', addr);
      return { contents: md(lines.join('\n')), range };
    }
    case 'param': {
      const def = r.def;
      const owner = t.extra?.startsWith('.irp@') ? '.irp/.irpc block' : t.extra?.startsWith('#') ? `#define ${t.extra.slice(1)}` : `.macro ${t.extra ?? ''}`;
      const dflt = def?.value ? ` (default \`${def.value}\`)` : '';
      return { contents: md(`**${t.text}** — parameter of ${owner}${dflt}; written \`\\${t.text}\` in the body.`), range };
    }
    case 'label':
    case 'const-def':
    case 'define-def':
    case 'macro-def':
    case 'comm-def':
    case 'symbol': {
      if (r.def) return { contents: md(definitionMarkdown(ctx, r.def, file)), range };
      if (t.kind === 'symbol') {
        const ins = defineBodyInstruction(ctx, parsed, t);
        if (ins) return { contents: md(ins), range };
        return { contents: md(`**${t.text}** — not defined in the files of this build or the workspace: an external symbol, resolved at link time.`), range };
      }
      return null;
    }
    case 'number': {
      const v = t.text.startsWith("'") ? evaluate(t.text, { cpp: false, lookup: () => undefined }) : parseNumber(t.text, parsed.kind !== 'asm');
      const value = typeof v === 'bigint' ? v : v !== undefined && 'value' in v ? v.value : undefined;
      if (value === undefined) return null;
      return { contents: md(numberText(value)), range };
    }
    case 'include-path': {
      const inc = parsed.includes.find((i) => i.line === t.line && i.start === t.start);
      if (!inc) return null;
      return {
        contents: md(inc.resolved ? `\`${inc.resolved}\`` : `\`${inc.spec}\` was not found next to this file or on the include path.`),
        range,
      };
    }
    case 'section':
      return { contents: md(`**${t.text}** — section. ${sectionText(t.text)}`), range };
  }
  return null;
}

/**
 * An instruction written in a `#define` body (`#define SAVE pushl %eax; \` ...): the hover of
 * the instruction, in the mode of the line, when the name is a statement head there.
 */
function defineBodyInstruction(ctx: ServerContext, parsed: ParsedFile, t: Token): string | undefined {
  let first = t.line;
  while (first > 0 && /\\\s*$/.test(ctx.lineText(parsed.path, first - 1))) first--;
  if (!parsed.tokens[first]?.some((x) => x.kind === 'preproc' && x.text === '#define')) return undefined;
  const text = ctx.lineText(parsed.path, t.line);
  const before = text.slice(0, t.start);
  const head = first === t.line ? /#\s*define\s+[A-Za-z_]\w*(?:\([^)]*\))?\s*$|;\s*$/.test(before) : /^\s*$|;\s*$/.test(before);
  if (!head) return undefined;
  const table = instructionTable();
  if (!table) return undefined;
  let end = text.indexOf(';', t.end);
  if (end < 0) end = text.length;
  const rest = text.slice(0, end).replace(/\\\s*$/, '');
  const operands = splitOperands(rest, t.end, rest.length).map((o) => o.text).filter((x) => x !== '');
  const mode = modeAt(parsed, t.line);
  const bits = effectiveBits(parsed, mode.bits);
  const match = lookupInstruction(t.text, mode.syntax, table, bits, (info, size) => bestFormScore(info, size, bits, operands, mode.syntax, mode.regPrefix));
  if (!match) return undefined;
  const bitsWhy = bits !== undefined ? bitsReason(parsed, t.line, bits) : undefined;
  return instructionMarkdown({ word: t.text, match, syntax: mode.syntax, bits, bitsWhy, operandsText: operands.join(', '), operands, regPrefix: mode.regPrefix });
}

function kindText(kind: string): string {
  return ({ general: 'general-purpose', segment: 'segment', control: 'control', debug: 'debug', ip: 'instruction-pointer', x87: 'x87', mmx: 'MMX', sse: 'SSE', avx: 'AVX', avx512: 'AVX-512', mask: 'opmask', test: 'test' } as Record<string, string>)[kind] ?? kind;
}

function sectionText(name: string): string {
  if (name === '.start') return 'Our linker scripts put it first, at the load address: the entry code goes here.';
  if (name === '.text') return 'Code.';
  if (name === '.rodata' || name.startsWith('.rodata')) return 'Read-only data, placed after the code.';
  if (name === '.data') return 'Initialised data, in the writable segment.';
  if (name === '.bss') return 'Zero-initialised data: takes memory, not file space.';
  return '';
}

export function numberText(v: bigint): string {
  const parts = [`\`${v}\``];
  if (v >= 0n) {
    parts.push(`\`0x${v.toString(16)}\``);
    if (v < 1n << 32n) parts.push(`\`0b${v.toString(2)}\``);
    if (v >= 32n && v < 127n) parts.push(`\`'${String.fromCharCode(Number(v))}'\``);
  } else parts.push(`\`0x${(v & ((1n << 64n) - 1n)).toString(16)}\``);
  return parts.join(' = ');
}

/** Markdown for a label, macro, constant or #define: definition, value, documentation, address. */
export function definitionMarkdown(ctx: ServerContext, def: Definition, fromFile: string): string {
  const where = def.file === '' ? 'predefined by the build' : `${def.file === fromFile ? 'line' : path.basename(def.file) + ':'}${def.file === fromFile ? ' ' : ''}${def.line + 1}`;
  const lines: string[] = [];
  const src = def.file === '' ? '' : ctx.lineText(def.file, def.line).trim();
  switch (def.kind) {
    case 'label': {
      lines.push(`**${def.name}** — ${def.isCode ? 'code label' : 'label'} in \`${def.section ?? '.text'}\`${def.soft ? ' (made by a macro or repeat expansion)' : ''}, ${where}`);
      const addr = labelAddress(ctx, def);
      if (addr) lines.push('', addr);
      break;
    }
    case 'macro': {
      lines.push(`**${def.name}** — macro, ${where}`, '', '```gas', `.macro ${def.name}${def.params?.length ? ' ' + def.params.join(', ') : ''}`);
      if (def.body && def.file !== '') {
        const last = Math.min(def.body.end, def.body.start + 9);
        for (let l = def.body.start; l <= last; l++) lines.push(ctx.lineText(def.file, l));
        if (def.body.end > last) lines.push('    …');
      }
      lines.push('.endm', '```');
      break;
    }
    case 'equ':
    case 'set':
    case 'comm': {
      lines.push(`**${def.name}** — ${def.kind === 'comm' ? 'common symbol' : 'constant'}, ${where}`, '', '```gas', src, '```');
      const v = constantValue(ctx.index, def);
      if (v !== undefined) lines.push('', `Value: ${formatValue(v)}`);
      break;
    }
    case 'define': {
      const head = `#define ${def.name}${def.params ? `(${def.params.join(', ')})` : ''} ${def.value ?? ''}`.trimEnd();
      lines.push(`**${def.name}** — preprocessor ${def.params ? 'function-like ' : ''}macro, ${where}`, '', '```c', head, '```');
      const v = def.params ? undefined : constantValue(ctx.index, def);
      if (v !== undefined) lines.push('', `Value: ${formatValue(v)}`);
      break;
    }
    default:
      lines.push(`**${def.name}**, ${where}`);
  }
  const doc = docComment(ctx.index.get(def.file), def.line);
  if (doc) lines.push('', doc);
  return lines.join('\n');
}

/** The comment on the definition's line, or the comment lines right above it. */
function docComment(parsed: ParsedFile | undefined, line: number): string | undefined {
  if (parsed === undefined) return undefined;
  if (parsed.comments[line]) return parsed.comments[line];
  const above: string[] = [];
  for (let l = line - 1; l >= 0 && l >= line - 8; l--) {
    const c = parsed.comments[l];
    if (c === undefined) break;
    // A comment line that also has code belongs to that code.
    if (parsed.codeLines[l] && parsed.tokens[l].some((t) => t.kind !== 'comment')) break;
    above.unshift(c);
  }
  return above.length ? above.join(' ') : undefined;
}

/** The label's address in the last build of a source it is assembled into. */
function labelAddress(ctx: ServerContext, def: Definition): string | undefined {
  for (const root of ctx.index.roots(def.file)) {
    if (sourceKindOf(root) === undefined) continue;
    const art = ctx.artifacts.forSource(root, ctx.buildMode(root));
    const sym = art?.debug.symbols.lookup(def.name);
    if (art && sym) {
      // Real-mode images are linked at 0 and run in segment F000 by default (the reset vector).
      const real = art.mode === 'real' && sym.value < 0x10000
        ? ` At the default load address that is F000:${sym.value.toString(16).padStart(4, '0')} (linear ${hex(0xf0000 + sym.value)}).`
        : '';
      return `Address ${hex(sym.value)} in the last build (\`${path.relative(path.dirname(root), art.elf)}\`, ${art.mode} mode${sym.size ? `, ${sym.size} bytes` : ''}).${real}`;
    }
  }
  return undefined;
}

function lineAddress(ctx: ServerContext, file: string, line: number): string | undefined {
  for (const root of ctx.index.roots(file)) {
    if (sourceKindOf(root) === undefined) continue;
    const art = ctx.artifacts.forSource(root, ctx.buildMode(root));
    const code = art?.lines.get(file)?.get(line);
    if (art && code && code.length) return `Address ${hex(code[0].address)} in the last build (\`${path.basename(art.elf)}\`).`;
    // A label line has no code of its own: the next line with code starts at its address.
    if (art) {
      const byLine = art.lines.get(file);
      for (let l = line + 1; byLine && l < line + 20; l++) {
        const c = byLine.get(l);
        if (c?.length) return `Address ${hex(c[0].address)} in the last build (\`${path.basename(art.elf)}\`).`;
      }
    }
  }
  return undefined;
}

export function tokenIs(t: Token | undefined, kind: Token['kind']): boolean {
  return t?.kind === kind;
}
