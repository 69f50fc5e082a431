// Signature help inside an instruction's (or a macro's) operands: the forms valid in the
// line's mode, in its syntax, with the operand under the cursor active.
import type { ParameterInformation, SignatureHelp, SignatureInformation } from 'vscode-languageserver-types';
import { instructionTable } from '../instruction-data/iced-table';
import { lookupMnemonic } from '../instruction-data/mnemonic-lookup';
import { effectiveBits } from '../index/build-mode';
import { findDefinitions } from '../index/resolve';
import type { ParsedFile, Statement } from '../parser/types';
import type { ServerContext } from '../server/context';
import { formScore, formText, relevantForms, summaryOf } from './instruction-docs';

function statementAround(parsed: ParsedFile, line: number, character: number): Statement | undefined {
  const first = parsed.lineStatement[line];
  if (first === undefined || first < 0) return undefined;
  let best: Statement | undefined;
  for (let i = first; i < parsed.statements.length && parsed.statements[i].line === line; i++) {
    const s = parsed.statements[i];
    if (s.start <= character) best = s;
  }
  return best;
}

/** Index of the operand at `character`: top-level commas before it in the line text. */
function operandIndex(text: string, from: number, character: number): number {
  let depth = 0;
  let n = 0;
  let inString = false;
  for (let i = from; i < character && i < text.length; i++) {
    const c = text[i];
    if (c === '"') inString = !inString;
    else if (inString) continue;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) n++;
  }
  return n;
}

export function signatureHelp(ctx: ServerContext, file: string, line: number, character: number): SignatureHelp | null {
  const parsed = ctx.index.get(file);
  if (parsed === undefined || parsed.kind === 'c') return null;
  const st = statementAround(parsed, line, character);
  if (st === undefined || st.head === undefined || st.kind !== 'instruction' || character < st.head.end) return null;
  const text = ctx.lineText(file, line);
  if (text.slice(st.head.end, character).trim() === '' && character === st.head.end) return null;
  const active = operandIndex(text, st.head.end, character);
  const macro = findDefinitions(ctx.index, file, st.head.text).find((d) => d.kind === 'macro');
  if (macro) {
    const params = (macro.params ?? []).map((p): ParameterInformation => ({ label: p }));
    const label = `${macro.name} ${(macro.params ?? []).join(', ')}`.trim();
    return { signatures: [{ label, parameters: params, documentation: `.macro ${macro.name}` }], activeSignature: 0, activeParameter: Math.min(active, Math.max(0, params.length - 1)) };
  }
  const table = instructionTable();
  const match = table && lookupMnemonic(st.head.text, st.syntax, table);
  if (!match) return null;
  const forms = relevantForms(match.info, effectiveBits(parsed, st.bits), match.size).filter((f) => f.operands.length > 0).slice(0, 16);
  if (forms.length === 0) return null;
  const signatures = forms.map((f): SignatureInformation => {
    const label = formText(f, st.syntax);
    const space = label.indexOf(' ');
    const params: ParameterInformation[] = [];
    if (space >= 0) {
      let at = space + 1;
      for (const op of label.slice(space + 1).split(', ')) {
        params.push({ label: [at, at + op.length] });
        at += op.length + 2;
      }
    }
    return { label, parameters: params, documentation: `${f.opcode} — ${summaryOf(match.info)}` };
  });
  // The form that best takes what is typed; else the first with enough operands.
  const written = st.operands.map((o) => o.text);
  let activeSignature = -1;
  let bestScore = 0;
  forms.forEach((f, i) => {
    const sc = formScore(f, written, st.syntax, st.regPrefix);
    if (sc > bestScore) {
      bestScore = sc;
      activeSignature = i;
    }
  });
  if (activeSignature < 0) activeSignature = signatures.findIndex((s) => (s.parameters?.length ?? 0) >= Math.max(written.length, active + 1));
  if (activeSignature < 0) activeSignature = 0;
  return { signatures, activeSignature, activeParameter: active };
}
