// Parsed files of the workspace and of everything they include, kept up to date one file at a
// time: an edit re-parses that file, adjusts the include graph and name tables, and re-parses
// the files that include it only when the #defines it exports changed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCpuMode, type CpuMode } from '../../debug-adapter/toolchain/modes';
import type { CompileFlags } from '../build-info/compile-commands';
import { parseFile } from '../parser/parse-file';
import type { Bits, CppEvent, Definition, DefineInfo, IncludeDirective, ParsedFile } from '../parser/types';
import { sourceKindOf } from '../../debug-adapter/toolchain/build';
import { ASSUMED_MODE } from './build-mode';
import { bitsOfMode, fileKindOf, predefinedFor } from './file-kinds';

export interface IndexHost {
  /** Folders searched for includes after the including file's own folder. */
  includePaths(): string[];
  defaultMode(): CpuMode | undefined;
  /** -D NAME=VALUE the build adds (settings), visible to `#if` like gcc's. */
  defines?(): Readonly<Record<string, string>>;
  /** The file's entry in the build's compilation database (compile_commands.json), if any. */
  compileFlags?(file: string): CompileFlags | undefined;
}

/** Where a file's build mode comes from, strongest first. */
export type ModeSource = 'compile_commands' | 'includer' | 'marker' | 'own-build' | 'setting' | 'heuristic';

interface Entry {
  parsed: ParsedFile;
  text: string;
  lineStarts?: number[];
  open: boolean;
  definesSig: string;
  /** Definitions by name (built on first use). */
  byName?: Map<string, Definition[]>;
}

const MAX_FILE_BYTES = 8 * 1024 * 1024;

export class WorkspaceIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly includers = new Map<string, Set<string>>();
  private readonly defNames = new Map<string, Set<string>>();
  private readonly refNames = new Map<string, Set<string>>();
  private readonly parsing = new Set<string>();
  private readonly missing = new Set<string>();
  private readonly scopeCache = new Map<string, string[]>();
  private readonly existsCache = new Map<string, boolean>();
  /** Bumped on every change; lets features cache per state. */
  revision = 0;

  constructor(private readonly host: IndexHost) {}

  // ---- reading ----------------------------------------------------------------------------

  has(file: string): boolean {
    return this.entries.has(file);
  }

  files(): string[] {
    return [...this.entries.keys()];
  }

  isOpen(file: string): boolean {
    return this.entries.get(file)?.open ?? false;
  }

  /** The parsed file, loading it from disk on first use; undefined if it cannot be read. */
  get(file: string): ParsedFile | undefined {
    const e = this.entries.get(file);
    if (e) return e.parsed;
    if (this.missing.has(file)) return undefined;
    const text = readText(file);
    if (text === undefined) {
      this.missing.add(file);
      return undefined;
    }
    this.update(file, text, 0, false);
    return this.entries.get(file)?.parsed;
  }

  definitionsNamed(file: string, name: string): Definition[] {
    const e = this.entries.get(file);
    if (e === undefined) return [];
    if (e.byName === undefined) {
      e.byName = new Map();
      for (const d of e.parsed.defs) {
        let list = e.byName.get(d.name);
        if (list === undefined) e.byName.set(d.name, (list = []));
        list.push(d);
      }
    }
    return e.byName.get(name) ?? [];
  }

  /** Files that define `name` anywhere in the index. */
  filesDefining(name: string): ReadonlySet<string> {
    return this.defNames.get(name) ?? EMPTY;
  }

  /** Files that use `name` anywhere in the index. */
  filesUsing(name: string): ReadonlySet<string> {
    return this.refNames.get(name) ?? EMPTY;
  }

  allDefinitionNames(): IterableIterator<string> {
    return this.defNames.keys();
  }

  includersOf(file: string): ReadonlySet<string> {
    return this.includers.get(file) ?? EMPTY;
  }

  /** Files nobody includes that (transitively) include `file`; `file` itself when nobody does. */
  roots(file: string): string[] {
    const seen = new Set<string>([file]);
    const queue = [file];
    const roots: string[] = [];
    while (queue.length > 0) {
      const f = queue.pop() as string;
      const up = this.includers.get(f);
      if (up === undefined || up.size === 0) {
        roots.push(f);
        continue;
      }
      for (const u of up) {
        if (!seen.has(u)) {
          seen.add(u);
          queue.push(u);
        }
      }
    }
    return roots.length > 0 ? roots : [file]; // a pure cycle: treat the file as its own root
  }

  /** `root` and everything it includes, depth first (cycle-safe). */
  closure(root: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (f: string): void => {
      if (seen.has(f)) return;
      seen.add(f);
      const p = this.get(f);
      if (p === undefined) return;
      out.push(f);
      for (const inc of p.includes) if (inc.resolved !== undefined && inc.via !== 'incbin') visit(inc.resolved);
    };
    visit(root);
    return out;
  }

  /**
   * The files whose names `file` can see: those assembled together with it (every root that
   * includes it, with all they include). `file` first, then what it includes.
   */
  scope(file: string): string[] {
    const cached = this.scopeCache.get(file);
    if (cached) return cached;
    const out = new Set<string>(this.closure(file));
    for (const r of this.roots(file)) for (const f of this.closure(r)) out.add(f);
    const list = [...out];
    this.scopeCache.set(file, list);
    return list;
  }

  // ---- changing ---------------------------------------------------------------------------

  /** Files whose parse changed (the file and re-parsed includers). */
  update(file: string, text: string, version: number, open: boolean): string[] {
    const changed: string[] = [];
    this.reparse(file, text, version, open, changed, new Set());
    return changed;
  }

  /** The editor closed the file: from now on its text comes from disk. */
  close(file: string): string[] {
    const e = this.entries.get(file);
    if (e === undefined) return [];
    e.open = false;
    const text = readText(file);
    if (text === undefined) return this.remove(file);
    return this.update(file, text, 0, false);
  }

  /** The file changed on disk (ignored while the editor has it open). */
  diskChanged(file: string): string[] {
    this.existsCache.clear();
    this.missing.delete(file);
    const e = this.entries.get(file);
    if (e?.open) return [];
    const text = readText(file);
    if (text === undefined) return e ? this.remove(file) : [];
    const changed = this.update(file, text, 0, false);
    if (e === undefined) {
      // A new file may be what an include was looking for.
      const name = path.basename(file);
      const waiting = [...this.entries.entries()].filter(([, x]) => x.parsed.includes.some((i) => i.resolved === undefined && path.basename(i.spec) === name));
      for (const [f] of waiting) this.reparseStored(f, changed, new Set());
    }
    return changed;
  }

  remove(file: string): string[] {
    this.existsCache.clear();
    const e = this.entries.get(file);
    if (e === undefined) return [];
    this.unindex(file, e.parsed);
    this.entries.delete(file);
    this.graphChanged();
    const affected = [...(this.includers.get(file) ?? [])];
    for (const f of affected) {
      const p = this.entries.get(f);
      if (p && !p.open) this.diskChanged(f);
    }
    return [file, ...affected];
  }

  /** Include paths changed: every resolution may differ. */
  reset(): void {
    this.existsCache.clear();
    this.missing.clear();
    for (const [file, e] of [...this.entries]) {
      const text = e.open ? this.openTextOf?.(file) : readText(file);
      if (text !== undefined) this.reparse(file, text, e.parsed.version, e.open, [], new Set());
    }
  }

  private reparse(file: string, text: string, version: number, open: boolean, changed: string[], visiting: Set<string>): void {
    if (visiting.has(file)) return;
    visiting.add(file);
    this.parsing.add(file);
    this.missing.delete(file);
    let parsed: ParsedFile;
    try {
      parsed = this.parseText(file, text, version);
    } finally {
      this.parsing.delete(file);
    }
    const old = this.entries.get(file);
    if (old) this.unindex(file, old.parsed);
    const definesSig = signature(parsed.cppEvents);
    const entry: Entry = { parsed, open, definesSig, text };
    this.entries.set(file, entry);
    this.indexNames(file, parsed);
    const oldTargets = old ? targets(old.parsed.includes) : new Set<string>();
    const newTargets = targets(parsed.includes);
    if (!sameSet(oldTargets, newTargets) || old === undefined) this.graphChanged();
    for (const t of oldTargets) if (!newTargets.has(t)) this.includers.get(t)?.delete(file);
    for (const t of newTargets) {
      let set = this.includers.get(t);
      if (set === undefined) this.includers.set(t, (set = new Set()));
      set.add(file);
    }
    this.revision++;
    changed.push(file);
    // Pull in what it includes (gas .include is not needed for parsing, but for scope).
    for (const t of newTargets) if (!this.entries.has(t) && !this.parsing.has(t)) this.get(t);
    // Files that #include it (directly or through other headers) replay its directives:
    // re-parse them when those changed.
    if (old !== undefined && old.definesSig !== definesSig) {
      for (const up of this.cppIncluders(file)) this.reparseStored(up, changed, visiting);
    }
  }

  private reparseStored(file: string, changed: string[], visiting: Set<string>): void {
    const e = this.entries.get(file);
    if (e === undefined || this.parsing.has(file)) return;
    const text = e.open ? this.openTextOf?.(file) ?? e.text : readText(file);
    if (text !== undefined) this.reparse(file, text, e.parsed.version, e.open, changed, visiting);
  }

  /** Every file that reaches `file` through #include, nearest first. */
  private cppIncluders(file: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>([file]);
    const queue = [file];
    while (queue.length > 0) {
      const f = queue.shift() as string;
      for (const up of this.includers.get(f) ?? []) {
        if (seen.has(up)) continue;
        if (!this.entries.get(up)?.parsed.includes.some((i) => i.via === 'cpp' && i.resolved === f)) continue;
        seen.add(up);
        out.push(up);
        queue.push(up);
      }
    }
    return out;
  }

  /** Set by the server: current text of an open document (to re-parse includers that are open). */
  openTextOf?: (file: string) => string | undefined;

  /** The compilation-database entry of `file`, or of a file that includes it (a header takes its includer's flags). */
  flagsOf(file: string): CompileFlags | undefined {
    const own = this.host.compileFlags?.(file);
    if (own) return own;
    if (!this.includers.has(file)) return undefined;
    for (const r of this.roots(file)) {
      if (r === file) continue;
      const f = this.host.compileFlags?.(r);
      if (f) return f;
    }
    return undefined;
  }

  private parseText(file: string, text: string, version: number): ParsedFile {
    const kind = fileKindOf(file, text);
    const ext = path.extname(file);
    const isRoot = ext === '.S' || ext === '.s' || ext === '.c' || ext === '.sx';
    // The build mode, strongest first: the build's own flags (compile_commands.json, also through
    // an includer), our `kvm-guest: mode=` marker, our toolchain's rule for our guests (the first
    // .code directive of a source that includes kvm-guest.h), the setting, then a guess from the
    // text that never takes the first .code directive for the object's bitness; an assembly
    // source still undecided is assembled 32-bit (ASSUMED_MODE), and parsed so.
    const flags = this.flagsOf(file);
    const viaIncluder = flags !== undefined && this.host.compileFlags?.(file) === undefined;
    const marker = flags?.mode === undefined && (kind === 'c' || text.includes('kvm-guest:')) ? markerMode(text) : undefined;
    // Our guests (they use kvm-guest.h or the KVM_GUEST_* names our build defines) are built by
    // our toolchain, whose mode rule is the marker or the first .code directive.
    const ownBuild = flags?.mode === undefined && marker === undefined && kind !== 'c' && OUR_BUILD.test(text);
    const setting = isRoot || kind !== 'c' ? this.host.defaultMode() : undefined;
    // What the live diagnostics assemble on its own (gcc -c for .S, as for .s): never undecided.
    const assembled = kind !== 'c' && sourceKindOf(file) !== undefined;
    const extra = this.extraPredefined(flags);
    const parseWith = (mode: CpuMode | undefined, exact: boolean): ParsedFile => {
      const { predefined, unknown } = predefinedFor(kind, mode, exact);
      for (const [k, v] of Object.entries(this.host.defines?.() ?? {})) predefined.set(k, { name: k, body: v === '' ? '1' : v, file: '', line: 0 });
      for (const [k, v] of extra.defines) predefined.set(k, v);
      for (const k of extra.undefs) predefined.delete(k);
      return parseFile(text, {
        path: file,
        version,
        kind,
        initialBits: mode !== undefined && (flags?.mode !== undefined || marker !== undefined) ? bitsOfMode(mode) : undefined,
        predefined,
        unknownDefines: unknown,
        resolveInclude: (spec, angle, via) => this.resolve(file, spec, angle, via),
        cppEventsOf: (p) => this.cppEventsOf(p),
      });
    };
    let parsed: ParsedFile;
    if (flags?.mode !== undefined) {
      parsed = parseWith(flags.mode, flags.mode !== 'protected');
      parsed.detectedMode = flags.mode;
      parsed.modeSource = viaIncluder ? 'includer' : 'compile_commands';
    } else if (marker !== undefined || kind === 'c') {
      parsed = parseWith(marker, marker !== undefined);
      parsed.detectedMode = marker;
      if (marker !== undefined) parsed.modeSource = 'marker';
    } else if (ownBuild) {
      parsed = this.parseOwn(text, isRoot ? setting : undefined, assembled, parseWith);
    } else {
      if (setting !== undefined) {
        parsed = parseWith(setting, true);
        parsed.detectedMode = setting;
        parsed.modeSource = 'setting';
      } else parsed = this.parseForeign(text, assembled, parseWith);
      if (parsed.includes.some((i) => i.resolved !== undefined && i.via !== 'incbin' && this.mentionsOurBuild(i.resolved, new Set([file])))) {
        parsed = this.parseOwn(text, isRoot ? setting : undefined, assembled, parseWith);
      }
    }
    parsed.compileFlags = flags;
    return parsed;
  }

  /** Whether an included file (or what it includes) uses our build's names. */
  private mentionsOurBuild(file: string, seen: Set<string>): boolean {
    if (seen.has(file) || seen.size > 40) return false;
    seen.add(file);
    const text = this.entries.get(file)?.text ?? readText(file);
    if (text === undefined) return false;
    if (OUR_BUILD.test(text)) return true;
    const p = this.entries.get(file)?.parsed;
    return p !== undefined && p.includes.some((i) => i.resolved !== undefined && i.via !== 'incbin' && this.mentionsOurBuild(i.resolved, seen));
  }

  /**
   * Our toolchain's rule (modes.ts): the first .code directive outside comments, else the setting,
   * else (`assumed`: a source the diagnostics assemble) ASSUMED_MODE.
   */
  private parseOwn(text: string, setting: CpuMode | undefined, assumed: boolean, parseWith: (mode: CpuMode | undefined, exact: boolean) => ParsedFile): ParsedFile {
    const fallback = setting ?? (assumed ? ASSUMED_MODE : undefined);
    const guess = quickDirectiveMode(text);
    const chosen = guess ?? fallback;
    let parsed = parseWith(chosen, (guess === undefined && chosen !== undefined) || chosen === 'real' || chosen === 'long');
    const actual = modeOfBits(parsed.firstBits);
    if (actual !== guess) {
      const again = actual ?? fallback;
      parsed = parseWith(again, actual === undefined ? again !== undefined : actual !== 'protected');
    }
    parsed.detectedMode = actual ?? fallback;
    parsed.modeSource = actual !== undefined ? 'own-build' : setting !== undefined ? 'setting' : fallback !== undefined ? 'default' : undefined;
    return parsed;
  }

  /** A source nothing describes: the text's bitness (heuristicMode), else (`assumed`) ASSUMED_MODE. */
  private parseForeign(text: string, assumed: boolean, parseWith: (mode: CpuMode | undefined, exact: boolean) => ParsedFile): ParsedFile {
    const fallback = assumed ? ASSUMED_MODE : undefined;
    // The assumed mode is exactly what the diagnostics define (KVM_GUEST_MODE_PROTECTED).
    const exact = (mode: CpuMode | undefined, guessed: boolean): boolean => mode === 'real' || mode === 'long' || (!guessed && mode !== undefined);
    const guess = heuristicMode(text, undefined);
    let parsed = parseWith(guess ?? fallback, exact(guess ?? fallback, guess !== undefined));
    const actual = heuristicMode(text, parsed.codeBits);
    if (actual !== guess) parsed = parseWith(actual ?? fallback, exact(actual ?? fallback, actual !== undefined));
    parsed.detectedMode = actual ?? fallback;
    parsed.modeSource = actual !== undefined ? 'heuristic' : fallback !== undefined ? 'default' : undefined;
    return parsed;
  }

  /** -D/-U of the compilation database, and the #defines of its -include files. */
  private extraPredefined(flags: CompileFlags | undefined): { defines: Array<[string, DefineInfo]>; undefs: string[] } {
    const defines: Array<[string, DefineInfo]> = [];
    if (flags === undefined) return { defines, undefs: [] };
    for (const f of flags.includeFiles) {
      if (this.parsing.has(f)) continue;
      for (const [k, d] of this.get(f)?.defines ?? []) if (d.file !== '') defines.push([k, d]);
    }
    for (const [k, v] of flags.defines) defines.push([k, { name: k, body: v === '' ? '1' : v, file: '', line: 0 }]);
    return { defines, undefs: flags.undefs };
  }

  /** Text of one line as indexed ('' past the end). */
  lineText(file: string, line: number): string {
    const e = this.entries.get(file) ?? (this.get(file) !== undefined ? this.entries.get(file) : undefined);
    if (e === undefined) return '';
    if (e.lineStarts === undefined) {
      const starts = [0];
      const t = e.text;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13) {
          if (t.charCodeAt(i + 1) === 10) i++;
          starts.push(i + 1);
        }
      }
      e.lineStarts = starts;
    }
    const s = e.lineStarts[line];
    if (s === undefined) return '';
    const end = line + 1 < e.lineStarts.length ? e.lineStarts[line + 1] : e.text.length;
    return e.text.slice(s, end).replace(/\r?\n$|\r$/, '');
  }

  textOf(file: string): string | undefined {
    return this.entries.get(file)?.text;
  }

  private cppEventsOf(file: string): readonly CppEvent[] | undefined {
    if (this.parsing.has(file)) return undefined; // an include cycle
    return this.get(file)?.cppEvents;
  }

  /** Where an include resolves, searched like gcc/as do for our builds. */
  resolve(from: string, spec: string, angle: boolean, _via?: IncludeDirective['via']): string | undefined {
    if (spec === '') return undefined;
    if (path.isAbsolute(spec)) return this.exists(spec) ? path.normalize(spec) : undefined;
    // gcc: "file" next to the includer, then -I; <file> only -I. as: the working directory (the
    // root's folder, which is the includer's for our sources), then -I.
    const dirs = [...(angle ? [] : [path.dirname(from)]), ...(this.flagsOf(from)?.includeDirs ?? []), ...this.host.includePaths()];
    for (const dir of dirs) {
      const candidate = path.resolve(dir, spec);
      if (this.exists(candidate)) return candidate;
    }
    return undefined;
  }

  private exists(file: string): boolean {
    let v = this.existsCache.get(file);
    if (v === undefined) {
      try {
        v = this.entries.has(file) || fs.statSync(file).isFile();
      } catch {
        v = false;
      }
      this.existsCache.set(file, v);
    }
    return v;
  }

  private graphChanged(): void {
    this.scopeCache.clear();
  }

  private indexNames(file: string, parsed: ParsedFile): void {
    for (const d of parsed.defs) {
      if (d.kind === 'param') continue;
      addTo(this.defNames, d.name, file);
    }
    for (const name of parsed.refs.keys()) addTo(this.refNames, name, file);
  }

  private unindex(file: string, parsed: ParsedFile): void {
    for (const d of parsed.defs) this.defNames.get(d.name)?.delete(file);
    for (const name of parsed.refs.keys()) this.refNames.get(name)?.delete(file);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
/** What marks a source of ours: our header, our marker, the names our build defines. */
const OUR_BUILD = /kvm-guest|KVM_GUEST_/;

function markerMode(text: string): CpuMode | undefined {
  for (const m of text.matchAll(/kvm-guest:\s*mode\s*=\s*([A-Za-z0-9]+)/g)) {
    const mode = m[1].toLowerCase();
    if (isCpuMode(mode)) return mode;
  }
  return undefined;
}

function quickDirectiveMode(text: string): CpuMode | undefined {
  const m = /^[ \t]*(?:[A-Za-z_.$][\w.$]*:[ \t]*)?\.code(16gcc|16|32|64)\b/m.exec(text);
  return m ? modeOfBits(m[1] === '64' ? 64 : m[1] === '32' ? 32 : 16) : undefined;
}

/**
 * A guess at the object's bitness from its text, for sources nothing else describes: a .code64
 * anywhere, a 64-bit register or a `.quad` of a symbol (a 64-bit relocation) say 64-bit; else a
 * .code32, else a .code16. `codeBits`: the .code directives the parse saw (outside comments).
 */
export function heuristicMode(text: string, codeBits: ReadonlySet<Bits> | undefined): CpuMode | undefined {
  const has = (b: Bits): boolean => (codeBits ? codeBits.has(b) : new RegExp(`^[ \\t]*(?:[A-Za-z_.$][\\w.$]*:[ \\t]*)?\\.code${b}\\b`, 'm').test(text));
  if (has(64)) return 'long';
  if (/%r(?:[abcd]x|[sd]i|[sb]p|ip|(?:8|9|1[0-5])[dwb]?)\b/.test(text)) return 'long';
  if (/^[ \t]*(?:[A-Za-z_.$][\w.$]*:[ \t]*)?\.(?:quad|8byte)[ \t]+[^\n#;]*?\b[a-z_][A-Za-z0-9_.]*[a-z]/m.test(text)) return 'long';
  if (has(32)) return 'protected';
  if (has(16)) return 'real';
  return undefined;
}

function modeOfBits(bits: Bits | undefined): CpuMode | undefined {
  return bits === undefined ? undefined : bits === 16 ? 'real' : bits === 32 ? 'protected' : 'long';
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  let s = map.get(key);
  if (s === undefined) map.set(key, (s = new Set()));
  s.add(value);
}

function targets(includes: readonly IncludeDirective[]): Set<string> {
  const s = new Set<string>();
  for (const i of includes) if (i.resolved !== undefined && i.via !== 'incbin') s.add(i.resolved);
  return s;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function signature(events: readonly CppEvent[]): string {
  return events.map((e) => `${e.w} ${e.text} ${e.inc ?? ''}`).join('\n');
}

export function readText(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return undefined;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
