// Turns the stderr of GNU as, gcc/cpp, ld and objcopy into located diagnostics.
// The tools must run with LC_ALL=C (see process.ts): the patterns expect English, ASCII quotes.

import * as path from 'node:path';

export type DiagnosticTool = 'as' | 'gcc' | 'ld' | 'objcopy' | 'cpp';

export interface BuildDiagnostic {
  /** Absolute path. */
  file: string;
  /** 1-based; 0 when the tool gave no line (the message is about the file as a whole). */
  line: number;
  /** 1-based, when the tool gave one (gcc and cpp do). */
  column?: number;
  severity: 'error' | 'warning' | 'note';
  message: string;
  tool: DiagnosticTool;
  /** For messages in #included files: the include chain, outermost last, as gcc prints it. */
  includedFrom?: Array<{ file: string; line: number }>;
}

export interface DiagnosticContext {
  /** Directory the tool ran in: relative paths in its output are resolved against it. */
  cwd: string;
  /** The source being built: where messages without a file of their own are reported. */
  source: string;
  /** Object file (absolute) → source it was built from, for ld messages naming an object. */
  objects?: Readonly<Record<string, string>>;
  /** The linker script, for ld layout messages (overlaps, regions). */
  linkerScript?: string;
}

// GNU tools quote as `name'; show the usual 'name'.
function normalizeQuotes(message: string): string {
  return message.replace(/`([^`']*)'/g, "'$1'");
}

function severityOf(word: string): BuildDiagnostic['severity'] {
  const w = word.toLowerCase();
  if (w === 'warning') return 'warning';
  if (w === 'note' || w === 'info') return 'note';
  return 'error';
}

function resolveFile(file: string, ctx: DiagnosticContext): string {
  // gcc's pseudo-files (<command-line>, <built-in>, <stdin>) are about the build of the source.
  if (/^<[^>]*>$/.test(file)) return path.resolve(ctx.source);
  return path.resolve(ctx.cwd, file);
}

// file:line:col: severity: message   (gcc, cpp)
const GCC_LOCATED = /^(.+?):(\d+):(?:(\d+):)? (fatal error|error|warning|note|sorry, unimplemented): (.*)$/;
// file:line: Error: message   (as, also when gcc drives it)
const AS_LOCATED = /^(.+?):(\d+):\s+(Error|Warning|Info|Fatal error): (.*)$/;
// file: Error: message   (as, without a line)
const AS_UNLOCATED = /^(.+?): (Error|Warning|Fatal error): (.*)$/;
// gcc: error: message, cc1: warning: message, as: ...
const DRIVER = /^(?:\S*\/)?([\w.+-]*(?:gcc|cc1|cc1plus|collect2|cpp|as|lto1)(?:-[\d.]+)?): (fatal error|error|warning|note): (.*)$/;
const INCLUDED_FROM = /^(?:In file included| +) from (.+?):(\d+)(?::\d+)?[:,]$/;
const CONTEXT_LINE = /^(.+?): (In (?:function|member function|static member function|constructor|destructor|lambda function|instantiation of|substitution of)|At (?:top|global) level).*:$/;
const ASSEMBLER_MESSAGES = /^(.+?): Assembler messages:$/;

/**
 * gcc or cpp output, including the assembler's messages when gcc drives `as` (a `.S` file):
 * those are tagged `as`. Messages inside #included files carry the included file's path and
 * line (gcc reports them there) plus the include chain.
 */
export function parseCompilerOutput(stderr: string, ctx: DiagnosticContext, tool: 'gcc' | 'cpp' = 'gcc'): BuildDiagnostic[] {
  const result: BuildDiagnostic[] = [];
  // gcc prints the include chain only when it changes: remember it per file.
  let pending: Array<{ file: string; line: number }> = [];
  const chains = new Map<string, Array<{ file: string; line: number }>>();
  const attachChain = (d: BuildDiagnostic): void => {
    if (pending.length > 0) {
      chains.set(d.file, pending);
      pending = [];
    }
    const chain = chains.get(d.file);
    if (chain) d.includedFrom = chain;
  };
  for (const raw of stderr.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    if (line === '') continue;
    let m = INCLUDED_FROM.exec(line);
    if (m) {
      pending.push({ file: resolveFile(m[1], ctx), line: Number(m[2]) });
      continue;
    }
    // Source excerpts, carets and fix-it lines (`  4 | code`, `    | ^`, `+++ |+#include`).
    if (CONTEXT_LINE.test(line) || /^\s*(?:\d+|\+\+\+)? *\|/.test(line) || line === 'compilation terminated.') continue;
    if (ASSEMBLER_MESSAGES.test(line) || /warnings being treated as errors/.test(line)) continue;
    m = GCC_LOCATED.exec(line);
    if (m) {
      const d: BuildDiagnostic = {
        file: resolveFile(m[1], ctx),
        line: Number(m[2]),
        severity: severityOf(m[4] === 'warning' || m[4] === 'note' ? m[4] : 'error'),
        message: normalizeQuotes(m[5]),
        tool,
      };
      if (m[3] !== undefined) d.column = Number(m[3]);
      attachChain(d);
      result.push(d);
      continue;
    }
    m = AS_LOCATED.exec(line);
    if (m) {
      const d: BuildDiagnostic = {
        file: resolveFile(m[1], ctx),
        line: Number(m[2]),
        severity: severityOf(m[3] === 'Fatal error' ? 'error' : m[3]),
        message: normalizeQuotes(m[4]),
        tool: 'as',
      };
      attachChain(d);
      result.push(d);
      continue;
    }
    m = DRIVER.exec(line);
    if (m) {
      result.push({
        file: path.resolve(ctx.source),
        line: 0,
        severity: severityOf(m[2] === 'fatal error' ? 'error' : m[2]),
        message: normalizeQuotes(`${m[1]}: ${m[3]}`),
        tool: /^(?:\S*\/)?as$/.test(m[1]) ? 'as' : tool,
      });
      continue;
    }
    m = AS_UNLOCATED.exec(line);
    if (m) result.push(unlocatedAssemblerDiagnostic(m, ctx));
  }
  return result;
}

/** `file: Error: message` without a line (AS_UNLOCATED), at line 0 of that file. */
function unlocatedAssemblerDiagnostic(m: RegExpExecArray, ctx: DiagnosticContext): BuildDiagnostic {
  return {
    file: resolveFile(m[1], ctx),
    line: 0,
    severity: severityOf(m[2] === 'Fatal error' ? 'error' : m[2]),
    message: normalizeQuotes(m[3]),
    tool: 'as',
  };
}

/** Output of `as` run directly (a `.s` file). */
export function parseAssemblerOutput(stderr: string, ctx: DiagnosticContext): BuildDiagnostic[] {
  const result: BuildDiagnostic[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    if (line === '' || ASSEMBLER_MESSAGES.test(line)) continue;
    let m = AS_LOCATED.exec(line);
    if (m) {
      result.push({
        file: resolveFile(m[1], ctx),
        line: Number(m[2]),
        severity: severityOf(m[3] === 'Fatal error' ? 'error' : m[3]),
        message: normalizeQuotes(m[4]),
        tool: 'as',
      });
      continue;
    }
    m = /^(?:\S*\/)?(?:[\w.-]+-)?as: (.*)$/.exec(line); // as: unrecognized option ...
    if (m) {
      const w = /^(warning|error|fatal error): (.*)$/i.exec(m[1]);
      result.push({
        file: path.resolve(ctx.source),
        line: 0,
        severity: severityOf(w ? (w[1].toLowerCase() === 'fatal error' ? 'error' : w[1]) : 'error'),
        message: normalizeQuotes(w ? w[2] : m[1]),
        tool: 'as',
      });
      continue;
    }
    m = AS_UNLOCATED.exec(line);
    if (m) result.push(unlocatedAssemblerDiagnostic(m, ctx));
  }
  return result;
}

// "ld: ", "/usr/bin/ld: ", "x86_64-linux-gnu-ld.bfd: " and, before a script location, "ld:".
const LD_PREFIX = /^(?:\S*\/)?(?:[\w.-]+-)?ld(?:\.bfd|\.gold)?: ?/;
const OBJCOPY_PREFIX = /^(?:\S*\/)?(?:[\w.-]+-)?objcopy: /;

/**
 * ld output. Undefined references come as `src.S:12: undefined reference to 'x'` when the
 * object has line info (always, for our -g builds), else as `obj.o:(.text+0x5): ...`, which is
 * reported at the object's source. Layout errors (overlaps, regions) go to the linker script.
 */
export function parseLinkerOutput(stderr: string, ctx: DiagnosticContext): BuildDiagnostic[] {
  const result: BuildDiagnostic[] = [];
  const objects = ctx.objects ?? {};
  const sourceOfObject = (obj: string): string | undefined => {
    const abs = path.resolve(ctx.cwd, obj);
    return objects[abs] ?? objects[obj];
  };
  const mentionedSource = (message: string): string | undefined => {
    for (const [obj, src] of Object.entries(objects)) {
      if (message.includes(obj) || message.includes(path.basename(obj))) return src;
    }
    return undefined;
  };
  const layoutFile = path.resolve(ctx.linkerScript ?? ctx.source);
  let lastObject: string | undefined;
  for (const raw of stderr.split(/\r?\n/)) {
    let line = raw.replace(/\s+$/, '');
    if (line === '') continue;
    line = line.replace(LD_PREFIX, '');
    let severity: BuildDiagnostic['severity'] = 'error';
    const sev = /^(warning|error|note): (.*)$/i.exec(line);
    if (sev) {
      severity = severityOf(sev[1]);
      line = sev[2];
    }
    const push = (file: string, lineNo: number, message: string): void => {
      result.push({ file: path.resolve(file), line: lineNo, severity, message: normalizeQuotes(message), tool: 'ld' });
    };
    let m = /^(.+?): in function [`'](.*)':$/i.exec(line);
    if (m) {
      lastObject = m[1];
      continue;
    }
    m = /^cannot open linker script file (.+?): (.*)$/.exec(line);
    if (m) {
      push(path.resolve(ctx.cwd, m[1]), 0, line);
      continue;
    }
    if (/^section \S+ (?:LMA|VMA) \[.*\] overlaps section/.test(line) || /will not fit in region|region [`'].*' overflowed by/.test(line)) {
      push(layoutFile, 0, line);
      continue;
    }
    // obj.o:(.text+0x5): message   or, after an "in function" line, (.text+0x5): message
    m = /^(?:(.+?):)?\((\.[^)+]*)(?:\+0x[0-9a-fA-F]+)?\): (.*)$/.exec(line);
    if (m) {
      const obj = m[1] ?? lastObject;
      const src = obj !== undefined ? sourceOfObject(obj) ?? path.resolve(ctx.cwd, obj) : ctx.source;
      push(src, 0, `${m[3]} (in ${m[2]}${obj !== undefined ? ` of ${path.basename(obj)}` : ''})`);
      continue;
    }
    // [obj.o:]file:line: message   (also linker script syntax errors: script.ld:12: ...)
    m = /^(?:[^:\s]+\.o:)?(.+?):(\d+): (.*)$/.exec(line);
    if (m) {
      push(path.resolve(ctx.cwd, m[1]), Number(m[2]), m[3]);
      continue;
    }
    push(mentionedSource(line) ?? ctx.source, 0, line);
  }
  return result;
}

/** objcopy output: reported at the source (objcopy only ever sees the linked ELF). */
export function parseObjcopyOutput(stderr: string, ctx: DiagnosticContext): BuildDiagnostic[] {
  const result: BuildDiagnostic[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    let line = raw.replace(/\s+$/, '');
    if (line === '') continue;
    line = line.replace(OBJCOPY_PREFIX, '');
    let severity: BuildDiagnostic['severity'] = 'error';
    const sev = /^(?:(.+?): )?(warning|error): (.*)$/i.exec(line);
    if (sev) {
      severity = severityOf(sev[2]);
      line = sev[1] !== undefined ? `${sev[1]}: ${sev[3]}` : sev[3];
    }
    result.push({ file: path.resolve(ctx.source), line: 0, severity, message: normalizeQuotes(line), tool: 'objcopy' });
  }
  return result;
}

/**
 * One line in the tools' own style: `hello.S:12: Error: msg` for as, `hello.c:3:5: error: msg`
 * for the others. Paths are shown relative to `relativeTo` when given.
 */
export function formatDiagnostic(d: BuildDiagnostic, relativeTo?: string): string {
  let file = d.file;
  if (relativeTo !== undefined) {
    // Only files inside relativeTo get shorter: a chain of ../ is harder to read than the path.
    const rel = path.relative(relativeTo, d.file);
    if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) file = rel;
  }
  const where = d.line > 0 ? `${file}:${d.line}${d.column !== undefined ? `:${d.column}` : ''}` : file;
  const word =
    d.tool === 'as'
      ? { error: 'Error', warning: 'Warning', note: 'Info' }[d.severity]
      : d.severity;
  return `${where}: ${word}: ${d.message}`;
}

export function firstError(diagnostics: readonly BuildDiagnostic[]): BuildDiagnostic | undefined {
  return diagnostics.find((d) => d.severity === 'error');
}

/** The CLI's last line for a failed build: the count of errors (already printed one by one), else the message. */
export function buildFailedLine(diagnostics: readonly BuildDiagnostic[] | undefined, message: string): string {
  const errors = diagnostics?.filter((d) => d.severity === 'error').length ?? 0;
  return `kvm-guest: build failed${errors ? ` (${errors} error${errors === 1 ? '' : 's'})` : `: ${message}`}`;
}
