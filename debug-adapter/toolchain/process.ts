// Runs one tool without a shell (argument arrays only) and collects its output.
//
// Every tool runs in its own process group (spawned detached) and is stopped as a group, so the
// programs it starts itself (gcc's cc1, as, collect2) never outlive it: on abort, on a limit, when
// the tool exits leaving children behind, and when this process exits (process.exit, or a signal
// whose handler exits). Limits are checked by a watchdog here rather than by the kernel (no
// setrlimit from Node; a `prlimit`/`sh -c ulimit` wrapper would change the command line users see
// and depend on the wrapper): a time limit, a cap on the output kept in memory, and a cap on the
// resident memory of the tool and its descendants, read from /proc (this project is Linux-only).
// The memory cap is what stops `#include "/dev/zero"`: cc1 reads an include to its end before
// preprocessing it, so it grows by hundreds of MB a second and writes nothing. Tools get a private
// TMPDIR, removed at exit, for the intermediate files of a gcc that is killed.

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ProcessResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when a limit stopped the tool: what was exceeded, as a phrase ("ran longer than 20 s"). */
  limit?: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Written to the tool's stdin, which is closed afterwards. */
  input?: string;
  /** Stop the tool (its whole process group) after this many milliseconds. Default: no limit. */
  timeoutMs?: number;
  /** Stop it when the tool and its descendants hold more resident memory than this. */
  maxMemoryBytes?: number;
  /** Stop it when it writes more than this on stdout or on stderr (nothing beyond is kept). */
  maxOutputBytes?: number;
}

const MiB = 1024 * 1024;
/** Defaults for every tool run: far beyond what a guest build needs. */
export const DEFAULT_MAX_MEMORY_BYTES = 2048 * MiB;
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * MiB;
/** How often the watchdog reads the tools' memory use. */
const WATCH_INTERVAL_MS = 100;
/** After SIGTERM, how long a group gets before SIGKILL. */
const KILL_GRACE_MS = 1500;

/** Environment for the GNU tools: C locale so quotes and messages are plain ASCII English. */
export function toolEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, LC_ALL: 'C', LANG: 'C' };
  delete env.LANGUAGE;
  delete env.GCC_COLORS;
  return env;
}

// ---- process groups and temporary folders that must not outlive this process ---------------

/** Process group ids (= the leader's pid) of tools still running. */
const liveGroups = new Set<number>();
/** Temporary folders to remove when this process exits. */
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers run on process.exit() and on a normal end; only synchronous work is possible.
  process.on('exit', cleanUpNow);
}

/** Kills every tool still running and removes the registered temporary folders (synchronous). */
export function cleanUpNow(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
  for (const dir of liveTempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // nothing more to do at exit
    }
  }
  liveTempDirs.clear();
}

/** Registers a temporary folder to be removed at exit if its owner has not removed it by then. */
export function trackTempDir(dir: string): void {
  installExitHook();
  liveTempDirs.add(dir);
}

export function untrackTempDir(dir: string): void {
  liveTempDirs.delete(dir);
}

let toolTmp: string | undefined;

/**
 * The TMPDIR every tool runs with: one folder per process, removed at exit. gcc keeps its
 * intermediate files (/tmp/cc*.s) there, and a gcc killed at exit cannot remove them itself.
 */
export function toolTempDir(): string {
  if (toolTmp === undefined || !fs.existsSync(toolTmp)) {
    toolTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-guest-tools-'));
    trackTempDir(toolTmp);
  }
  return toolTmp;
}

/** Number of tool process groups still running (for tests). */
export function liveToolGroups(): number {
  return liveGroups.size;
}

function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // ESRCH: the group is gone
  }
}

/** Resident memory of `pid` and all its descendants (Linux /proc), in bytes; 0 when unreadable. */
export function treeResidentBytes(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      // statm: size resident shared … in pages (4 KiB on x86-64).
      const statm = fs.readFileSync(`/proc/${p}/statm`, 'latin1').split(' ');
      total += Number(statm[1]) * 4096;
    } catch {
      continue;
    }
    let children = '';
    try {
      for (const tid of fs.readdirSync(`/proc/${p}/task`)) children += ' ' + fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'latin1');
    } catch {
      // gone, or a kernel without CONFIG_PROC_CHILDREN: the tool itself still counts
    }
    for (const c of children.split(/\s+/)) if (c) stack.push(Number(c));
  }
  return total;
}

function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

function formatBytes(n: number): string {
  return n >= 1024 * MiB && n % (1024 * MiB) === 0 ? `${n / (1024 * MiB)} GiB` : `${Math.round(n / MiB)} MiB`;
}

/**
 * Spawns argv[0] with argv[1..]. Rejects only when the program cannot be started (the error's
 * `code` is e.g. ENOENT) or when `signal` aborts (an AbortError, once the tool's group has been
 * stopped); a failing tool resolves with its exit code, a tool stopped by a limit with `limit` set.
 */
export function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (argv.length === 0) {
      reject(new Error('runProcess: empty command'));
      return;
    }
    if (options.signal?.aborted) {
      reject(abortError(options.signal));
      return;
    }
    installExitHook();
    const maxMemory = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
    const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd: options.cwd,
        env: { ...(options.env ?? toolEnv()), TMPDIR: toolTempDir() },
        shell: false,
        detached: true, // its own process group: killed as one, and not by the terminal's Ctrl-C
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      reject(e);
      return;
    }
    const pgid = child.pid;
    if (pgid !== undefined) liveGroups.add(pgid);

    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const size = { out: 0, err: 0 };
    let limit: string | undefined;
    let aborted = false;
    let settled = false;
    let exited = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const stop = (): void => {
      if (pgid === undefined || exited) return;
      killGroup(pgid, 'SIGTERM');
      graceTimer ??= setTimeout(() => killGroup(pgid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const stopFor = (why: string): void => {
      if (limit !== undefined || aborted) return;
      limit = why;
      stop();
    };
    const collect = (chunks: Buffer[], which: 'out' | 'err', b: Buffer): void => {
      if (size[which] >= maxOutput) return;
      size[which] += b.length;
      chunks.push(size[which] > maxOutput ? b.subarray(0, b.length - (size[which] - maxOutput)) : b);
      if (size[which] >= maxOutput) stopFor(`wrote more than ${formatBytes(maxOutput)} on ${which === 'out' ? 'stdout' : 'stderr'}`);
    };
    child.stdout?.on('data', (b: Buffer) => collect(out, 'out', b));
    child.stderr?.on('data', (b: Buffer) => collect(err, 'err', b));

    const timeout = options.timeoutMs !== undefined
      ? setTimeout(() => stopFor(`ran longer than ${Math.round(options.timeoutMs! / 100) / 10} s`), options.timeoutMs)
      : undefined;
    const watchdog = pgid !== undefined && maxMemory !== Infinity
      ? setInterval(() => {
        if (treeResidentBytes(pgid) > maxMemory) stopFor(`used more than ${formatBytes(maxMemory)} of memory`);
      }, WATCH_INTERVAL_MS)
      : undefined;
    const onAbort = (): void => {
      if (aborted) return;
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finishTimers = (): void => {
      if (timeout) clearTimeout(timeout);
      if (watchdog) clearInterval(watchdog);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('exit', () => {
      exited = true;
      if (graceTimer) clearTimeout(graceTimer);
      finishTimers();
      if (pgid !== undefined) {
        // Whatever the tool left running in its group (its children, when it was killed) goes too.
        killGroup(pgid, 'SIGKILL');
        liveGroups.delete(pgid);
      }
    });
    child.on('error', (e) => {
      finishTimers();
      if (pgid !== undefined) liveGroups.delete(pgid);
      if (settled) return;
      settled = true;
      reject(e);
    });
    child.on('close', (code, sig) => {
      if (settled) return;
      settled = true;
      if (aborted && options.signal) {
        reject(abortError(options.signal));
        return;
      }
      resolve({
        code,
        signal: sig,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(limit !== undefined ? { limit } : {}),
      });
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the tool may exit before reading everything
      child.stdin.end(options.input);
    }
  });
}
