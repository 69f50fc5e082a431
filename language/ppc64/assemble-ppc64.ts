// Live diagnostics of a POWER file: the real cross assembler (as the ppc64 build runs it:
// -mbig|-mlittle -mpower8 -g) on the editor's unsaved text, behind a `# 1 "<real path>"` line marker
// so that messages name the real file and line, exactly like the x86 path (diagnostics/assemble.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Endian } from '../../debug-adapter/toolchain/arch';
import { BuildDiagnostic, parseAssemblerOutput } from '../../debug-adapter/toolchain/diagnostics';
import { MAX_SOURCE_BYTES } from '../../debug-adapter/toolchain/input-files';
import { ppc64AssembleArgv, resolvePpc64Tool } from '../../debug-adapter/toolchain/ppc64-build';
import { runProcess, toolEnv, trackTempDir, untrackTempDir } from '../../debug-adapter/toolchain/process';
import { LIVE_MAX_MEMORY_BYTES, LIVE_TIMEOUT_MS, type AssembleResult } from '../diagnostics/assemble';

export async function assemblePpc64ForDiagnostics(req: { file: string; text: string; endian: Endian; signal?: AbortSignal }): Promise<AssembleResult> {
  const started = Date.now();
  const source = path.resolve(req.file);
  let tool: string;
  try {
    tool = resolvePpc64Tool('as', req.endian);
  } catch (e) {
    return { diagnostics: [], command: [], toolProblem: e instanceof Error ? e.message : String(e), ms: Date.now() - started };
  }
  if (Buffer.byteLength(req.text) > MAX_SOURCE_BYTES)
    return { diagnostics: [{ file: source, line: 0, severity: 'error', tool: 'as', message: `not assembled: the text is larger than ${MAX_SOURCE_BYTES >> 20} MiB` }], command: [], ms: 0 };
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'kvm-guest-lsp-ppc64-'));
  trackTempDir(tmp);
  try {
    const copy = path.join(tmp, path.basename(source));
    await fs.promises.writeFile(copy, `# 1 "${source.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n${req.text}`);
    const argv = ppc64AssembleArgv(tool, req.endian, path.join(tmp, 'diagnostics.o'), copy);
    const r = await runProcess(argv, { cwd: tmp, env: toolEnv(), signal: req.signal, timeoutMs: LIVE_TIMEOUT_MS, maxMemoryBytes: LIVE_MAX_MEMORY_BYTES });
    const diagnostics: BuildDiagnostic[] = parseAssemblerOutput(r.stderr, { cwd: tmp, source }).map((d) =>
      d.file === copy ? { ...d, file: source, line: Math.max(0, d.line - 1) } : d);
    if (r.code !== 0 && !diagnostics.some((d) => d.severity === 'error')) {
      const detail = r.stderr.split('\n').find((l) => l.trim() !== '')?.trim();
      diagnostics.push({ file: source, line: 0, severity: 'error', tool: 'as', message: `${path.basename(tool)} failed${detail ? `: ${detail}` : ''}` });
    }
    return { diagnostics, command: argv, ms: Date.now() - started };
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    untrackTempDir(tmp);
  }
}
