// Runs only the compile/assemble step of the guest build (gcc -c for .S/.c, as for .s) on the
// editor's unsaved text, with the flags debug-adapter/toolchain/build.ts uses, and returns the
// tool's messages at the real files and lines.
//
// The text goes to a temporary folder under the source's own name, behind a line marker
// (`#line 1 "<real path>"`, or `# 1 "<real path>"` for as) so the tools report the real path.
// The real folder stays on the include path, so `#include "runtime.h"` resolves as in the build;
// unsaved included files ("overlays") are written next to the copy, where the include finds them first.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileArgv, includeSyntaxOf, modeDefines, sourceKindOf } from '../../debug-adapter/toolchain/build';
import { includeProblem, MAX_SOURCE_BYTES } from '../../debug-adapter/toolchain/input-files';
import { BuildDiagnostic, DiagnosticContext, parseAssemblerOutput, parseCompilerOutput } from '../../debug-adapter/toolchain/diagnostics';
import { CpuMode } from '../../debug-adapter/toolchain/modes';
import { guestIncludeDir } from '../../debug-adapter/toolchain/package-root';
import { runProcess, toolEnv, trackTempDir, untrackTempDir } from '../../debug-adapter/toolchain/process';
import { resolveTool, ToolchainError, ToolOverrides } from '../../debug-adapter/toolchain/tools';

export interface AssembleRequest {
  file: string;
  text: string;
  mode: CpuMode;
  includePaths?: string[];
  defines?: Record<string, string>;
  tools?: ToolOverrides;
  extraFlags?: string[];
  /** Unsaved text of files it includes. */
  overlays?: Array<{ file: string; text: string }>;
  signal?: AbortSignal;
  /** Limits of the run (defaults: LIVE_TIMEOUT_MS, LIVE_MAX_MEMORY_BYTES). */
  timeoutMs?: number;
  maxMemoryBytes?: number;
}

/**
 * Live diagnostics run on every pause in typing, on text that may be half-written: a run that
 * takes longer than this, or holds more memory than this (gcc and its cc1/as together), is stopped.
 * Both are far beyond what assembling or compiling a guest needs (tens of ms, tens of MB).
 */
export const LIVE_TIMEOUT_MS = 20000;
export const LIVE_MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

export interface AssembleResult {
  diagnostics: BuildDiagnostic[];
  command: string[];
  /** The tool could not be found or started: why, and what to install. */
  toolProblem?: string;
  ms: number;
}

function marker(file: string, cpp: boolean): string {
  const quoted = file.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return cpp ? `#line 1 "${quoted}"\n` : `# 1 "${quoted}"\n`;
}

export async function assembleForDiagnostics(req: AssembleRequest): Promise<AssembleResult> {
  const started = Date.now();
  req.signal?.throwIfAborted();
  const source = path.resolve(req.file);
  const kind = sourceKindOf(source);
  if (kind === undefined) return { diagnostics: [], command: [], ms: 0 };
  let tool: string;
  try {
    tool = resolveTool(kind === 'asm' ? 'as' : 'gcc', req.tools ?? {});
  } catch (e) {
    return { diagnostics: [], command: [], toolProblem: e instanceof Error ? e.message : String(e), ms: Date.now() - started };
  }
  const realDir = path.dirname(source);
  const includes = [realDir, guestIncludeDir(), ...(req.includePaths ?? []).map((p) => path.resolve(p))];
  // Never start the tool on what would hang it or exhaust memory: a huge text, or an include
  // that is a FIFO, a device (/dev/zero) or a huge file. Includes the scan cannot see (a macro)
  // are bounded by the run's time and memory limits below.
  const refuse = (file: string, line: number, message: string): AssembleResult => ({
    diagnostics: [{ file, line, severity: 'error', tool: kind === 'asm' ? 'as' : 'cpp', message: `not assembled: ${message}` }],
    command: [], ms: Date.now() - started,
  });
  if (Buffer.byteLength(req.text) > MAX_SOURCE_BYTES) return refuse(source, 0, `the text is larger than ${MAX_SOURCE_BYTES / (1024 * 1024)} MiB`);
  const overlayText = new Map((req.overlays ?? []).map((o) => [path.resolve(o.file), o.text]));
  const bad = includeProblem({
    file: source, text: req.text, syntax: includeSyntaxOf(kind), includeDirs: includes, cwd: realDir,
    textOf: (f) => overlayText.get(f),
  });
  if (bad !== undefined) return refuse(bad.file, bad.line, bad.message);
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'kvm-guest-lsp-'));
  trackTempDir(tmp); // removed at exit if the server ends while the tool runs
  try {
    const copy = path.join(tmp, path.basename(source));
    const cpp = kind !== 'asm';
    await fs.promises.writeFile(copy, marker(source, cpp) + req.text);
    for (const o of req.overlays ?? []) {
      const rel = path.relative(realDir, o.file);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const target = path.join(tmp, rel);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.writeFile(target, marker(o.file, cpp || /\.(S|h)$/.test(o.file)) + o.text);
    }
    const defines: Array<[string, string]> = [
      ...modeDefines(req.mode),
      ...Object.entries(req.defines ?? {}),
    ];
    const object = path.join(tmp, 'diagnostics.o');
    const argv = compileArgv({ kind, mode: req.mode, tool, includes, defines, extraFlags: req.extraFlags, object, source: copy });
    // as looks for `.include` files relative to its working directory first: run it in the
    // temporary folder (overlays) with the real folder right behind it on the path.
    const cwd = kind === 'asm' ? tmp : realDir;
    let r;
    try {
      r = await runProcess(argv, { cwd, env: toolEnv(), signal: req.signal, timeoutMs: req.timeoutMs ?? LIVE_TIMEOUT_MS, maxMemoryBytes: req.maxMemoryBytes ?? LIVE_MAX_MEMORY_BYTES });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        return { diagnostics: [], command: argv, toolProblem: `${argv[0]} could not be started (${err.code})`, ms: Date.now() - started };
      }
      throw e;
    }
    if (r.limit !== undefined) {
      return {
        diagnostics: [{ file: source, line: 0, severity: 'error', tool: kind === 'asm' ? 'as' : 'gcc', message: `${path.basename(argv[0])} was stopped: it ${r.limit} (does the source include a device, a FIFO or a huge file?)` }],
        command: argv, ms: Date.now() - started,
      };
    }
    const ctx: DiagnosticContext = { cwd, source };
    const parsed = kind === 'asm' ? parseAssemblerOutput(r.stderr, ctx) : parseCompilerOutput(r.stderr, ctx, kind === 'c' ? 'gcc' : 'cpp');
    const diagnostics = parsed.map((d) => mapBack(d, tmp, copy, source, realDir));
    if (r.code !== 0 && !diagnostics.some((d) => d.severity === 'error')) {
      const detail = r.stderr.split('\n').find((l) => l.trim() !== '')?.trim();
      diagnostics.push({ file: source, line: 0, severity: 'error', tool: kind === 'asm' ? 'as' : 'gcc', message: `${path.basename(argv[0])} failed${detail ? `: ${detail}` : ` (exit code ${r.code ?? r.signal})`}` });
    }
    return { diagnostics, command: argv, ms: Date.now() - started };
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    untrackTempDir(tmp);
  }
}

/** Paths inside the temporary folder are the real ones (line markers make that rare). */
function mapBack(d: BuildDiagnostic, tmp: string, copy: string, source: string, realDir: string): BuildDiagnostic {
  const fix = (file: string, line: number): { file: string; line: number } => {
    if (file === copy) return { file: source, line: Math.max(0, line - 1) };
    if (file.startsWith(tmp + path.sep)) return { file: path.join(realDir, path.relative(tmp, file)), line: Math.max(0, line - 1) };
    // gcc's own intermediate (`/tmp/ccXXXX.s: Error: local label ... is not defined`): the source.
    if (/^cc[A-Za-z0-9]{6}\.s$/.test(path.basename(file)) && path.dirname(file) === path.resolve(os.tmpdir())) return { file: source, line: 0 };
    return { file, line };
  };
  const at = fix(d.file, d.line);
  const out: BuildDiagnostic = { ...d, file: at.file, line: at.line };
  if (d.includedFrom) out.includedFrom = d.includedFrom.map((i) => fix(i.file, i.line));
  out.message = out.message.split(copy).join(source);
  return out;
}

export function isToolchainError(e: unknown): e is ToolchainError {
  return e instanceof ToolchainError;
}
