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
import { compileArgv, modeDefines, sourceKindOf } from '../../debug-adapter/toolchain/build';
import { BuildDiagnostic, DiagnosticContext, parseAssemblerOutput, parseCompilerOutput } from '../../debug-adapter/toolchain/diagnostics';
import { CpuMode } from '../../debug-adapter/toolchain/modes';
import { guestIncludeDir } from '../../debug-adapter/toolchain/package-root';
import { runProcess, toolEnv } from '../../debug-adapter/toolchain/process';
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
}

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
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'kvm-guest-lsp-'));
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
    const includes = [realDir, guestIncludeDir(), ...(req.includePaths ?? []).map((p) => path.resolve(p))];
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
      r = await runProcess(argv, { cwd, env: toolEnv(), signal: req.signal });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        return { diagnostics: [], command: argv, toolProblem: `${argv[0]} could not be started (${err.code})`, ms: Date.now() - started };
      }
      throw e;
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
  }
}

/** Paths inside the temporary folder are the real ones (line markers make that rare). */
function mapBack(d: BuildDiagnostic, tmp: string, copy: string, source: string, realDir: string): BuildDiagnostic {
  const fix = (file: string, line: number): { file: string; line: number } => {
    if (file === copy) return { file: source, line: Math.max(0, line - 1) };
    if (file.startsWith(tmp + path.sep)) return { file: path.join(realDir, path.relative(tmp, file)), line: Math.max(0, line - 1) };
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
