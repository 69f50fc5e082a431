// Runs one tool without a shell (argument arrays only) and collects its output.

import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Written to the tool's stdin, which is closed afterwards. */
  input?: string;
}

/** Environment for the GNU tools: C locale so quotes and messages are plain ASCII English. */
export function toolEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, LC_ALL: 'C', LANG: 'C' };
  delete env.LANGUAGE;
  delete env.GCC_COLORS;
  return env;
}

/**
 * Spawns argv[0] with argv[1..]. Rejects only when the program cannot be started (the error's
 * `code` is e.g. ENOENT) or when `signal` aborts (an AbortError); a failing tool resolves with
 * its exit code.
 */
export function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (argv.length === 0) {
      reject(new Error('runProcess: empty command'));
      return;
    }
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? toolEnv(),
      signal: options.signal,
      shell: false,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let settled = false;
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
    child.on('close', (code, sig) => {
      if (settled) return;
      settled = true;
      resolve({
        code,
        signal: sig,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the tool may exit before reading everything
      child.stdin.end(options.input);
    }
  });
}
