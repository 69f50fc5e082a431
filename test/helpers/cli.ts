// Runs the real `kvm-guest` command (the esbuild bundle behind bin/kvm-guest.js) as a child process.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import type { RunResult } from '../../debug-adapter/cli';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'bin', 'kvm-guest.js');
export const guest = (...parts: string[]): string => path.join(ROOT, 'guests', ...parts);

export type RunJson = RunResult;

/** `input`: what the guest gets on standard input (default: nothing, end of input at once). */
export function cli(args: string[], opts: { timeoutMs?: number; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 60000, input: opts.input ?? '' });
}

/** `kvm-guest run … --json`: the parsed object and the exit status. */
export function runJson(args: string[], opts: { input?: string } = {}): { status: number | null; json: RunJson; stderr: string } {
  const r = cli(['run', ...args, '--json'], opts);
  let json: RunJson;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not one JSON object (status ${r.status}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
  return { status: r.status, json, stderr: r.stderr };
}
