// The C preprocessor layer of `.S` files and headers: #include (with the included file's
// directives replayed in this file's context), #define/#undef, and #if/#ifdef regions; a
// condition that depends on an unknown build mode keeps both branches.
import { isRegisterName } from '../instruction-data/registers';
import { evaluate } from './expression';
import { ParserState, type CppFrame } from './parser-state';
import { scanLine } from './scanner';
import type { CppEvent, DefineInfo, IncludeDirective, Token, TokenKind } from './types';

const CPP_DIRECTIVES = new Set([
  'include', 'include_next', 'import', 'define', 'undef', 'if', 'ifdef', 'ifndef', 'elif', 'elifdef', 'elifndef',
  'else', 'endif', 'error', 'warning', 'line', 'pragma', 'ident', 'sccs', 'assert', 'unassert',
]);

export function parseDefine(rest: string, file: string, line: number): DefineInfo | undefined {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?/.exec(rest);
  if (!m) return undefined;
  const params = m[2] !== undefined ? m[3].split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
  return { name: m[1], params, body: rest.slice(m[0].length).replace(/\s+/g, ' ').trim(), file, line };
}

/** Operands split at top-level commas, with their columns. */
export abstract class PreprocessingParser extends ParserState {
  protected cppOn(): boolean {
    const top = this.cppStack[this.cppStack.length - 1];
    return top === undefined || (top.parentOn && top.state !== 'off');
  }

  protected isCppDirective(raw: string): boolean {
    const m = /^\s*#\s*([A-Za-z_]+|[0-9]|$)/.exec(raw);
    if (!m) return false;
    return m[1] === '' || /^[0-9]$/.test(m[1]) || CPP_DIRECTIVES.has(m[1]);
  }

  /** Handles the directive starting at `first` (with `\` continuations); returns its last line. */
  protected cppDirective(first: number): number {
    let last = first;
    while (last + 1 < this.lines.length && /\\\s*$/.test(this.lines[last])) last++;
    const parts: string[] = [];
    const scanned = [];
    let inBlock = false;
    for (let l = first; l <= last; l++) {
      const s = scanLine(this.lines[l], inBlock, { cpp: true, directive: true });
      inBlock = s.inBlock;
      scanned.push(s);
      for (const [a, b] of s.comments) this.push({ line: l, start: a, end: b, kind: 'comment', text: '' });
      if (s.commentText !== '') this.comments[l] = s.commentText;
      parts.push(s.code.replace(/\\\s*$/, ''));
      this.codeLines[l] = 1;
    }
    const code0 = scanned[0].code;
    const m = /^(\s*)#(\s*)([A-Za-z_]*)/.exec(code0) as RegExpExecArray;
    const word = m[3];
    const wordStart = m[1].length;
    const wordEnd = m[0].length;
    const restStart = wordEnd;
    const joinedRest = [code0.slice(restStart).replace(/\\\s*$/, ''), ...parts.slice(1)].join(' ');
    const on = this.cppOn();
    const event: CppEvent = { w: word, text: joinedRest };
    this.cppEvents.push(event);
    if (word === 'define') event.def = parseDefine(joinedRest, this.opts.path, first);
    else if (word === 'undef') event.text = joinedRest.trim();
    else if ((word === 'include' || word === 'include_next') && !on) {
      const spec = /^\s*(?:"([^"]*)"|<([^>]*)>)/.exec(joinedRest);
      if (spec) event.inc = this.opts.resolveInclude?.(spec[1] ?? spec[2], spec[2] !== undefined, 'cpp');
    }
    const tok = (kind: TokenKind, start: number, end: number, text: string, extra?: Partial<Token>): Token =>
      this.push({ line: first, start, end, kind, text, ...extra });
    const directiveToken = (): void => {
      tok('preproc', wordStart, wordEnd, '#' + word);
    };

    switch (word) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        directiveToken();
        const frame: CppFrame = { id: ++this.condId, branch: 0, state: 'off', taken: 'no', parentOn: on, line: first, branchLine: first };
        if (on) {
          const v = this.cppCondition(word, joinedRest);
          frame.state = v === true ? 'on' : v === false ? 'off' : 'maybe';
          frame.taken = v === true ? 'yes' : v === false ? 'no' : 'maybe';
        }
        this.cppNames(first, restStart, code0.length, code0, word);
        this.cppStack.push(frame);
        this.rebuildCondPath();
        this.trackInactive(last);
        return last;
      }
      case 'elif':
      case 'elifdef':
      case 'elifndef':
      case 'else': {
        directiveToken();
        const top = this.cppStack[this.cppStack.length - 1];
        if (top === undefined) {
          this.problem(first, wordStart, wordEnd, `#${word} without #if`);
          return last;
        }
        this.closeInactive(first - 1);
        if (first - 1 > top.branchLine) this.folds.push({ start: top.branchLine, end: first - 1 });
        top.branch++;
        top.branchLine = first;
        if (top.parentOn) {
          if (top.taken === 'yes') top.state = 'off';
          else if (word === 'else') {
            top.state = top.taken === 'no' ? 'on' : 'maybe';
            if (top.taken === 'no') top.taken = 'yes';
          } else {
            const v = this.cppCondition(word === 'elif' ? 'if' : word === 'elifdef' ? 'ifdef' : 'ifndef', joinedRest);
            if (v === true && top.taken === 'no') {
              top.state = 'on';
              top.taken = 'yes';
            } else if (v === false) top.state = 'off';
            else {
              top.state = 'maybe';
              top.taken = 'maybe';
            }
          }
        }
        if (word !== 'else') this.cppNames(first, restStart, code0.length, code0, word);
        this.rebuildCondPath();
        this.trackInactive(last);
        return last;
      }
      case 'endif': {
        directiveToken();
        const top = this.cppStack.pop();
        if (top === undefined) {
          this.problem(first, wordStart, wordEnd, '#endif without #if');
          return last;
        }
        this.closeInactive(first - 1);
        if (first > top.branchLine) this.folds.push({ start: top.branchLine, end: first });
        this.rebuildCondPath();
        this.trackInactive(last);
        return last;
      }
    }
    if (!on) return last;
    directiveToken();
    switch (word) {
      case 'include':
      case 'include_next':
      case 'import': {
        const r = /\s*(?:"([^"]*)"?|<([^>]*)>?)/y;
        r.lastIndex = restStart;
        const mm = r.exec(code0);
        if (!mm) return last;
        const spec = mm[1] ?? mm[2] ?? '';
        const start = r.lastIndex - (mm[0].trimStart().length);
        this.push({ line: first, start, end: r.lastIndex, kind: 'include-path', text: spec });
        const inc: IncludeDirective = { line: first, start, end: r.lastIndex, spec, via: 'cpp', angle: mm[2] !== undefined };
        inc.resolved = this.opts.resolveInclude?.(spec, inc.angle, 'cpp');
        this.includes.push(inc);
        event.inc = inc.resolved;
        if (inc.resolved !== undefined) this.replay(inc.resolved, new Set([this.opts.path]));
        return last;
      }
      case 'define': {
        const r = /\s*([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?/y;
        r.lastIndex = restStart;
        const mm = r.exec(code0);
        if (!mm) {
          this.problem(first, wordStart, code0.length, '#define needs a name');
          return last;
        }
        const name = mm[1];
        const nameStart = r.lastIndex - mm[0].trimStart().length;
        const nameEnd = nameStart + name.length;
        this.push({ line: first, start: nameStart, end: nameEnd, kind: 'define-def', text: name });
        const params = mm[2] !== undefined ? mm[3].split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
        if (params) {
          let at = nameEnd;
          for (const prm of params) {
            const s = code0.indexOf(prm, at);
            if (s >= 0) {
              this.push({ line: first, start: s, end: s + prm.length, kind: 'param', text: prm, extra: '#' + name });
              at = s + prm.length;
            }
          }
        }
        const bodyStart = r.lastIndex;
        const body = [code0.slice(bodyStart).replace(/\\\s*$/, ''), ...parts.slice(1)].join(' ').replace(/\s+/g, ' ').trim();
        this.defines.set(name, { name, params, body, file: this.opts.path, line: first });
        this.define({ name, kind: 'define', line: first, start: nameStart, end: nameEnd, value: body, params });
        // Names in the body: uses of other defines or symbols, checked where the macro expands.
        this.cppNames(first, bodyStart, code0.length, code0, 'define', params);
        for (let l = first + 1; l <= last; l++) this.cppNames(l, 0, scanned[l - first].code.length, scanned[l - first].code, 'define', params);
        return last;
      }
      case 'undef': {
        const r = /\s*([A-Za-z_][A-Za-z0-9_]*)/y;
        r.lastIndex = restStart;
        const mm = r.exec(code0);
        if (mm) {
          const s = r.lastIndex - mm[1].length;
          this.ref({ line: first, start: s, end: r.lastIndex, kind: 'symbol', text: mm[1], noCheck: true });
          this.defines.delete(mm[1]);
        }
        return last;
      }
    }
    return last;
  }

  /**
   * Runs an included file's directives in this file's context: its `#if`s see our #defines and
   * build mode, and the #defines it makes become ours.
   */
  protected replay(file: string, active: Set<string>): void {
    if (active.has(file) || active.size > 40) return;
    const events = this.opts.cppEventsOf?.(file);
    if (events === undefined) return;
    active.add(file);
    const stack: Array<{ on: boolean; taken: 'yes' | 'no' | 'maybe'; parentOn: boolean }> = [];
    const on = (): boolean => stack.length === 0 || stack[stack.length - 1].on;
    for (const e of events) {
      switch (e.w) {
        case 'if':
        case 'ifdef':
        case 'ifndef': {
          const parentOn = on();
          const v = parentOn ? this.cppCondition(e.w, e.text) : false;
          stack.push({ on: parentOn && v !== false, taken: v === true ? 'yes' : v === false ? 'no' : 'maybe', parentOn });
          break;
        }
        case 'elif':
        case 'elifdef':
        case 'elifndef':
        case 'else': {
          const top = stack[stack.length - 1];
          if (top === undefined || !top.parentOn) break;
          if (top.taken === 'yes') top.on = false;
          else if (e.w === 'else') {
            top.on = true;
            if (top.taken === 'no') top.taken = 'yes';
          } else {
            const v = this.cppCondition(e.w === 'elif' ? 'if' : e.w === 'elifdef' ? 'ifdef' : 'ifndef', e.text);
            top.on = v !== false;
            if (v === true && top.taken === 'no') top.taken = 'yes';
            else if (v === undefined) top.taken = 'maybe';
          }
          break;
        }
        case 'endif':
          stack.pop();
          break;
        case 'define':
          if (on() && e.def) this.defines.set(e.def.name, e.def);
          break;
        case 'undef':
          if (on()) this.defines.delete(e.text);
          break;
        case 'include':
        case 'include_next':
          if (on() && e.inc !== undefined) this.replay(e.inc, active);
          break;
      }
    }
    active.delete(file);
  }

  /** Names in `#if`/`#ifdef`/`#define` text, as uses (for references and rename of #defines). */
  protected cppNames(line: number, from: number, to: number, code: string, word: string, params?: string[]): void {
    const re = /[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[0-9][0-9A-Za-z_.]*/g;
    re.lastIndex = from;
    const text = code.slice(0, to);
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const t = m[0];
      if (t[0] === '"') {
        this.push({ line, start: m.index, end: m.index + t.length, kind: 'string', text: t });
        continue;
      }
      if (/^[0-9']/.test(t)) {
        this.push({ line, start: m.index, end: m.index + t.length, kind: 'number', text: t });
        continue;
      }
      if (t === 'defined' && word !== 'define') {
        this.push({ line, start: m.index, end: m.index + t.length, kind: 'keyword', text: t });
        continue;
      }
      if (params?.includes(t)) {
        this.push({ line, start: m.index, end: m.index + t.length, kind: 'param', text: t });
        continue;
      }
      if (word === 'define' && isRegisterName(t)) {
        this.push({ line, start: m.index, end: m.index + t.length, kind: 'register', text: t.toLowerCase() });
        continue;
      }
      this.ref({ line, start: m.index, end: m.index + t.length, kind: 'symbol', text: t, noCheck: true });
    }
  }

  /** true/false when known; undefined when it depends on something we cannot know. */
  protected cppCondition(word: string, rest: string): boolean | undefined {
    const unknown = this.opts.unknownDefines;
    if (word === 'ifdef' || word === 'ifndef') {
      const name = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(rest)?.[1];
      if (name === undefined) return undefined;
      if (unknown?.has(name)) return undefined;
      const d = this.defines.has(name);
      return word === 'ifdef' ? d : !d;
    }
    const result = evaluate(rest, {
      cpp: true,
      isDefined: (n) => (unknown?.has(n) ? 'unknown' : this.defines.has(n)),
      lookup: (n, depth) => this.defineValue(n, depth),
    });
    return 'value' in result ? result.value !== 0n : undefined;
  }

  protected defineValue(name: string, depth: number): bigint | 'unknown' | undefined {
    if (this.opts.unknownDefines?.has(name)) return 'unknown';
    const d = this.defines.get(name);
    if (d === undefined) return undefined;
    if (d.params !== undefined) return 'unknown';
    const v = evaluate(d.body === '' ? '1' : d.body, { cpp: true, depth, isDefined: (n) => this.defines.has(n), lookup: (n, dd) => this.defineValue(n, dd) });
    return 'value' in v ? v.value : 'unknown';
  }

  protected trackInactive(directiveLine: number): void {
    if (!this.cppOn() && this.inactiveFrom < 0) this.inactiveFrom = directiveLine + 1;
  }

  protected closeInactive(lastLine: number): void {
    if (this.inactiveFrom >= 0) {
      if (lastLine >= this.inactiveFrom) this.inactive.push([this.inactiveFrom, lastLine]);
      this.inactiveFrom = -1;
    }
  }
}
