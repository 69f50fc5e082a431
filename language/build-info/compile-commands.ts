// The build's own flags for a source, from a compilation database (`compile_commands.json`,
// clangd's convention: the workspace root, its `build/` folder, a folder above the source, or a
// configured path): the bitness (-m16/-m32/-m64, --32/--64, -Wa,--32), include folders (-I,
// -iquote, -isystem), -D/-U and -include files. Read once per database and re-read when it changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';

export interface CompileFlags {
  /** The compilation database the flags come from. */
  database: string;
  /** From -m16 / -m32 / -m64 (last one wins); undefined when the command does not say. */
  mode?: CpuMode;
  /** -D NAME[=VALUE] in order ('' value: defined as 1). */
  defines: Array<[string, string]>;
  /** -U NAME. */
  undefs: string[];
  /** -I / -iquote / -isystem folders, absolute. */
  includeDirs: string[];
  /** -include files, absolute. */
  includeFiles: string[];
  /** The flags above, as the tool takes them again (for the live assembler run). */
  argv: string[];
}

interface Database {
  mtimeMs: number;
  entries: Map<string, CompileFlags>;
}

const MAX_DB_BYTES = 64 * 1024 * 1024;

/** Splits a shell command line (quotes and backslashes, no expansions). */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length && /["\\$`]/.test(command[i + 1])) cur += command[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** The flags of one command line that matter to the language server. */
export function flagsOfArguments(args: readonly string[], directory: string, database: string): CompileFlags {
  const f: CompileFlags = { database, defines: [], undefs: [], includeDirs: [], includeFiles: [], argv: [] };
  const abs = (p: string): string => (path.isAbsolute(p) ? path.normalize(p) : path.resolve(directory, p));
  const setMode = (bits: string): void => {
    f.mode = bits === '64' ? 'long' : bits === '16' ? 'real' : 'protected';
  };
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    const value = (flag: string): string | undefined => {
      if (a === flag) return args[++i];
      return a.startsWith(flag) ? a.slice(flag.length) : undefined;
    };
    let m: RegExpExecArray | null;
    if ((m = /^-m(16|32|64)$/.exec(a)) || (m = /^--(32|64)$/.exec(a))) {
      setMode(m[1]);
      continue;
    }
    if (a === '-mx32') continue;
    if (a.startsWith('-Wa,')) {
      for (const part of a.slice(4).split(',')) {
        const mm = /^--(32|64)$/.exec(part);
        if (mm) setMode(mm[1]);
      }
      continue;
    }
    if (a === '-include' || a === '-imacros') {
      const v = args[++i];
      if (v !== undefined) {
        f.includeFiles.push(abs(v));
        f.argv.push(a, abs(v));
      }
      continue;
    }
    let v: string | undefined;
    if ((v = value('-iquote')) !== undefined || (v = value('-isystem')) !== undefined || (v = value('-idirafter')) !== undefined) {
      if (v !== '') {
        f.includeDirs.push(abs(v));
        f.argv.push(`-I${abs(v)}`);
      }
      continue;
    }
    if ((v = value('-I')) !== undefined) {
      if (v !== '') {
        f.includeDirs.push(abs(v));
        f.argv.push(`-I${abs(v)}`);
      }
      continue;
    }
    if ((v = value('-D')) !== undefined) {
      if (v === '') continue;
      const eq = v.indexOf('=');
      f.defines.push(eq < 0 ? [v, ''] : [v.slice(0, eq), v.slice(eq + 1)]);
      f.argv.push(`-D${v}`);
      continue;
    }
    if ((v = value('-U')) !== undefined) {
      if (v === '') continue;
      f.undefs.push(v);
      f.argv.push(`-U${v}`);
      continue;
    }
  }
  return f;
}

export class CompileCommands {
  private readonly databases = new Map<string, Database | undefined>();
  private readonly checked = new Map<string, number>();

  /** `roots`: workspace folders; `configured`: a database file or the folder holding it (settings). */
  constructor(private readonly roots: () => string[], private readonly configured: () => string | undefined) {}

  /** Databases that may describe `file`, nearest first. */
  private candidates(file: string): string[] {
    const out: string[] = [];
    const conf = this.configured();
    if (conf) out.push(conf.endsWith('.json') ? conf : path.join(conf, 'compile_commands.json'));
    const roots = this.roots();
    let dir = path.dirname(file);
    for (let depth = 0; depth < 12; depth++) {
      out.push(path.join(dir, 'compile_commands.json'), path.join(dir, 'build', 'compile_commands.json'));
      if (roots.includes(dir)) break;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    for (const r of roots) out.push(path.join(r, 'compile_commands.json'), path.join(r, 'build', 'compile_commands.json'));
    return [...new Set(out)];
  }

  private load(db: string): Database | undefined {
    // A stat per database at most every 2 s: requests ask often.
    const now = Date.now();
    const last = this.checked.get(db);
    const cached = this.databases.get(db);
    if (last !== undefined && now - last < 2000) return cached;
    this.checked.set(db, now);
    let st: fs.Stats;
    try {
      st = fs.statSync(db);
      if (!st.isFile() || st.size > MAX_DB_BYTES) throw new Error('not a regular file');
    } catch {
      this.databases.set(db, undefined);
      return undefined;
    }
    if (cached && cached.mtimeMs === st.mtimeMs) return cached;
    const entries = new Map<string, CompileFlags>();
    try {
      const list = JSON.parse(fs.readFileSync(db, 'utf8')) as unknown;
      if (Array.isArray(list)) {
        for (const e of list as Array<Record<string, unknown>>) {
          if (!e || typeof e !== 'object' || typeof e.file !== 'string') continue;
          const directory = typeof e.directory === 'string' ? path.resolve(path.dirname(db), e.directory) : path.dirname(db);
          const args = Array.isArray(e.arguments) && e.arguments.every((x) => typeof x === 'string')
            ? (e.arguments as string[])
            : typeof e.command === 'string' ? splitCommand(e.command) : undefined;
          if (args === undefined) continue;
          const file = path.resolve(directory, e.file);
          if (!entries.has(file)) entries.set(file, flagsOfArguments(args, directory, db));
        }
      }
    } catch {
      // a half-written database: no flags from it
    }
    const d = { mtimeMs: st.mtimeMs, entries };
    this.databases.set(db, d);
    return d;
  }

  /** The entry for `file` in the nearest database that has one. */
  flagsFor(file: string): CompileFlags | undefined {
    for (const db of this.candidates(file)) {
      const d = this.load(db);
      const hit = d?.entries.get(file);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Forget cached stats (a database changed on disk). */
  invalidate(): void {
    this.checked.clear();
  }
}
