// Markdown about one instruction: summary, forms in the current syntax, encodings, modes,
// privilege, flags and the reference link.
import { Bitness, flagList, InstructionForm, InstructionInfo, MODE_BIT, modesText } from '../instruction-data/iced-table';
import { registerInfo } from '../instruction-data/registers';
import type { MnemonicMatch } from '../instruction-data/mnemonic-lookup';
import { intelForm } from '../instruction-data/operand-forms';
import { referenceUrl, SUMMARIES } from '../instruction-data/summaries';
import type { Syntax } from '../parser/types';

export function summaryOf(info: InstructionInfo): string {
  const own = SUMMARIES[info.name];
  if (own) return own;
  // No summary of ours: say what kind of instruction it is from its forms.
  const ops = info.forms.map((f) => f.intel).join(' ');
  const enc = new Set(info.forms.map((f) => f.encoding));
  let what = 'General-purpose instruction';
  if (enc.has('EVEX') && !enc.has('VEX')) what = 'AVX-512 instruction';
  else if (enc.has('VEX')) what = 'AVX instruction';
  else if (enc.has('XOP')) what = 'AMD XOP instruction';
  else if (enc.has('3DNow!')) what = 'AMD 3DNow! instruction';
  else if (/\bST\(/.test(ops) || (info.name.startsWith('f') && /m(?:32|64|80)fp|m16int|m32int/.test(ops))) what = 'x87 floating-point instruction';
  else if (/\bxmm/.test(ops)) what = 'SSE instruction';
  else if (/\bmm\d?\b|\bmm\//.test(ops)) what = 'MMX instruction';
  return `${what} \`${info.name.toUpperCase()}\` (${info.forms.length} form${info.forms.length === 1 ? '' : 's'}; see the reference for what it does).`;
}

export function formText(f: InstructionForm, syntax: Syntax): string {
  return syntax === 'att' ? f.att : intelForm(f.intel);
}

export function privilegeText(info: InstructionInfo): string {
  switch (info.privilege) {
    case 'cpl0':
      return 'Privileged: CPL 0 only (ring 0; #GP elsewhere). A KVM guest runs it in its own ring 0.';
    case 'some': {
      const forms = info.forms.filter((f) => f.cpl0).map((f) => `\`${intelForm(f.intel)}\``);
      return `Privileged in some forms (CPL 0 only): ${forms.slice(0, 6).join(', ')}${forms.length > 6 ? ', …' : ''}.`;
    }
    case 'io':
      return info.isIO
        ? 'I/O-sensitive: allowed when CPL ≤ IOPL, or by the TSS I/O permission bitmap. Under KVM every port access is an I/O exit to the VMM.'
        : 'IOPL-sensitive: allowed when CPL ≤ IOPL (or with VME/PVI).';
    default:
      return 'Not privileged.';
  }
}

/** Flags of the given forms (union), or of the instruction as a whole. */
export function flagsText(info: InstructionInfo, forms?: readonly InstructionForm[]): string {
  let f = info.flags;
  if (forms && forms.length > 0) {
    const u = { read: 0, written: 0, set: 0, cleared: 0, undefined: 0 };
    for (const x of forms) {
      u.read |= x.rflags.read;
      u.written |= x.rflags.written;
      u.set |= x.rflags.set;
      u.cleared |= x.rflags.cleared;
      u.undefined |= x.rflags.undefined;
    }
    f = { read: flagList(u.read), written: flagList(u.written & ~(u.set | u.cleared | u.undefined)), set: flagList(u.set), cleared: flagList(u.cleared), undefined: flagList(u.undefined) };
  }
  const parts: string[] = [];
  if (f.written.length) parts.push(`writes ${f.written.join(' ')}`);
  if (f.set.length) parts.push(`sets ${f.set.join(' ')}`);
  if (f.cleared.length) parts.push(`clears ${f.cleared.join(' ')}`);
  if (f.undefined.length) parts.push(`leaves ${f.undefined.join(' ')} undefined`);
  if (f.read.length) parts.push(`reads ${f.read.join(' ')}`);
  return parts.length ? `Flags: ${parts.join('; ')}.` : 'Flags: not affected.';
}

/** Forms to show: valid in `bits` first (all when unknown), matching an AT&T suffix size when given. */
export function relevantForms(info: InstructionInfo, bits: Bitness | undefined, size?: number): InstructionForm[] {
  let forms = info.forms;
  if (size !== undefined) {
    const sized = forms.filter((f) => f.size === size);
    if (sized.length > 0) forms = sized;
  }
  if (bits !== undefined) {
    const valid = forms.filter((f) => f.modes & MODE_BIT[bits]);
    if (valid.length > 0) forms = valid;
  }
  // One line per distinct spelling and encoding.
  const seen = new Set<string>();
  return forms.filter((f) => {
    const k = f.intel + '|' + f.opcode;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

type OperandKind = { kind: 'reg'; size: number; name: string } | { kind: 'cr' | 'dr' | 'sreg' | 'imm' | 'mem' | 'other' };

/** What a written operand is, in AT&T or Intel spelling. */
export function operandKind(text: string, syntax: Syntax, regPrefix = syntax === 'att'): OperandKind {
  const t = text.trim().replace(/^\*/, '');
  const reg = regPrefix ? /^%([a-z0-9]+)$/i.exec(t) : /^%?([a-z0-9]+)$/i.exec(t);
  if (reg) {
    const name = reg[1].toLowerCase();
    if (/^cr\d+$/.test(name)) return { kind: 'cr' };
    if (/^dr\d+$/.test(name)) return { kind: 'dr' };
    const r = registerInfo(name);
    if (r?.kind === 'segment') return { kind: 'sreg' };
    if (r?.kind === 'general') return { kind: 'reg', size: r.width, name };
    if (r) return { kind: 'other' };
  }
  if (syntax === 'att' ? t.startsWith('$') : /^(?:-?\d|0x|'|[A-Z_][A-Z0-9_]*$)/i.test(t) && !t.includes('[')) return { kind: 'imm' };
  return { kind: 'mem' };
}

/** How well a form takes the written operands (higher is better; -1 when the count differs). */
export function formScore(f: InstructionForm, operands: readonly string[], syntax: Syntax, regPrefix?: boolean): number {
  if (f.operands.length !== operands.length) return -1;
  const intelOrder = syntax === 'att' ? [...operands].reverse() : operands;
  let score = 0;
  intelOrder.forEach((text, i) => {
    const want = f.operands[i];
    const k = operandKind(text, syntax, regPrefix);
    const w = want.toLowerCase();
    switch (k.kind) {
      case 'cr':
        if (w === 'cr') score += 3;
        break;
      case 'dr':
        if (w === 'dr') score += 3;
        break;
      case 'sreg':
        if (w === 'sreg' || w === k.kind) score += 3;
        break;
      case 'reg':
        if (w === k.name) score += 3;
        else if (w === `r${k.size}` || w === `r/m${k.size}` || w.startsWith(`r${k.size}/`)) score += 2;
        break;
      case 'imm':
        if (w.startsWith('imm') || w === '1' || w.startsWith('rel') || w.startsWith('ptr')) score += 2;
        break;
      case 'mem':
        if (/^(?:r\/m|m|moffs|rel|ptr)/.test(w) || /\/m\d/.test(w)) score += 2;
        break;
    }
  });
  return score;
}

/** How well the best form of `info` (of `size`, valid in `bits`) takes the written operands. */
export function bestFormScore(info: InstructionInfo, size: number | undefined, bits: Bitness | undefined, operands: readonly string[], syntax: Syntax, regPrefix?: boolean): number {
  let best = -1;
  for (const f of relevantForms(info, bits, size)) best = Math.max(best, formScore(f, operands, syntax, regPrefix));
  return best;
}

/** The forms that best match the written operands (all when none is written). */
export function matchingForms(forms: readonly InstructionForm[], operands: readonly string[], syntax: Syntax, regPrefix?: boolean): InstructionForm[] {
  if (operands.length === 0) return forms.filter((f) => f.operands.length === 0);
  let best = 0;
  const scored = forms.map((f) => {
    const s = formScore(f, operands, syntax, regPrefix);
    if (s > best) best = s;
    return { f, s };
  });
  return best > 0 ? scored.filter((x) => x.s === best).map((x) => x.f) : [];
}

export interface InstructionDocOptions {
  word: string;
  match: MnemonicMatch;
  syntax: Syntax;
  bits: Bitness | undefined;
  /** Why the line is `bits`-bit (index/build-mode.ts bitsReason); without it, only the bitness is said. */
  bitsWhy?: string;
  operandsText?: string;
  /** The operands as written, to put the matching forms first. */
  operands?: string[];
  regPrefix?: boolean;
  prefixes?: string[];
  maxForms?: number;
}

export function instructionMarkdown(o: InstructionDocOptions): string {
  const { info } = o.match;
  const lines: string[] = [];
  const alias = o.word.toLowerCase() !== info.name ? ` (${info.name.toUpperCase()})` : '';
  lines.push(`**${o.word}**${alias} — ${summaryOf(info)}`);
  if (o.prefixes?.length) lines.push('', `Prefix${o.prefixes.length > 1 ? 'es' : ''}: ${o.prefixes.map((p) => `\`${p}\``).join(', ')}`);
  let forms = relevantForms(info, o.bits, o.match.size);
  const matching = o.operands ? matchingForms(forms, o.operands, o.syntax, o.regPrefix) : [];
  if (matching.length > 0) forms = [...matching, ...forms.filter((f) => !matching.includes(f))];
  const max = o.maxForms ?? 12;
  lines.push('', `| ${o.syntax === 'att' ? 'AT&T' : 'Intel'} form | Encoding | Modes |${info.privilege === 'some' ? ' CPL 0 |' : ''}`, `|---|---|---|${info.privilege === 'some' ? '---|' : ''}`);
  for (const f of forms.slice(0, max)) {
    lines.push(`| \`${formText(f, o.syntax).replace(/\|/g, '\\|')}\` | \`${f.opcode}\` | ${modesText(f.modes).replace(/-bit/g, '')} |${info.privilege === 'some' ? (f.cpl0 ? ' yes |' : ' |') : ''}`);
  }
  if (forms.length > max) lines.push('', `…and ${forms.length - max} more form${forms.length - max === 1 ? '' : 's'}.`);
  lines.push('', `Valid in ${modesText(info.modes)} code.${o.bits !== undefined ? ` This line is ${o.bits}-bit${o.bitsWhy !== undefined ? ` (${o.bitsWhy})` : ''}${info.modes & MODE_BIT[o.bits] ? '' : ': **not valid here**'}.` : ''}`);
  if (matching.length > 0 && matching.length <= 3 && o.operands && o.operands.length > 0) {
    lines.push('', `This line: ${matching.map((f) => `\`${intelForm(f.intel)}\` (\`${f.opcode}\`)`).join(' or ')}.`);
  }
  if (info.privilege === 'some' && matching.length > 0 && o.operands && o.operands.length > 0) {
    lines.push('', matching.every((f) => f.cpl0)
      ? `Privileged: this form runs at CPL 0 only (ring 0; #GP elsewhere). A KVM guest runs it in its own ring 0.`
      : matching.some((f) => f.cpl0) ? privilegeText(info) : 'Not privileged in this form (other forms need CPL 0).');
  } else lines.push('', privilegeText(info));
  if (info.isString) lines.push('', 'String instruction: uses (E/R)SI and/or (E/R)DI, stepped by DF; `rep` repeats it (E/R)CX times.');
  lines.push('', flagsText(info, matching.length > 0 ? matching : undefined));
  lines.push('', `[Full reference: ${info.name.toUpperCase()} on felixcloutier.com](${referenceUrl(info.name, o.operandsText ?? '')})`);
  return lines.join('\n');
}
