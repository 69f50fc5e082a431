// Builds a ppc64 guest (`.s`, plain GNU assembly) with the Debian cross binutils, as the PowerPC 64
// seed does: `as -mbig|-mlittle -mpower8` (plus -g for DWARF line info), then `ld -T` with the seed's
// linker script (guests/ld/ppc64.ld or ppc64le.ld: the code at 0x100). Diagnostics come out located
// (file:line) by the same parsers as the x86 build's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Endian } from './arch';
import { BuildDiagnostic, DiagnosticContext, firstError, formatDiagnostic, parseAssemblerOutput, parseLinkerOutput } from './diagnostics';
import { inputFileProblem } from './input-files';
import { guestsDir } from './package-root';
import { ProcessResult, runProcess, toolEnv } from './process';
import { findOnPath, ToolchainError } from './tools';

/** The cross tools' prefix and Debian package for each byte order. */
export const PPC64_TOOLCHAINS: Readonly<Record<Endian, { prefix: string; debianPackage: string }>> = {
  big: { prefix: 'powerpc64-linux-gnu-', debianPackage: 'binutils-powerpc64-linux-gnu' },
  little: { prefix: 'powerpc64le-linux-gnu-', debianPackage: 'binutils-powerpc64le-linux-gnu' },
};

/** The assembler flags of the seed (`-mbig`/`-mlittle -mpower8`) plus DWARF line info. */
export function ppc64AssemblerFlags(endian: Endian): string[] {
  return [endian === 'big' ? '-mbig' : '-mlittle', '-mpower8', '-g'];
}

export function ppc64LinkerScript(endian: Endian, root?: string): string {
  return path.join(guestsDir(root), 'ld', endian === 'big' ? 'ppc64.ld' : 'ppc64le.ld');
}

/** Absolute path of the cross `as` or `ld` for `endian`; a ToolchainError naming the package when missing. */
export function resolvePpc64Tool(tool: 'as' | 'ld' | 'objdump', endian: Endian, env: NodeJS.ProcessEnv = process.env): string {
  const { prefix, debianPackage } = PPC64_TOOLCHAINS[endian];
  const found = findOnPath(prefix + tool, env.PATH);
  if (found) return found;
  throw new ToolchainError(
    `${prefix}${tool} (the ${endian}-endian POWER cross ${tool === 'as' ? 'assembler' : tool === 'ld' ? 'linker' : 'objdump'}) was not found on PATH; ` +
      `install the Debian package "${debianPackage}" (sudo apt-get install ${debianPackage})`,
    tool === 'objdump' ? 'objcopy' : tool,
    debianPackage,
  );
}

export interface Ppc64BuildOptions {
  source: string;
  endian: Endian;
  outDir?: string;
  signal?: AbortSignal;
  /** Extra `as` flags after ours. */
  extraFlags?: string[];
}

export type Ppc64BuildResult =
  | { ok: true; elf: string; endian: Endian; diagnostics: BuildDiagnostic[]; commands: string[][] }
  | { ok: false; diagnostics: BuildDiagnostic[]; commands: string[][]; message: string };

/** `<outDir>/<stem>.ppc64-be.{o,elf}` (or `ppc64-le`): the two byte orders never overwrite each other. */
export function ppc64OutputPaths(source: string, endian: Endian, outDir?: string): { object: string; elf: string } {
  const src = path.resolve(source);
  const dir = path.resolve(outDir ?? path.join(path.dirname(src), 'build'));
  const stem = path.join(dir, `${path.basename(src, path.extname(src))}.ppc64-${endian === 'big' ? 'be' : 'le'}`);
  return { object: `${stem}.o`, elf: `${stem}.elf` };
}

/** The assemble step's argv, shared with the language server's live diagnostics. */
export function ppc64AssembleArgv(tool: string, endian: Endian, object: string, source: string, extraFlags: string[] = []): string[] {
  return [tool, ...ppc64AssemblerFlags(endian), ...extraFlags, '-o', object, source];
}

export async function buildPpc64Guest(opts: Ppc64BuildOptions): Promise<Ppc64BuildResult> {
  opts.signal?.throwIfAborted();
  const commands: string[][] = [];
  const diagnostics: BuildDiagnostic[] = [];
  const source = path.resolve(opts.source);
  const fail = (message: string): Ppc64BuildResult => ({ ok: false, diagnostics, commands, message });
  if (path.extname(source) !== '.s')
    return fail(`cannot build ${path.basename(source)} for ppc64: only plain assembly (.s) is built for POWER guests (the seed's form); there is no cross C compiler or preprocessor step`);
  const problem = inputFileProblem(source, 'a guest source');
  if (problem !== undefined) return fail(problem);
  // Environment problems throw (ToolchainError) before anything runs.
  const as = resolvePpc64Tool('as', opts.endian);
  const ld = resolvePpc64Tool('ld', opts.endian);
  const out = ppc64OutputPaths(source, opts.endian, opts.outDir);
  await fs.promises.mkdir(path.dirname(out.elf), { recursive: true });
  await Promise.all([out.object, out.elf].map((f) => fs.promises.rm(f, { force: true })));
  const cwd = path.dirname(source);
  const script = ppc64LinkerScript(opts.endian);
  const ctx: DiagnosticContext = { cwd, source, objects: { [out.object]: source }, linkerScript: script };
  const run = async (argv: string[]): Promise<ProcessResult> => {
    commands.push(argv);
    return runProcess(argv, { cwd, env: toolEnv(), signal: opts.signal });
  };
  const step = (r: ProcessResult, parsed: BuildDiagnostic[], tool: 'as' | 'ld'): Ppc64BuildResult | undefined => {
    diagnostics.push(...parsed);
    if (r.code === 0) return undefined;
    let first = firstError(parsed);
    if (first === undefined) {
      const detail = r.stderr.split('\n').find((l) => l.trim() !== '')?.trim();
      first = { file: source, line: 0, severity: 'error', tool, message: `${tool} failed${detail ? `: ${detail}` : ''}` };
      diagnostics.push(first);
    }
    return fail(formatDiagnostic(first, cwd));
  };
  {
    const r = await run(ppc64AssembleArgv(as, opts.endian, out.object, source, opts.extraFlags));
    const failed = step(r, parseAssemblerOutput(r.stderr, ctx), 'as');
    if (failed) return failed;
  }
  {
    const r = await run([ld, '-T', script, '-nostdlib', '--build-id=none', '-o', out.elf, out.object]);
    const failed = step(r, parseLinkerOutput(r.stderr, ctx), 'ld');
    if (failed) return failed;
  }
  return { ok: true, elf: out.elf, endian: opts.endian, diagnostics, commands };
}

/** For `kvm-guest info`: the first line of each cross assembler's --version, or what to install. */
export async function ppc64ToolVersions(): Promise<Array<{ endian: Endian; debianPackage: string; version?: string; problem?: string }>> {
  return Promise.all((['big', 'little'] as const).map(async (endian) => {
    const { debianPackage } = PPC64_TOOLCHAINS[endian];
    let as: string;
    try {
      as = resolvePpc64Tool('as', endian);
    } catch (e) {
      return { endian, debianPackage, problem: e instanceof Error ? e.message : String(e) };
    }
    try {
      const r = await runProcess([as, '--version']);
      const first = r.stdout.split('\n').find((l) => l.trim() !== '')?.trim();
      return r.code === 0 && first ? { endian, debianPackage, version: first } : { endian, debianPackage, problem: `${as} --version exited with code ${r.code ?? r.signal}` };
    } catch (e) {
      // As toolVersions: `info` reports what it cannot run, it does not fail on it.
      return { endian, debianPackage, problem: e instanceof Error ? e.message : String(e) };
    }
  }));
}
