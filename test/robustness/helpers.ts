// Shared by the robustness tests: temporary folders, waiting without timing assertions, and
// finding the toolchain processes a test started (by a marker in their command line, via /proc).
import { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Pids of live (not zombie) processes whose command line contains `marker`. */
export function processesWith(marker: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ');
      if (!cmdline.includes(marker)) continue;
      const state = /\) (\S)/.exec(fs.readFileSync(`/proc/${name}/stat`, 'latin1'))?.[1];
      if (state === 'Z' || state === 'X') continue;
      found.push({ pid: Number(name), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Polls `check` until it returns a value; fails after a generous `ms` (a hang, not a timing check). */
export async function waitUntil<T>(what: string, check: () => T | undefined | false, ms = 20000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The exit of `child`, or a failure when it has not exited within `ms` (it hangs). */
export function exitOf(child: ChildProcess, ms = 20000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process did not exit within ${ms} ms`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

/** Kills whatever is left of the processes a test started (cleanup only; asserted elsewhere). */
export function killAll(marker: string): void {
  for (const p of processesWith(marker)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * A `.S` source whose preprocessing blocks in cc1 for as long as the test wants: it includes a
 * FIFO nobody writes, named through a macro (so no up-front check can see it; only the tool
 * limits and the process-group handling stop it). cc1's command line names the source.
 */
export function blockingSource(dir: string, name = 'slow.S'): { source: string; fifo: string; text: string } {
  const fifo = path.join(dir, 'never-written.fifo');
  if (!fs.existsSync(fifo)) {
    // mkfifo(1) is coreutils; Node has no mkfifo.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('node:child_process').execFileSync('mkfifo', [fifo]);
  }
  const text = `.code64\n#define BLOCKED "${fifo}"\n#include BLOCKED\nhlt\n`;
  const source = path.join(dir, name);
  fs.writeFileSync(source, text);
  return { source, fifo, text };
}

export const isCc1 = (p: { cmdline: string }): boolean => /(^|\/)cc1(plus)? /.test(p.cmdline);
