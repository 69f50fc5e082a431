// Locating the GNU tools a guest build needs, and saying what to install when one is missing.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CpuMode } from './modes';
import { runProcess, toolEnv, trackTempDir, untrackTempDir } from './process';

export type ToolName = 'as' | 'ld' | 'gcc' | 'objcopy';
export type ToolOverrides = Partial<Record<ToolName, string>>;

export const TOOL_NAMES: readonly ToolName[] = Object.freeze(['as', 'ld', 'gcc', 'objcopy'] as const);

/** The Debian package that provides each tool. */
export const TOOL_PACKAGES: Readonly<Record<ToolName, string>> = Object.freeze({
  as: 'binutils',
  ld: 'binutils',
  objcopy: 'binutils',
  gcc: 'gcc',
});

/** Environment variables that override a tool (a path, or a name looked up on PATH). */
export const TOOL_ENV_VARS: Readonly<Record<ToolName, string>> = Object.freeze({
  as: 'KVM_GUEST_AS',
  ld: 'KVM_GUEST_LD',
  gcc: 'KVM_GUEST_GCC',
  objcopy: 'KVM_GUEST_OBJCOPY',
});

const TOOL_TITLES: Readonly<Record<ToolName, string>> = {
  as: 'the GNU assembler',
  ld: 'the GNU linker',
  gcc: 'the GNU C compiler',
  objcopy: 'GNU objcopy',
};

export type ToolchainProblem = 'missing' | 'multilib';

/** The build environment lacks something: the message names the tool and what to install. */
export class ToolchainError extends Error {
  constructor(
    message: string,
    readonly tool: ToolName,
    readonly debianPackage: string,
    readonly problem: ToolchainProblem = 'missing',
  ) {
    super(message);
    this.name = 'ToolchainError';
  }
}

function installHint(pkg: string): string {
  return `install the Debian package "${pkg}" (sudo apt-get install ${pkg})`;
}

export function missingToolError(tool: ToolName, where: string): ToolchainError {
  const pkg = TOOL_PACKAGES[tool];
  return new ToolchainError(`${tool} (${TOOL_TITLES[tool]}) ${where}; ${installHint(pkg)}`, tool, pkg);
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable called `name` on the PATH, if any. */
export function findOnPath(name: string, pathEnv: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (pathEnv ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Absolute path of `tool`: from `overrides`, else the KVM_GUEST_<TOOL> environment variable,
 * else the PATH. An override containing a slash is a path, otherwise a name to look up.
 * Throws a ToolchainError when nothing executable is found.
 */
export function resolveTool(tool: ToolName, overrides: ToolOverrides = {}, env: NodeJS.ProcessEnv = process.env): string {
  const fromOption = overrides[tool];
  const envVar = TOOL_ENV_VARS[tool];
  const fromEnv = env[envVar];
  const wanted = fromOption ?? (fromEnv ? fromEnv : undefined);
  const origin = fromOption !== undefined ? `the "${tool}" tool override` : envVar;
  if (wanted !== undefined) {
    if (wanted.includes('/')) {
      const file = path.resolve(wanted);
      if (isExecutableFile(file)) return file;
      throw missingToolError(tool, `was not found at ${file} (given by ${origin})`);
    }
    const found = findOnPath(wanted, env.PATH);
    if (found) return found;
    throw missingToolError(tool, `"${wanted}" (given by ${origin}) was not found on PATH`);
  }
  const found = findOnPath(tool, env.PATH);
  if (found) return found;
  throw missingToolError(tool, 'was not found on PATH');
}

export interface ToolVersion {
  tool: ToolName;
  debianPackage: string;
  /** Absolute path, when found. */
  path?: string;
  /** First line of `<tool> --version`, when it ran. */
  version?: string;
  /** Why there is no version (not found, failed to run). */
  problem?: string;
}

/** First line of `--version` for every tool (for `kvm-guest info`); never throws for a missing tool. */
export async function toolVersions(overrides: ToolOverrides = {}): Promise<ToolVersion[]> {
  return Promise.all(
    TOOL_NAMES.map(async (tool): Promise<ToolVersion> => {
      const base: ToolVersion = { tool, debianPackage: TOOL_PACKAGES[tool] };
      let file: string;
      try {
        file = resolveTool(tool, overrides);
      } catch (e) {
        return { ...base, problem: e instanceof Error ? e.message : String(e) };
      }
      try {
        const r = await runProcess([file, '--version']);
        const first = (r.stdout || r.stderr).split('\n').find((l) => l.trim() !== '');
        if (r.code === 0 && first) return { ...base, path: file, version: first.trim() };
        return { ...base, path: file, problem: `${file} --version exited with code ${r.code ?? r.signal}` };
      } catch (e) {
        return { ...base, path: file, problem: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

/** gcc's target flag for C code of each mode. */
export function gccModeFlags(mode: CpuMode): string[] {
  switch (mode) {
    case 'real':
      return ['-m16'];
    case 'protected':
    case 'paged32':
      return ['-m32'];
    case 'long':
      return ['-m64', '-mno-red-zone', '-mcmodel=small'];
  }
}

/**
 * Compiles a tiny freestanding C file for `mode`. Throws a ToolchainError (gcc-multilib) when
 * gcc cannot do it for -m16/-m32: then no guest C source can be built for that mode.
 */
export async function checkGccMode(mode: CpuMode, overrides: ToolOverrides = {}, signal?: AbortSignal): Promise<void> {
  const gcc = resolveTool('gcc', overrides);
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'kvm-guest-probe-'));
  trackTempDir(dir);
  try {
    const r = await runProcess(
      [gcc, '-x', 'c', '-c', '-ffreestanding', '-nostdlib', ...gccModeFlags(mode), '-o', path.join(dir, 'probe.o'), '-'],
      { env: toolEnv(), signal, input: '#include <stdint.h>\n#include <stddef.h>\nuint32_t kvm_guest_probe(size_t n) { return (uint32_t)n; }\n' },
    );
    if (r.code === 0) return;
    const detail = r.stderr.split('\n').find((l) => l.trim() !== '') ?? `exit code ${r.code ?? r.signal}`;
    if (mode === 'long') {
      throw new ToolchainError(`gcc cannot compile 64-bit freestanding C (${detail.trim()}); ${installHint('gcc')}`, 'gcc', 'gcc');
    }
    throw new ToolchainError(
      `gcc cannot compile ${mode === 'real' ? '16' : '32'}-bit freestanding C (${detail.trim()}); ${installHint('gcc-multilib')}`,
      'gcc',
      'gcc-multilib',
      'multilib',
    );
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
    untrackTempDir(dir);
  }
}
