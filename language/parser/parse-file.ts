// A tolerant parser for GNU as x86 sources (AT&T and Intel syntax) and the C preprocessor layer
// of `.S` files. One pass over the lines; a line that makes no sense yields no tokens and the
// parser carries on with the next one.
import { PREFIXES } from '../instruction-data/summaries';
import { isRegisterName } from '../instruction-data/registers';
import {
  firstNonBlank, isAlnum, isNameChar, isSpace, nameEnd, NO_TOKENS, ParsedStatement, SPECIAL_CHARS, splitOperands,
} from './lexical';
import type { GasFrame, ParseOptions } from './parser-state';
import { PreprocessingParser } from './preprocessor';
import { scanLine } from './scanner';
import type { Bits, IncludeDirective, ParsedFile, Statement, Token } from './types';

export type { ParseOptions } from './parser-state';
export { splitOperands } from './lexical';

const INTEL_KEYWORDS = new Set([
  'ptr', 'offset', 'byte', 'word', 'dword', 'fword', 'qword', 'tbyte', 'oword', 'xmmword', 'ymmword', 'zmmword',
  'near', 'far', 'short', 'flat', 'mod', 'shl', 'shr', 'and', 'or', 'xor', 'not', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
]);
const DECLARING = new Set(['.globl', '.global', '.local', '.weak', '.hidden', '.protected', '.internal', '.extern', '.type', '.weakref']);
const STRING_ONLY = new Set(['.ascii', '.asciz', '.string', '.string8', '.string16', '.string32', '.string64', '.err', '.error', '.warning', '.print', '.file', '.ident', '.title', '.sbttl', '.psize', '.version']);
const IGNORED_OPERANDS = new Set(['.arch', '.loc', '.loc_mark_labels', '.att_mnemonic', '.intel_mnemonic', '.cfi_sections', '.attribute', '.gnu_attribute', '.symver', '.altmacro', '.noaltmacro', '.list', '.nolist', '.eject']);
const KNOWN_EXPR = new Set([
  '.byte', '.word', '.short', '.value', '.hword', '.2byte', '.long', '.int', '.4byte', '.quad', '.8byte', '.octa',
  '.org', '.align', '.balign', '.balignw', '.balignl', '.p2align', '.p2alignw', '.p2alignl', '.fill', '.space',
  '.skip', '.zero', '.nops', '.sleb128', '.uleb128', '.float', '.single', '.double', '.struct', '.dc', '.ds',
]);
const GAS_IF = /^\.if(?:def|ndef|notdef|c|nc|eq|ne|eqs|nes|gt|ge|lt|le|b|nb)?$/;

const NAME_RE = /(?:[A-Za-z_.$]|\\(?:\(\)|@|[A-Za-z_]))(?:[A-Za-z0-9_.$]|\\(?:\(\)|@|[A-Za-z_]))*/y;
const IDENT_RE = /[A-Za-z_.][A-Za-z0-9_.$]*/y;
const NUMBER_RE = /0[xX][0-9a-fA-F]+|0[bB][01]+(?![0-9A-Za-z_])|([0-9]+)([bf])(?![0-9A-Za-z_$.])|[0-9][0-9a-zA-Z_.]*/y;
const REGISTER_RE = /[A-Za-z][A-Za-z0-9]*(?:\(\s*[0-7]\s*\))?/y;
const NUMLABEL_RE = /([0-9]+)[ \t]*:(?!:)/y;
const PARAM_RE = /\\([A-Za-z_][A-Za-z0-9_]*)/y;
const MACRO_PARAM_RE = /\s*([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*(?:"[^"]*"|[^\s,]*))?(?::(?:req|vararg))?\s*,?/y;

export function parseFile(text: string, opts: ParseOptions): ParsedFile {
  return new Parser(text, opts).run();
}

class Parser extends PreprocessingParser {
  run(): ParsedFile {
    const n = this.lines.length;
    let inBlock = false;
    let blockStart = -1;
    // C sources: only the preprocessor layer and their top-level definitions (cDefinitions).
    const isC = this.opts.kind === 'c';
    for (let line = 0; line < n; line++) {
      const raw = this.lines[line];
      if (raw.length > 20000) continue; // a minified blob: not worth tokenizing
      if (!inBlock && this.cpp && firstNonBlank(raw) === 35 /* # */ && this.isCppDirective(raw)) {
        line = this.cppDirective(line);
        continue;
      }
      // Most lines have no comment, string or `;`: no scanning needed.
      if (!inBlock && !SPECIAL_CHARS.test(raw)) {
        const fnb = firstNonBlank(raw);
        if (fnb < 0 || !this.cppOn() || isC) continue;
        this.codeLines[line] = 1;
        this.statement(raw, line, 0, raw.length);
        continue;
      }
      const wasBlock = inBlock;
      const scanned = scanLine(raw, inBlock, this.scanOptions);
      const cs = scanned.comments;
      for (let k = 0; k < cs.length; k++) this.push({ line, start: cs[k][0], end: cs[k][1], kind: 'comment', text: '' });
      if (scanned.commentText !== '') this.comments[line] = scanned.commentText;
      if (!wasBlock && scanned.inBlock) blockStart = line;
      if (wasBlock && !scanned.inBlock && blockStart >= 0 && line > blockStart) {
        this.folds.push({ start: blockStart, end: line, kind: 'comment' });
        blockStart = -1;
      }
      inBlock = scanned.inBlock;
      if (!this.cppOn() || isC) continue;
      if (!scanned.hasCode) continue;
      this.codeLines[line] = 1;
      const ss = scanned.statements;
      for (let k = 0; k < ss.length; k++) this.statement(scanned.code, line, ss[k][0], ss[k][1]);
    }
    if (isC) this.cDefinitions();
    this.finish();
    return {
      path: this.opts.path,
      version: this.opts.version ?? 0,
      kind: this.opts.kind,
      lineCount: n,
      tokens: this.tokens,
      statements: this.statements,
      defs: this.defs,
      refs: this.refs,
      numericDefs: this.numericDefs,
      includes: this.includes,
      folds: this.folds,
      inactive: this.inactive,
      sections: this.sections,
      defines: this.defines,
      cppEvents: this.cppEvents,
      problems: this.problems,
      comments: this.comments,
      codeLines: this.codeLines,
      firstBits: this.firstBits,
      generatedPrefixes: [...this.generatedPrefixes],
      lineStatement: this.lineStatement,
      globals: this.globals,
      weaks: this.weaks,
      externs: this.externs,
      codeBits: this.codeBits,
    };
  }

  // ---- tokens and definitions -------------------------------------------------------------

  // ---- statements -------------------------------------------------------------------------

  private statement(code: string, line: number, from: number, to: number): void {
    let p = from;
    while (p < to && isSpace(code.charCodeAt(p))) p++;
    let end = to;
    while (end > p && isSpace(code.charCodeAt(end - 1))) end--;
    if (p >= end) return;
    const scope = this.scope();
    const stmt = new ParsedStatement(
      code, line, p, end, this.bits, this.syntax, this.regPrefix, scope,
      this.macroStack.length > 0 ? this.macroStack[this.macroStack.length - 1].def.name : undefined,
      this.condPath, this.section,
    );
    const index = this.statements.length;
    this.statements.push(stmt);
    if (this.lineStatement[line] < 0) this.lineStatement[line] = index;

    // Labels: `name:`, `1:`, several per statement.
    let e = p; // end of the name at p, once scanned
    for (;;) {
      const c = code.charCodeAt(p);
      if (c >= 48 && c <= 57) {
        const m = NUMLABEL_RE;
        m.lastIndex = p;
        const r = m.exec(code);
        if (!r || m.lastIndex > end) return; // `1 + 2` as a statement: nothing we understand
        const t = this.push({ line, start: p, end: p + r[1].length, kind: 'numlabel', text: r[1], stmt: index });
        if (stmt.labels === NO_TOKENS) stmt.labels = [t];
        else stmt.labels.push(t);
        let list = this.numericDefs.get(r[1]);
        if (list === undefined) this.numericDefs.set(r[1], (list = []));
        list.push(t);
        p = m.lastIndex;
      } else {
        e = nameEnd(code, p, end);
        if (e === p) break;
        let q = e;
        while (q < end && isSpace(code.charCodeAt(q))) q++;
        if (q >= end || code.charCodeAt(q) !== 58 /* : */ || code.charCodeAt(q + 1) === 58) break;
        const name = code.slice(p, e);
        const generated = name.includes('\\');
        const t: Token = { line, start: p, end: e, kind: 'label', text: name, stmt: index };
        // A name built from parameters is shown as its parameter uses, not as one label.
        if (!generated) this.push(t);
        if (stmt.labels === NO_TOKENS) stmt.labels = [t];
        else stmt.labels.push(t);
        if (generated) {
          const prefix = name.slice(0, name.indexOf('\\'));
          if (prefix.length > 0) this.generatedPrefixes.add(prefix);
          this.paramUses(name, line, p);
        }
        this.define({
          name, kind: 'label', line, start: p, end: e, section: this.section,
          soft: scope !== 'top' || generated, stmt: index,
        });
        p = q + 1;
      }
      while (p < end && isSpace(code.charCodeAt(p))) p++;
      if (p >= end) return;
      e = p;
    }

    // `name = expr`, `. = expr`
    if (e > p) {
      let q = e;
      while (q < end && isSpace(code.charCodeAt(q))) q++;
      if (code.charCodeAt(q) === 61 /* = */ && code.charCodeAt(q + 1) !== 61) {
        stmt.kind = 'assignment';
        const name = code.slice(p, e);
        if (name !== '.') {
          this.push({ line, start: p, end: e, kind: 'const-def', text: name, stmt: index });
          this.define({ name, kind: 'set', line, start: p, end: e, value: code.slice(q + 1, end).trim(), soft: scope !== 'top' || name.includes('\\'), stmt: index });
          if (name.includes('\\')) this.generatedPrefixes.add(name.slice(0, name.indexOf('\\')));
        }
        stmt.operandsStart = q + 1;
        stmt.operands = [{ start: q + 1, end, text: code.slice(q + 1, end).trim() }];
        this.expression(code, q + 1, end, line, index, stmt, false);
        return;
      }
    }

    // Prefixes (`rep`, `lock`, `cs`, `{vex}`, `rep/outsb`) and the head word.
    for (;;) {
      if (code.charCodeAt(p) === 123 /* { */) {
        const close = code.indexOf('}', p);
        if (close < 0 || close >= end) break;
        if (stmt.prefixes === NO_TOKENS) stmt.prefixes = [];
        stmt.prefixes.push(this.push({ line, start: p, end: close + 1, kind: 'prefix', text: code.slice(p, close + 1), stmt: index }));
        p = close + 1;
        while (p < end && isSpace(code.charCodeAt(p))) p++;
        e = p;
        continue;
      }
      if (e <= p) e = nameEnd(code, p, end);
      // Not a statement we understand (stray punctuation, a quoted label): leave it.
      if (e === p) return;
      const q = e;
      const word = code.slice(p, q);
      const first = code.charCodeAt(p);
      const slash = code.charCodeAt(q) === 47; // GAS on Linux: `/` separates a prefix (`rep/outsb`)
      let next = q + (slash ? 1 : 0);
      while (next < end && isSpace(code.charCodeAt(next))) next++;
      const nc = code.charCodeAt(next);
      const nextIsWord = next < end && ((nc >= 65 && nc <= 90) || (nc >= 97 && nc <= 122) || nc === 95 || nc === 123);
      if (first !== 46 && (slash || nextIsWord) && q - p <= 8) {
        const lower = word.toLowerCase();
        if (Object.prototype.hasOwnProperty.call(PREFIXES, lower)) {
          if (stmt.prefixes === NO_TOKENS) stmt.prefixes = [];
          stmt.prefixes.push(this.push({ line, start: p, end: q, kind: 'prefix', text: word, stmt: index }));
          p = next;
          e = p;
          continue;
        }
      }
      if (first === 46 /* . */ && !word.includes('\\')) {
        stmt.kind = 'directive';
        stmt.head = this.push({ line, start: p, end: q, kind: 'directive', text: word, stmt: index });
        stmt.operandsStart = q;
        stmt.operands = splitOperands(code, q, end);
        this.directive(code, stmt, index, word.toLowerCase(), q, end);
        return;
      }
      stmt.kind = 'instruction';
      stmt.operandsStart = q;
      if (word.includes('\\')) {
        this.paramUses(word, line, p);
        stmt.head = { line, start: p, end: q, kind: 'mnemonic', text: word, stmt: index };
      } else stmt.head = this.ref({ line, start: p, end: q, kind: 'mnemonic', text: word, stmt: index });
      this.expression(code, q, end, line, index, stmt, scope !== 'top');
      return;
    }
  }

  /** Tokens of an operand list or expression between `from` and `to`. */
  private expression(code: string, from: number, to: number, line: number, stmtIndex: number, stmt: Statement | undefined, noCheck: boolean): void {
    const intelBare = stmt !== undefined && stmt.syntax === 'intel' && !stmt.regPrefix;
    const regPrefix = stmt === undefined ? true : stmt.regPrefix;
    const inBody = this.macroStack.length > 0 || this.repeatStack.length > 0;
    let i = from;
    while (i < to) {
      const c = code.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      if (c === 37 /* % */ && regPrefix) {
        let k = i + 1;
        while (k < to && isAlnum(code.charCodeAt(k))) k++;
        if (k > i + 1 && !(code.charCodeAt(i + 1) >= 48 && code.charCodeAt(i + 1) <= 57)) {
          let name = code.slice(i + 1, k);
          if (code.charCodeAt(k) === 40 /* ( */ && (name === 'st' || name === 'ST')) {
            REGISTER_RE.lastIndex = i + 1;
            const r = REGISTER_RE.exec(code);
            if (r && REGISTER_RE.lastIndex <= to) {
              name = r[0];
              k = REGISTER_RE.lastIndex;
            }
          }
          this.push({ line, start: i, end: k, kind: 'register', text: name.replace(/\s+/g, '').toLowerCase(), stmt: stmtIndex });
          i = k;
          continue;
        }
        i++;
        continue;
      }
      if (c === 34 /* " */) {
        let k = i + 1;
        while (k < to && code.charCodeAt(k) !== 34) k += code.charCodeAt(k) === 92 ? 2 : 1;
        k = Math.min(k + 1, to);
        this.push({ line, start: i, end: k, kind: 'string', text: code.slice(i, k), stmt: stmtIndex });
        i = k;
        continue;
      }
      if (c === 39 /* ' */) {
        let k = i + (code.charCodeAt(i + 1) === 92 ? 3 : 2);
        if (code.charCodeAt(k) === 39) k++;
        k = Math.min(k, to);
        this.push({ line, start: i, end: k, kind: 'number', text: code.slice(i, k), stmt: stmtIndex });
        i = k;
        continue;
      }
      if (c >= 48 && c <= 57) {
        NUMBER_RE.lastIndex = i;
        const r = NUMBER_RE.exec(code) as RegExpExecArray;
        const k = Math.min(NUMBER_RE.lastIndex, to);
        if (r[1] !== undefined) {
          this.push({ line, start: i, end: k, kind: 'numref', text: r[1], extra: r[2], stmt: stmtIndex });
        } else this.push({ line, start: i, end: k, kind: 'number', text: r[0], stmt: stmtIndex });
        i = k;
        continue;
      }
      if (c === 92 /* \ */ && inBody) {
        PARAM_RE.lastIndex = i;
        const r = PARAM_RE.exec(code);
        if (r) {
          this.push({ line, start: i, end: PARAM_RE.lastIndex, kind: 'param', text: r[1], extra: this.bodyOwner(), stmt: stmtIndex });
          i = PARAM_RE.lastIndex;
          continue;
        }
        i += 2;
        continue;
      }
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46) {
        let k = i + 1;
        while (k < to && isNameChar(code.charCodeAt(k))) k++;
        const name = code.slice(i, k);
        // A name glued to a parameter (`foo\n`, `\()`) is generated per expansion.
        const glued = code.charCodeAt(k) === 92 && inBody;
        if (name === '.') {
          i = k;
          continue;
        }
        const lower = name.toLowerCase();
        if (intelBare && (isRegisterName(lower) || (lower === 'st' && code.charCodeAt(k) === 40))) {
          if (lower === 'st' && code.charCodeAt(k) === 40) {
            const close = code.indexOf(')', k);
            if (close > 0 && close < to) k = close + 1;
          }
          this.push({ line, start: i, end: k, kind: 'register', text: code.slice(i, k).replace(/\s+/g, '').toLowerCase(), stmt: stmtIndex });
        } else if (stmt !== undefined && stmt.syntax === 'intel' && INTEL_KEYWORDS.has(lower)) {
          this.push({ line, start: i, end: k, kind: 'keyword', text: name, stmt: stmtIndex });
        } else if (glued) {
          if (name.length > 0) this.generatedPrefixes.add(name);
        } else {
          this.ref({ line, start: i, end: k, kind: 'symbol', text: name, noCheck: noCheck || undefined, stmt: stmtIndex });
        }
        // `sym@PLT`, `sym@GOTPCREL`: the relocation suffix is not a name of its own.
        if (code.charCodeAt(k) === 64 /* @ */) {
          IDENT_RE.lastIndex = k + 1;
          if (IDENT_RE.exec(code)) k = IDENT_RE.lastIndex;
        }
        i = k;
        continue;
      }
      i++;
    }
  }

  private bodyOwner(): string | undefined {
    if (this.macroStack.length > 0) return this.macroStack[this.macroStack.length - 1].def.name;
    const rep = this.repeatStack[this.repeatStack.length - 1];
    return rep?.param !== undefined ? `.irp@${rep.line}` : undefined;
  }

  /** `\param` uses inside a label or head word built from parameters. */
  private paramUses(word: string, line: number, at: number): void {
    const re = /\\([A-Za-z_][A-Za-z0-9_]*)/g;
    for (let m = re.exec(word); m; m = re.exec(word)) {
      this.push({ line, start: at + m.index, end: at + m.index + m[0].length, kind: 'param', text: m[1], extra: this.bodyOwner() });
    }
  }

  // ---- directives -------------------------------------------------------------------------

  private directive(code: string, stmt: Statement, index: number, name: string, from: number, to: number): void {
    const line = stmt.line;
    const args = code.slice(from, to).trim();
    const argStart = from + (code.slice(from, to).length - code.slice(from, to).trimStart().length);
    const firstName = (): { text: string; start: number; end: number } | undefined => {
      NAME_RE.lastIndex = argStart;
      const r = NAME_RE.exec(code);
      if (!r || NAME_RE.lastIndex > to) return undefined;
      return { text: r[0], start: argStart, end: NAME_RE.lastIndex };
    };
    const setBits = (b: Bits): void => {
      this.bits = b;
      if (this.macroStack.length === 0) {
        if (this.firstBits === undefined) this.firstBits = b;
        this.codeBits.add(b);
      }
    };
    switch (name) {
      case '.code16':
      case '.code16gcc':
        setBits(16);
        return;
      case '.code32':
        setBits(32);
        return;
      case '.code64':
        setBits(64);
        return;
      case '.intel_syntax':
      case '.att_syntax': {
        const word = args.toLowerCase();
        this.syntax = name === '.intel_syntax' ? 'intel' : 'att';
        this.regPrefix = name === '.intel_syntax' ? word !== 'noprefix' : word !== 'noprefix';
        if (word !== '') this.push({ line, start: argStart, end: argStart + args.length, kind: 'keyword', text: args, stmt: index });
        return;
      }
      case '.macro': {
        const n = firstName();
        if (n === undefined) {
          this.problem(line, stmt.start, to, '.macro needs a name');
          this.macroStack.push({ def: this.define({ name: '', kind: 'macro', line, start: stmt.start, end: to, soft: true }), line });
          return;
        }
        this.push({ line, start: n.start, end: n.end, kind: 'macro-def', text: n.text, stmt: index });
        const def = this.define({ name: n.text, kind: 'macro', line, start: n.start, end: n.end, params: [], soft: this.scope() !== 'top', stmt: index });
        let p = n.end;
        if (code[p] === ',') p++;
        while (p < to) {
          MACRO_PARAM_RE.lastIndex = p;
          const m = MACRO_PARAM_RE.exec(code);
          if (!m || MACRO_PARAM_RE.lastIndex === p) break;
          const s = code.indexOf(m[1], p);
          this.push({ line, start: s, end: s + m[1].length, kind: 'param', text: m[1], extra: n.text, stmt: index });
          def.params?.push(m[0].replace(/,\s*$/, '').trim());
          this.define({ name: m[1], kind: 'param', line, start: s, end: s + m[1].length, owner: n.text, value: m[2]?.replace(/^\s*=\s*/, ''), soft: true });
          p = MACRO_PARAM_RE.lastIndex;
          if (p > to) break;
        }
        this.macroStack.push({ def, line });
        return;
      }
      case '.endm':
      case '.endmacro': {
        const open = this.macroStack.pop();
        if (open === undefined) {
          this.problem(line, stmt.start, to, `${name} without a .macro`);
          return;
        }
        open.def.body = { start: open.line + 1, end: line - 1 };
        if (line > open.line) this.folds.push({ start: open.line, end: line });
        return;
      }
      case '.rept':
      case '.irp':
      case '.irpc': {
        let param: string | undefined;
        if (name !== '.rept') {
          const n = firstName();
          if (n !== undefined) {
            param = n.text;
            this.push({ line, start: n.start, end: n.end, kind: 'param', text: n.text, extra: `.irp@${line}`, stmt: index });
            this.define({ name: n.text, kind: 'param', line, start: n.start, end: n.end, owner: `.irp@${line}`, soft: true });
            this.expression(code, n.end, to, line, index, stmt, true);
          }
        } else this.expression(code, from, to, line, index, stmt, true);
        this.repeatStack.push({ line, param });
        return;
      }
      case '.endr': {
        const open = this.repeatStack.pop();
        if (open === undefined) this.problem(line, stmt.start, to, '.endr without .rept/.irp/.irpc');
        else if (line > open.line) this.folds.push({ start: open.line, end: line });
        return;
      }
      case '.equ':
      case '.set':
      case '.equiv':
      case '.eqv': {
        const n = firstName();
        if (n === undefined) return;
        this.push({ line, start: n.start, end: n.end, kind: 'const-def', text: n.text, stmt: index });
        const comma = code.indexOf(',', n.end);
        const value = comma >= 0 && comma < to ? code.slice(comma + 1, to).trim() : '';
        const generated = n.text.includes('\\');
        if (generated && n.text.indexOf('\\') > 0) this.generatedPrefixes.add(n.text.slice(0, n.text.indexOf('\\')));
        this.define({ name: n.text, kind: name === '.set' ? 'set' : 'equ', line, start: n.start, end: n.end, value, soft: this.scope() !== 'top' || generated, stmt: index });
        if (comma >= 0 && comma < to) this.expression(code, comma + 1, to, line, index, stmt, this.scope() !== 'top');
        return;
      }
      case '.comm':
      case '.lcomm': {
        const n = firstName();
        if (n === undefined) return;
        this.push({ line, start: n.start, end: n.end, kind: 'comm-def', text: n.text, stmt: index });
        this.define({ name: n.text, kind: 'comm', line, start: n.start, end: n.end, section: name === '.lcomm' ? '.bss' : 'COMMON', soft: this.scope() !== 'top', stmt: index });
        this.expression(code, n.end, to, line, index, stmt, true);
        return;
      }
      case '.section':
      case '.pushsection': {
        const m = /\s*("[^"]*"|[^\s,]+)/y;
        m.lastIndex = from;
        const r = m.exec(code);
        if (!r) return;
        const start = m.lastIndex - r[1].length;
        const sec = r[1].replace(/"/g, '');
        this.push({ line, start, end: m.lastIndex, kind: 'section', text: sec, stmt: index });
        if (name === '.pushsection') this.sectionStack.push(this.section);
        this.switchSection(sec, line, start, m.lastIndex);
        return;
      }
      case '.text':
      case '.data':
      case '.bss':
        this.switchSection(name, line, stmt.head?.start ?? stmt.start, stmt.head?.end ?? to);
        return;
      case '.popsection': {
        const back = this.sectionStack.pop();
        if (back !== undefined) this.switchSection(back, line, stmt.start, to);
        return;
      }
      case '.previous':
        this.switchSection(this.previousSection, line, stmt.start, to);
        return;
      case '.include':
      case '.incbin': {
        const m = /\s*"([^"]*)"?/y;
        m.lastIndex = from;
        const r = m.exec(code);
        if (!r) return;
        const start = code.indexOf('"', from);
        this.push({ line, start, end: m.lastIndex, kind: 'include-path', text: r[1], stmt: index });
        const via = name === '.include' ? 'gas' : 'incbin';
        const inc: IncludeDirective = { line, start, end: m.lastIndex, spec: r[1], via, angle: false };
        inc.resolved = this.opts.resolveInclude?.(r[1], false, via);
        this.includes.push(inc);
        return;
      }
      case '.else':
      case '.elseif': {
        const top = this.gasStack[this.gasStack.length - 1];
        if (top === undefined) {
          this.problem(line, stmt.start, to, `${name} without .if`);
          return;
        }
        if (line - 1 > top.branchLine) this.folds.push({ start: top.branchLine, end: line - 1 });
        top.branch++;
        top.branchLine = line;
        this.rebuildCondPath();
        if (name === '.elseif') this.expression(code, from, to, line, index, stmt, true);
        return;
      }
      case '.endif': {
        const top = this.gasStack.pop();
        if (top === undefined) {
          this.problem(line, stmt.start, to, '.endif without .if');
          return;
        }
        if (line > top.branchLine) this.folds.push({ start: top.branchLine, end: line });
        this.rebuildCondPath();
        return;
      }
      case '.purgem':
        this.expression(code, from, to, line, index, stmt, true);
        return;
      case '.size': {
        const n = firstName();
        if (n === undefined) return;
        this.ref({ line, start: n.start, end: n.end, kind: 'symbol', text: n.text, noCheck: true, stmt: index });
        this.expression(code, n.end, to, line, index, stmt, this.scope() !== 'top');
        return;
      }
    }
    if (GAS_IF.test(name)) {
      const frame: GasFrame = { id: ++this.condId, branch: 0, line, branchLine: line };
      // Expressions first: they belong to the line outside the new block.
      if (name === '.ifc' || name === '.ifnc' || name === '.ifb' || name === '.ifnb' || name === '.ifeqs' || name === '.ifnes') this.strings(code, from, to, line, index);
      else this.expression(code, from, to, line, index, stmt, true);
      this.gasStack.push(frame);
      this.rebuildCondPath();
      return;
    }
    if (DECLARING.has(name)) {
      // `.globl a, b` / `.type a, @function`: uses that may precede (or lack) a definition.
      const list = name === '.type' ? [args.split(',')[0]] : args.split(',');
      let at = argStart;
      for (const item of list) {
        const s = code.indexOf(item.trim(), at);
        const nm = item.trim();
        if (nm !== '' && /^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(nm) && s >= 0) {
          this.ref({ line, start: s, end: s + nm.length, kind: 'symbol', text: nm, noCheck: true, stmt: index });
          if (name === '.globl' || name === '.global') this.globals.add(nm);
          if (name === '.weak') this.weaks.add(nm);
          if (name === '.extern') this.externs.add(nm);
          at = s + nm.length;
        }
      }
      return;
    }
    if (STRING_ONLY.has(name)) {
      this.strings(code, from, to, line, index);
      return;
    }
    if (IGNORED_OPERANDS.has(name) || name.startsWith('.cfi_')) return;
    this.expression(code, from, to, line, index, stmt, !KNOWN_EXPR.has(name) || this.scope() !== 'top');
  }

  private strings(code: string, from: number, to: number, line: number, index: number): void {
    const re = /"(?:[^"\\]|\\.)*"?/g;
    re.lastIndex = from;
    const text = code.slice(0, to);
    for (let m = re.exec(text); m; m = re.exec(text)) {
      this.push({ line, start: m.index, end: m.index + m[0].length, kind: 'string', text: m[0], stmt: index });
    }
  }

  private switchSection(name: string, line: number, start: number, end: number): void {
    this.previousSection = this.section;
    this.section = name;
    this.sections.push({ name, line, start, end });
  }

  // ---- C sources ---------------------------------------------------------------------------

  /**
   * Functions and variables a C file defines at file scope (`int bootmain(void) {`, `pde_t
   * entrypgdir[NPDENTRIES] = {...};`): labels of the object, global unless `static`, so a call
   * from assembly finds them. Comments, strings, preprocessor lines and removed branches are skipped.
   */
  private cDefinitions(): void {
    const KEYWORDS = new Set(['if', 'while', 'for', 'switch', 'return', 'sizeof', 'do', 'else', 'case', 'typedef', 'struct', 'union', 'enum', 'extern', '__attribute__', 'asm', '__asm__']);
    const inactive = new Uint8Array(this.lines.length);
    for (const [a, b] of this.inactive) for (let l = a; l <= b && l < inactive.length; l++) inactive[l] = 1;
    let depth = 0;
    let head = '';
    let headLine = -1;
    let inBlock = false;
    let cont = false;
    const heads: Array<{ text: string; line: number; end: '{' | ';' }> = [];
    for (let line = 0; line < this.lines.length; line++) {
      const raw = this.lines[line];
      if (raw.length > 20000) continue;
      const wasCont = cont;
      cont = /\\\s*$/.test(raw);
      if (!inBlock && (wasCont || /^\s*#/.test(raw))) {
        if (!wasCont && !/^\s*#/.test(raw)) cont = false;
        continue;
      }
      if (inactive[line]) continue;
      // Blank comments and literals, keep columns.
      let code = '';
      for (let i = 0; i < raw.length; i++) {
        const c = raw[i];
        if (inBlock) {
          if (c === '*' && raw[i + 1] === '/') {
            inBlock = false;
            code += '  ';
            i++;
          } else code += ' ';
          continue;
        }
        if (c === '/' && raw[i + 1] === '*') {
          inBlock = true;
          code += '  ';
          i++;
          continue;
        }
        if (c === '/' && raw[i + 1] === '/') break;
        if (c === '"' || c === "'") {
          let k = i + 1;
          while (k < raw.length && raw[k] !== c) k += raw[k] === '\\' ? 2 : 1;
          code += c + ' '.repeat(Math.max(0, Math.min(k, raw.length) - i - 1)) + c;
          i = k;
          continue;
        }
        code += c;
      }
      cont = false;
      for (let i = 0; i < code.length; i++) {
        const c = code[i];
        if (c === '{') {
          if (depth === 0) heads.push({ text: head, line: headLine, end: '{' });
          depth++;
          head = '';
        } else if (c === '}') {
          depth = Math.max(0, depth - 1);
          if (depth === 0) head = '';
        } else if (c === ';' && depth === 0) {
          heads.push({ text: head, line: headLine, end: ';' });
          head = '';
        } else if (depth === 0) {
          if (head.trim() === '' && !/\s/.test(c)) headLine = line;
          head += c;
        }
      }
      if (depth === 0) head += '\n';
    }
    for (const h of heads) {
      const text = h.text.replace(/\s+/g, ' ').trim();
      if (text === '' || /^(?:typedef|extern)\b/.test(text)) continue;
      const isStatic = /\bstatic\b/.test(text);
      let name: string | undefined;
      let isCode = false;
      if (h.end === '{') {
        // A function: `type name(params)` (attributes after it allowed); not `struct x {`.
        const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]|\([^()]*\))*\)\s*(?:__attribute__\s*\(\(.*\)\)\s*)*$/.exec(text);
        if (m && !KEYWORDS.has(m[1]) && /[A-Za-z_*]\s*\**\s*[A-Za-z_][A-Za-z0-9_]*\s*\(/.test(text.slice(0, m.index + m[0].length))) {
          name = m[1];
          isCode = true;
        } else if (!/^(?:struct|union|enum)\b[^=]*$/.test(text)) {
          // `type name[...] = {`: an initialised variable.
          const v = /([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\]\s*)*=\s*$/.exec(text);
          if (v && !KEYWORDS.has(v[1])) name = v[1];
        }
      } else if (!/\(/.test(text.replace(/__attribute__\s*\(\(.*?\)\)/g, '')) && /\s/.test(text) && !/^(?:struct|union|enum)\s+[A-Za-z_]\w*$/.test(text)) {
        // `type name;`, `type name[N] = ...;` (the first declarator).
        const v = /^[^=\[]*?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\]\s*)*(?:=.*)?$/.exec(text.split(',')[0]);
        if (v && !KEYWORDS.has(v[1])) name = v[1];
      }
      if (name === undefined || h.line < 0) continue;
      // The name's own position: its first occurrence from the head's first line on.
      let line = h.line;
      let start = -1;
      for (let l = h.line; l < this.lines.length && l < h.line + 30; l++) {
        const re = new RegExp(`\\b${name}\\b`);
        const mm = re.exec(this.lines[l]);
        if (mm) {
          line = l;
          start = mm.index;
          break;
        }
      }
      if (start < 0) continue;
      this.push({ line, start, end: start + name.length, kind: 'label', text: name });
      this.define({ name, kind: 'label', line, start, end: start + name.length, section: isCode ? '.text' : '.data', isCode });
      if (!isStatic) this.globals.add(name);
    }
  }

  // ---- end of file ------------------------------------------------------------------------

  private finish(): void {
    const lastLine = this.lines.length - 1;
    for (const m of this.macroStack) {
      this.problem(m.line, 0, this.lines[m.line].length, `.macro ${m.def.name} has no .endm`);
      m.def.body = { start: m.line + 1, end: lastLine };
    }
    for (const r of this.repeatStack) this.problem(r.line, 0, this.lines[r.line].length, 'this block has no .endr');
    for (const g of this.gasStack) this.problem(g.line, 0, this.lines[g.line].length, 'this .if has no .endif');
    for (const f of this.cppStack) this.problem(f.line, 0, this.lines[f.line].length, 'unterminated #if (no #endif)');
    if (this.inactiveFrom >= 0) this.closeInactive(lastLine);
    for (const toks of this.tokens) {
      for (let i = 1; i < toks.length; i++) {
        if (toks[i - 1].start > toks[i].start) {
          toks.sort((a, b) => a.start - b.start);
          break;
        }
      }
    }

    // Labels followed by instructions are code (document symbols, hover).
    const stmts = this.statements;
    for (const d of this.defs) {
      if (d.kind !== 'label' || d.stmt === undefined) continue;
      for (let s = d.stmt; s < stmts.length && s < d.stmt + 40; s++) {
        const st = stmts[s];
        if (st.kind === 'instruction') {
          d.isCode = true;
          break;
        }
        if (st.kind === 'directive' && st.head && !/^\.(?:globl|global|type|size|align|balign|p2align|cfi_|loc)/.test(st.head.text.toLowerCase())) break;
        if (st.kind === 'assignment') break;
      }
    }
    // Label blocks fold from a label to the line before the next one (or a section change).
    const majors = this.defs
      .filter((d) => d.kind === 'label' && !d.soft && !d.name.startsWith('.L'))
      .map((d) => d.line);
    const breaks = new Set<number>(majors);
    for (const s of this.sections) breaks.add(s.line);
    const sortedBreaks = [...breaks].sort((a, b) => a - b);
    const nextBreak = new Map<number, number>();
    for (let i = 0; i < sortedBreaks.length; i++) nextBreak.set(sortedBreaks[i], i + 1 < sortedBreaks.length ? sortedBreaks[i + 1] : -1);
    for (const start of majors) {
      const nb = nextBreak.get(start) ?? -1;
      let end = nb >= 0 ? nb - 1 : lastLine;
      while (end > start && this.codeLines[end] === 0) end--;
      if (end > start) this.folds.push({ start, end });
    }
  }
}
