// Our own instant checks, run on every edit without the assembler: undefined and duplicate
// labels, unresolved numeric labels, and instructions or registers the current mode lacks.
// They only report what is certain: anything a macro, the preprocessor or a generated name
// could explain is left alone (the assembler run will still catch it).
import { instructionTable } from '../instruction-data/iced-table';
import { lookupMnemonic, modeProblem } from '../instruction-data/mnemonic-lookup';
import { isRegisterName, registerModeProblem } from '../instruction-data/registers';
import { effectiveBits, fileModeReason, isCodeDirective } from '../index/build-mode';
import { findDefinitions, resolveNumeric } from '../index/resolve';
import type { WorkspaceIndex } from '../index/workspace-index';
import type { Bits, CondPath, Definition, ParsedFile, Statement, Token } from '../parser/types';

export interface LocalProblem {
  line: number;
  start: number;
  end: number;
  severity: 'error' | 'warning' | 'information';
  message: string;
  code: string;
  related?: Array<{ file: string; line: number; start: number; end: number; message: string }>;
}

/** Names our linker scripts (guests/ld) define for every guest. */
export const LINKER_SYMBOLS = new Set(['_start', '__bss_start', '__bss_end', '_end', '_GLOBAL_OFFSET_TABLE_']);

export function exclusive(a: CondPath, b: CondPath): boolean {
  for (const [ida, ba] of a) for (const [idb, bb] of b) if (ida === idb && ba !== bb) return true;
  return false;
}

export interface CheckOptions {
  /** No assembler can run: also say what it would have said about missing includes. */
  reportMissingIncludes?: boolean;
  /** Names the build defines on its command line (settings `defines`: -D / --defsym). */
  buildNames?: ReadonlySet<string>;
  /**
   * Names found nowhere in the file, its includes or the workspace: an Information hint (they may
   * come from another object at link time). False: no hint at all (setting `undefinedSymbolHints`).
   */
  undefinedHints?: boolean;
}

/** Statement heads that transfer control to their operand (a call into another object is normal). */
const TRANSFER = /^(?:l?call|l?jmp|j[a-z]{1,4}|loop[a-z]*|xbegin)[wlq]?$/i;

/** What buildGuest passes as -D (.S, .c) or --defsym (.s) for every mode. */
const BUILD_SYMBOL = /^KVM_GUEST_(?:MODE_[A-Z0-9]+|BITS)$/;

export function localChecks(index: WorkspaceIndex, file: string, opts: CheckOptions = {}): LocalProblem[] {
  const parsed = index.get(file);
  if (parsed === undefined || parsed.kind === 'c') return [];
  const out: LocalProblem[] = [];
  for (const p of parsed.problems) out.push({ ...p, code: 'syntax' });
  if (opts.reportMissingIncludes) {
    for (const inc of parsed.includes) {
      if (inc.resolved === undefined && !inc.angle) {
        out.push({ line: inc.line, start: inc.start, end: inc.end, severity: 'error', code: 'missing-include', message: `cannot find '${inc.spec}' next to this file or on the include path` });
      }
    }
  }
  // Headers are shared with C (`#ifndef __ASSEMBLER__` parts, or none at all): only the
  // preprocessor's complaints there; the files that include them get the real checks.
  if (/\.h$/i.test(file)) return out;
  const table = instructionTable();
  const defsCache = new Map<string, Definition[]>();
  const defsOf = (name: string): Definition[] => {
    let d = defsCache.get(name);
    if (d === undefined) defsCache.set(name, (d = findDefinitions(index, file, name)));
    return d;
  };
  // Words handed to macros may become symbols the macro defines.
  const macroArgs = new Set<string>();
  const stmts = parsed.statements;
  const headIsMacro = new Map<number, boolean>();
  for (let i = 0; i < stmts.length; i++) {
    const st = stmts[i];
    if (st.kind !== 'instruction' || st.head === undefined) continue;
    const defs = defsOf(st.head.text);
    const macro = defs.some((d) => d.kind === 'macro' || d.kind === 'define');
    headIsMacro.set(i, macro);
    if (macro) for (const op of st.operands) for (const m of op.text.matchAll(/[A-Za-z_.][A-Za-z0-9_.$]*/g)) macroArgs.add(m[0]);
  }
  const generated = new Set<string>();
  // Names declared .extern/.globl/.weak anywhere in the files assembled together: the linker's business.
  const declared = new Set<string>();
  for (const f of index.scope(file)) {
    const p = index.get(f);
    if (p === undefined) continue;
    for (const x of p.generatedPrefixes) generated.add(x);
    for (const set of [p.globals, p.weaks, p.externs]) for (const n of set ?? []) declared.add(n);
  }

  // Until the first .code directive the bitness is the file's build mode, and so is the reason.
  let codeSeen = false;
  const why = (bits: Bits): string | undefined => (codeSeen ? undefined : fileModeReason(parsed, bits).replace(/`/g, ''));
  for (let line = 0; line < parsed.lineCount; line++) {
    for (const t of parsed.tokens[line]) {
      if (t.stmt === undefined) continue;
      const st = stmts[t.stmt];
      if (t.kind === 'directive' && isCodeDirective(t.text)) codeSeen = true;
      if (st.scope !== 'top') continue;
      const bits = effectiveBits(parsed, st.bits);
      switch (t.kind) {
        case 'mnemonic':
          if (table && bits !== undefined && !t.text.includes('\\') && !headIsMacro.get(t.stmt)) {
            const match = lookupMnemonic(t.text, st.syntax, table);
            const problem = match && modeProblem(t.text, match, bits, why(bits));
            if (problem) out.push({ line, start: t.start, end: t.end, severity: 'error', code: 'mode', message: problem });
          }
          break;
        case 'register':
          if (bits !== undefined && !headIsMacro.get(t.stmt)) {
            const problem = registerModeProblem(t.text, bits, why(bits));
            if (problem) out.push({ line, start: t.start, end: t.end, severity: 'error', code: 'mode', message: problem });
          }
          break;
        case 'numref':
          if (resolveNumeric(parsed, t) === undefined) {
            out.push({
              line, start: t.start, end: t.end, severity: 'error', code: 'undefined-label',
              message: t.extra === 'b' ? `no '${t.text}:' label before this use of ${t.text}b` : `no '${t.text}:' label after this use of ${t.text}f`,
            });
          }
          break;
        case 'symbol':
          if (!t.noCheck && opts.undefinedHints !== false && !declared.has(t.text) && !(st.head && TRANSFER.test(st.head.text))) {
            const problem = BUILD_SYMBOL.test(t.text) || opts.buildNames?.has(t.text) ? undefined : undefinedProblem(t, st, parsed, defsOf, macroArgs, generated);
            if (problem) out.push(problem);
          }
          break;
      }
    }
  }
  out.push(...duplicateProblems(index, file, parsed));
  return out;
}

function undefinedProblem(
  t: Token, st: Statement, parsed: ParsedFile, defsOf: (n: string) => Definition[], macroArgs: Set<string>, generated: Set<string>,
): LocalProblem | undefined {
  const name = t.text;
  if (defsOf(name).length > 0 || parsed.defines.has(name) || LINKER_SYMBOLS.has(name) || macroArgs.has(name) || parsed.weaks.has(name)) return undefined;
  for (const p of generated) if (name.startsWith(p)) return undefined;
  let hint = '';
  if (isRegisterName(name)) {
    hint = st.syntax === 'att' ? ` (a register needs '%' in AT&T syntax: %${name.toLowerCase()})` : " (after '.intel_syntax' without 'noprefix', registers need '%')";
  }
  // GNU as leaves every name it does not know to the linker: at most a hint, never an error.
  return {
    line: t.line, start: t.start, end: t.end, severity: 'information', code: 'undefined-symbol',
    message: `'${name}' is not defined in the files of this build: resolved at link time?${hint}`,
  };
}

const ORDER_SENSITIVE = new Set(['label', 'comm']);

function duplicateProblems(index: WorkspaceIndex, file: string, parsed: ParsedFile): LocalProblem[] {
  const out: LocalProblem[] = [];
  const seen = new Set<string>();
  for (const d of parsed.defs) {
    if (d.soft || !(d.kind === 'label' || d.kind === 'equ' || d.kind === 'set' || d.kind === 'comm')) continue;
    if (seen.has(d.name)) continue;
    seen.add(d.name);
    const all = findDefinitions(index, file, d.name).filter(
      (o) => !o.soft && (o.kind === 'label' || o.kind === 'equ' || o.kind === 'set' || o.kind === 'comm'),
    );
    if (all.length < 2) continue;
    for (const cur of all) {
      if (cur.file !== file) continue;
      const clash = all.find((prev) => {
        if (prev === cur) return false;
        const sameFile = prev.file === cur.file;
        if (sameFile && exclusive(prev.cond, cur.cond)) return false;
        if (sameFile) {
          const earlier = prev.line < cur.line || (prev.line === cur.line && prev.start < cur.start);
          // GNU as: redefining after a label or .comm fails; .equ/.set before a label is allowed.
          return earlier && ORDER_SENSITIVE.has(prev.kind);
        }
        return ORDER_SENSITIVE.has(prev.kind) && ORDER_SENSITIVE.has(cur.kind);
      });
      if (clash) {
        out.push({
          line: cur.line, start: cur.start, end: cur.end, severity: 'error', code: 'duplicate-label',
          message: `'${cur.name}' is already defined${clash.file === file ? ` on line ${clash.line + 1}` : ''}`,
          related: [{ file: clash.file, line: clash.line, start: clash.start, end: clash.end, message: `first definition of '${cur.name}'` }],
        });
      }
    }
  }
  return out;
}
