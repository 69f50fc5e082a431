// Builds one guest source (.S, .s or .c) for one CPU mode: compile or assemble, link with the
// mode's script from guests/ld/, and for real mode make the flat image the VMM loads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BuildDiagnostic,
  DiagnosticContext,
  firstError,
  formatDiagnostic,
  parseAssemblerOutput,
  parseCompilerOutput,
  parseLinkerOutput,
  parseObjcopyOutput,
} from './diagnostics';
import { includeProblem, IncludeSyntax, inputFileProblem } from './input-files';
import { ldEmulationFor, linkerScriptFor } from './linker-scripts';
import { CpuMode, detectModeDetails, isCpuMode, modeBitness, CPU_MODES } from './modes';
import { guestIncludeDir } from './package-root';
import { ProcessResult, runProcess, toolEnv } from './process';
import { checkGccMode, gccModeFlags, missingToolError, resolveTool, ToolName, ToolOverrides } from './tools';

export interface BuildOptions {
  source: string;
  mode: CpuMode;
  /** Default: a `build/` folder next to the source. */
  outDir?: string;
  /** Searched after the source's folder and guests/include. */
  includePaths?: string[];
  /** -D NAME=VALUE for .S/.c (an empty value gives -D NAME); --defsym NAME=VALUE for .s. */
  defines?: Record<string, string>;
  tools?: ToolOverrides;
  /** Aborting kills the running tool; buildGuest then rejects with the AbortError. */
  signal?: AbortSignal;
  /** Extra flags for gcc (.S/.c) or as (.s), after ours, e.g. ['-Wall']. */
  extraFlags?: string[];
}

export type BuildResult =
  | { ok: true; elf: string; flat?: string; mode: CpuMode; diagnostics: BuildDiagnostic[]; commands: string[][] }
  | { ok: false; diagnostics: BuildDiagnostic[]; commands: string[][]; message: string };

export type SourceKind = 'asm-cpp' | 'asm' | 'c';

/** Which include directives reach the tools for a kind of source. */
export function includeSyntaxOf(kind: SourceKind): IncludeSyntax {
  return kind === 'asm' ? 'as' : kind === 'c' ? 'cpp' : 'both';
}

/** `.S` is assembly run through the C preprocessor, `.s` plain assembly (case matters). */
export function sourceKindOf(file: string): SourceKind | undefined {
  const ext = path.extname(file);
  if (ext === '.S') return 'asm-cpp';
  if (ext === '.s') return 'asm';
  if (ext === '.c') return 'c';
  return undefined;
}

export interface BuildOutputs {
  object: string;
  elf: string;
  /** Only real mode has a flat image. */
  flat?: string;
}

/** Where buildGuest puts its outputs: `<outDir>/<basename>.<mode>.{o,elf,bin}`. */
export function buildOutputPaths(source: string, mode: CpuMode, outDir?: string): BuildOutputs {
  const src = path.resolve(source);
  const dir = path.resolve(outDir ?? path.join(path.dirname(src), 'build'));
  const stem = path.join(dir, `${path.basename(src, path.extname(src))}.${mode}`);
  return { object: `${stem}.o`, elf: `${stem}.elf`, flat: mode === 'real' ? `${stem}.bin` : undefined };
}

/** The C flags every C guest is compiled with (before the mode's target flags). */
export const C_FLAGS: readonly string[] = Object.freeze([
  '-c', '-g', '-O2', '-ffreestanding', '-fno-pic', '-fno-pie', '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables', '-fno-builtin', '-nostdlib', '-mgeneral-regs-only',
]);

/** The defines every guest sees: its mode and bitness. */
export function modeDefines(mode: CpuMode): Array<[string, string]> {
  return [
    [`KVM_GUEST_MODE_${mode.toUpperCase()}`, '1'],
    ['KVM_GUEST_BITS', String(modeBitness(mode))],
  ];
}

/**
 * The bitness an assembly source's compile step starts in. Real mode is 32-bit here too: a
 * real-mode source switches with its own `.code16`, and what precedes it is 32-bit code.
 */
export function asmStartBits(mode: CpuMode): 32 | 64 {
  return mode === 'long' ? 64 : 32;
}

/** The flag that asks for asmStartBits: `as --32/--64`, `gcc -m32/-m64`. */
export function asmBitnessFlag(kind: 'asm' | 'asm-cpp', mode: CpuMode): string {
  return `${kind === 'asm' ? '--' : '-m'}${asmStartBits(mode)}`;
}

/**
 * The compile/assemble step's command line: `as` for `.s`, gcc (cpp + as, or cc1) for `.S` and `.c`.
 * Shared with the language server's live diagnostics, so both use exactly the build's flags.
 */
export function compileArgv(o: {
  kind: SourceKind; mode: CpuMode; tool: string; includes: string[]; defines: Array<[string, string]>;
  extraFlags?: string[]; object: string; source: string;
}): string[] {
  const includes = o.includes.map((d) => `-I${d}`);
  if (o.kind === 'asm')
    return [
      o.tool, '-g', '--gdwarf-5', asmBitnessFlag(o.kind, o.mode), ...includes,
      ...o.defines.flatMap(([k, v]) => ['--defsym', `${k}=${v === '' ? '1' : v}`]), ...(o.extraFlags ?? []), '-o', o.object, o.source,
    ];
  const target = o.kind === 'c' ? [...C_FLAGS, ...gccModeFlags(o.mode)] : ['-c', '-g', asmBitnessFlag(o.kind, o.mode)];
  return [
    o.tool, ...target, '-fdiagnostics-color=never', ...includes,
    ...o.defines.map(([k, v]) => (v === '' ? `-D${k}` : `-D${k}=${v}`)), ...(o.extraFlags ?? []), '-o', o.object, o.source,
  ];
}

// A flat real-mode image is entered through one 64 KiB code segment.
const REAL_MODE_SEGMENT = 0x10000;

export async function buildGuest(opts: BuildOptions): Promise<BuildResult> {
  opts.signal?.throwIfAborted();
  const commands: string[][] = [];
  const diagnostics: BuildDiagnostic[] = [];
  const source = path.resolve(opts.source);
  const fail = (message: string): BuildResult => ({ ok: false, diagnostics, commands, message });

  if (!isCpuMode(opts.mode)) {
    return fail(`unknown CPU mode "${String(opts.mode)}": expected one of ${CPU_MODES.join(', ')}`);
  }
  const mode = opts.mode;
  const kind = sourceKindOf(source);
  if (kind === undefined) {
    return fail(
      `cannot build ${path.basename(source)}: unsupported file type "${path.extname(source) || '(none)'}"; ` +
        'a guest source is .S (assembly with the C preprocessor), .s (plain assembly) or .c (C)',
    );
  }
  // A FIFO or a device would block or never end, a huge file exhaust memory: refuse them first.
  const problem = inputFileProblem(source, 'a guest source');
  if (problem !== undefined) return fail(problem);
  let text: string;
  try {
    text = await fs.promises.readFile(source, 'utf8');
  } catch (e) {
    return fail(`cannot read ${source}: ${e instanceof Error ? e.message : String(e)}`);
  }

  // Environment problems throw (ToolchainError) before anything runs.
  const overrides = opts.tools ?? {};
  const needed: ToolName[] = [kind === 'asm' ? 'as' : 'gcc', 'ld', ...(mode === 'real' ? (['objcopy'] as const) : [])];
  const tool = Object.fromEntries(needed.map((t) => [t, resolveTool(t, overrides)])) as Partial<Record<ToolName, string>>;
  const toolPath = (t: ToolName): string => {
    const p = tool[t];
    if (p === undefined) throw missingToolError(t, 'was not resolved');
    return p;
  };

  const out = buildOutputPaths(source, mode, opts.outDir);
  await fs.promises.mkdir(path.dirname(out.elf), { recursive: true });
  // Stale outputs of an earlier build must not survive a failed one.
  await Promise.all([out.object, out.elf, out.flat].map((f) => (f ? fs.promises.rm(f, { force: true }) : undefined)));

  const cwd = path.dirname(source);
  const script = linkerScriptFor(mode);
  const ctx: DiagnosticContext = { cwd, source, objects: { [out.object]: source }, linkerScript: script };
  diagnostics.push(...modeWarnings(text, source, mode, kind));

  const run = async (argv: string[]): Promise<ProcessResult> => {
    commands.push(argv);
    try {
      return await runProcess(argv, { cwd, env: toolEnv(), signal: opts.signal });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        const name = (Object.keys(tool) as ToolName[]).find((t) => tool[t] === argv[0]) ?? 'gcc';
        throw missingToolError(name, `could not be started from ${argv[0]} (${err.code})`);
      }
      throw e;
    }
  };
  // Records a step's diagnostics; on failure returns the ok:false result.
  const step = (r: ProcessResult, parsed: BuildDiagnostic[], toolName: BuildDiagnostic['tool']): BuildResult | undefined => {
    diagnostics.push(...parsed);
    if (r.code === 0) return undefined;
    let first = r.limit === undefined ? firstError(parsed) : undefined;
    if (r.limit !== undefined) {
      first = {
        file: source, line: 0, severity: 'error', tool: toolName,
        message: `${toolName} was stopped: it ${r.limit} (does the source include a device, a FIFO or a huge file?)`,
      };
      diagnostics.push(first);
    } else if (first === undefined) {
      const detail = r.stderr.split('\n').find((l) => l.trim() !== '')?.trim();
      const how = r.code !== null ? `exited with code ${r.code}` : `was killed by ${r.signal ?? 'a signal'}`;
      first = { file: source, line: 0, severity: 'error', tool: toolName, message: `${toolName} ${how}${detail ? `: ${detail}` : ''}` };
      diagnostics.push(first);
    }
    return fail(formatDiagnostic(first, cwd));
  };

  // 1. Compile or assemble.
  const includes = [cwd, guestIncludeDir(), ...(opts.includePaths ?? []).map((p) => path.resolve(p))];
  const badInclude = includeProblem({ file: source, text, syntax: includeSyntaxOf(kind), includeDirs: includes, cwd });
  if (badInclude !== undefined) {
    const d: BuildDiagnostic = { file: badInclude.file, line: badInclude.line, severity: 'error', tool: kind === 'asm' ? 'as' : 'cpp', message: badInclude.message };
    diagnostics.push(d);
    return fail(formatDiagnostic(d, cwd));
  }
  const defines = Object.entries(opts.defines ?? {});
  const argv = compileArgv({
    kind, mode, tool: toolPath(kind === 'asm' ? 'as' : 'gcc'), includes, defines: [...modeDefines(mode), ...defines],
    extraFlags: opts.extraFlags, object: out.object, source,
  });
  if (kind === 'asm') {
    const r = await run(argv);
    const failed = step(r, parseAssemblerOutput(r.stderr, ctx), 'as');
    if (failed) return failed;
  } else {
    // .S: gcc runs cpp then as, so messages keep the original file and line, #includes too.
    const r = await run(argv);
    if (r.code !== 0 && kind === 'c' && mode !== 'long') {
      // Tell a missing gcc-multilib apart from an error in the guest (throws ToolchainError).
      await checkGccMode(mode, overrides, opts.signal);
    }
    const failed = step(r, parseCompilerOutput(r.stderr, ctx, kind === 'c' ? 'gcc' : 'cpp'), 'gcc');
    if (failed) return failed;
  }

  // 2. Link.
  {
    const argv = [
      toolPath('ld'), '-m', ldEmulationFor(mode), '-T', script,
      '-nostdlib', '--build-id=none', '-z', 'noexecstack',
      '-o', out.elf, out.object,
    ];
    const r = await run(argv);
    const failed = step(r, parseLinkerOutput(r.stderr, ctx), 'ld');
    if (failed) return failed;
  }

  // 3. Real mode: the flat image is what the VMM loads.
  if (out.flat !== undefined) {
    const argv = [toolPath('objcopy'), '-O', 'binary', out.elf, out.flat];
    const r = await run(argv);
    const failed = step(r, parseObjcopyOutput(r.stderr, ctx), 'objcopy');
    if (failed) return failed;
    const size = (await fs.promises.stat(out.flat)).size;
    if (size > REAL_MODE_SEGMENT) {
      diagnostics.push({
        file: source, line: 0, severity: 'warning', tool: 'objcopy',
        message: `the flat image is ${size} bytes: more than the 64 KiB one code segment can reach`,
      });
    }
    return { ok: true, elf: out.elf, flat: out.flat, mode, diagnostics, commands };
  }
  return { ok: true, elf: out.elf, mode, diagnostics, commands };
}

/** Warnings when the source's own mode directive or marker disagrees with the requested mode. */
function modeWarnings(text: string, source: string, mode: CpuMode, kind: SourceKind): BuildDiagnostic[] {
  const tool: BuildDiagnostic['tool'] = kind === 'c' ? 'gcc' : 'as';
  const found = detectModeDetails(text, source);
  if (found === undefined) {
    if (mode === 'real' && kind !== 'c') {
      return [{
        file: source, line: 1, severity: 'warning', tool,
        message: 'no .code16 directive: the assembler will emit 32-bit code, which a real-mode guest cannot run',
      }];
    }
    return [];
  }
  if (found.via === 'marker' ? found.mode !== mode : modeBitness(found.mode) !== modeBitness(mode)) {
    return [{
      file: source, line: found.line, severity: 'warning', tool,
      message: `building for ${mode} mode (${modeBitness(mode)}-bit), but this file says ${found.text}`,
    }];
  }
  return [];
}
