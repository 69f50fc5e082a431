// What the build, the CLI, the debugger and the language server agree to read: regular files of
// bounded size. A FIFO blocks whoever opens it until a writer comes (forever, usually), a device
// like /dev/zero never ends, and a huge file ends in ERR_STRING_TOO_LONG or a V8 heap abort; each is
// refused up front with a message that says what the file is and what is expected instead.
import * as fs from 'node:fs';
import * as path from 'node:path';

const MiB = 1024 * 1024;
/** Largest source or included file: generous (a large hand-written guest is well under 1 MiB). */
export const MAX_SOURCE_BYTES = 16 * MiB;
/** Largest ELF or flat binary: more than any image that fits the largest guest memory needs. */
export const MAX_IMAGE_BYTES = 1024 * MiB;

/** A file the tools must not read: not a regular file, or too large. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

function describeType(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function sizeText(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB` : `${n} bytes`;
}

/**
 * Why `file` cannot be read as `what` (e.g. "a guest source"), or undefined when it can: it must be
 * a regular file (symbolic links are followed) of at most `maxBytes`. Never blocks: stat only.
 * `shown` is the name used in the message (default: the path as given).
 */
export function inputFileProblem(file: string, what: string, maxBytes = MAX_SOURCE_BYTES, shown = file): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `cannot read ${shown}: ${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message}`;
  }
  if (!st.isFile()) return `${shown} is ${describeType(st)}, not a regular file: ${what} must be a regular file`;
  if (st.size > maxBytes) return `${shown} is ${sizeText(st.size)}: ${what} may be at most ${sizeText(maxBytes)}`;
  return undefined;
}

/** Throws InputFileError unless `file` is a regular file of at most `maxBytes`. */
export function checkInputFile(file: string, what: string, maxBytes = MAX_SOURCE_BYTES, shown = file): void {
  const problem = inputFileProblem(file, what, maxBytes, shown);
  if (problem !== undefined) throw new InputFileError(problem);
}

/** The text of a source file, after checkInputFile. */
export function readSourceText(file: string, what = 'a guest source', shown = file): string {
  checkInputFile(file, what, MAX_SOURCE_BYTES, shown);
  return fs.readFileSync(file, 'utf8');
}

/** An include the toolchain must not open: where it is, and why. */
export interface IncludeProblem {
  file: string;
  /** 1-based. */
  line: number;
  message: string;
}

export type IncludeSyntax = 'cpp' | 'as' | 'both';

const CPP_INCLUDE = /^[ \t]*#[ \t]*include(?:_next)?[ \t]*(["<])([^">\n]+)[">]/gm;
const AS_INCLUDE = /^[ \t]*(?:[A-Za-z_.$][\w.$]*:[ \t]*)?\.(include|incbin)[ \t]+"([^"\n]+)"/gm;
const MAX_SCANNED_FILES = 500;

export interface IncludeScan {
  /** The source whose includes are checked. */
  file: string;
  /** Its text (the editor's unsaved text, for the language server). */
  text: string;
  syntax: IncludeSyntax;
  /** -I folders, in order. */
  includeDirs: string[];
  /** The folder `as` runs in (its `.include` looks there first). Default: the source's folder. */
  cwd?: string;
  /** Text of a file other than `file` when it is not the one on disk (unsaved editors). */
  textOf?: (file: string) => string | undefined;
}

/**
 * Follows the `#include "…"`/`<…>` (cpp) and `.include`/`.incbin` (as) lines of a source and of
 * the files they include, resolved the way gcc and as search, and says where and why the toolchain
 * must not run when one resolves to something that is not a regular file of bounded size (a FIFO,
 * /dev/zero, a 100 MB header); undefined otherwise. Includes named by a macro, or in system headers
 * (`<…>` not found on the -I path), are not followed: the tool limits in process.ts cover those.
 */
export function includeProblem(scan: IncludeScan): IncludeProblem | undefined {
  const seen = new Set<string>();
  const queue: Array<{ file: string; text: string }> = [{ file: path.resolve(scan.file), text: scan.text }];
  const cwd = scan.cwd ?? path.dirname(path.resolve(scan.file));
  while (queue.length > 0 && seen.size < MAX_SCANNED_FILES) {
    const { file, text } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const found: Array<{ spec: string; dirs: string[]; binary: boolean; at: number }> = [];
    const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
    if (scan.syntax !== 'as') {
      for (const m of text.matchAll(CPP_INCLUDE)) {
        const quoted = m[1] === '"';
        found.push({ spec: m[2].trim(), dirs: quoted ? [path.dirname(file), ...scan.includeDirs] : scan.includeDirs, binary: false, at: m.index ?? 0 });
      }
    }
    if (scan.syntax !== 'cpp') {
      for (const m of text.matchAll(AS_INCLUDE)) {
        found.push({ spec: m[2], dirs: [cwd, path.dirname(file), ...scan.includeDirs], binary: m[1] === 'incbin', at: m.index ?? 0 });
      }
    }
    for (const inc of found) {
      const target = resolveInclude(inc.spec, inc.dirs);
      if (target === undefined) continue; // missing, or a system header: the tool says so
      const what = inc.binary ? 'a file included with .incbin' : 'an included file';
      const problem = inputFileProblem(target, what, inc.binary ? MAX_IMAGE_BYTES : MAX_SOURCE_BYTES, inc.spec);
      if (problem !== undefined) return { file, line: lineOf(inc.at), message: problem };
      if (inc.binary || seen.has(target)) continue;
      const t = scan.textOf?.(target) ?? readQuietly(target);
      if (t !== undefined) queue.push({ file: target, text: t });
    }
  }
  return undefined;
}

/** The first candidate that exists and is not a folder (what gcc/as would open), if any. */
function resolveInclude(spec: string, dirs: string[]): string | undefined {
  const candidates = path.isAbsolute(spec) ? [spec] : dirs.map((d) => path.resolve(d, spec));
  for (const c of candidates) {
    try {
      if (!fs.statSync(c).isDirectory()) return c;
    } catch {
      // not there: next folder
    }
  }
  return undefined;
}

function readQuietly(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
