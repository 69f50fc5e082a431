// Back-to-back fast failures never crash. A vCPU worker is pre-started while the guest builds (CLI)
// or at initialize (adapter); when the run fails at once, the worker is disposed of while it may
// still be booting, and terminating it mid-boot aborted the whole process (SIGABRT in koffi, exit
// 134) in ~3% of runs. Every one of these runs must end normally.
//
// Counts: the issue asks for 1,000 runs; one CLI run costs ~0.2 s, so 1,000 would take minutes.
// Runs go one at a time: measured with the fix reverted, serial runs abort in ~2-3% of cases,
// two at a time in well under 1% (the race needs the main thread and the booting worker to run
// side by side). 150 serial CLI runs (~30 s) miss a 2.5% failure with probability ~2%; the 80
// adapter sessions (~20 s) wait 0-59 ms (a sweep, not a timing check) between initialize, which
// pre-starts the worker, and disconnect, which disposes of it: with the fix reverted ~5% of them
// abort, so they miss it with probability ~2%, and the two together almost never.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI } from '../helpers/cli';
import { MessageStream, send } from '../helpers/stdio-rpc';
import { exitOf, tempDir } from './helpers';

const CLI_RUNS = 150;
const DAP_SESSIONS = 80;
const PARALLEL = 1;

/** Runs `job(i)` for i in 0..n-1, `parallel` at a time; collects every failure instead of stopping. */
async function pool(n: number, parallel: number, job: (i: number) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        await job(i);
      } catch (e) {
        failures.push(`#${i}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return failures;
}

describe('robustness: back-to-back fast failures', function () {
  this.timeout(180000);
  this.slow(60000);
  let dir: string;
  before(() => {
    dir = tempDir('kvm-robust-fast-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`${CLI_RUNS} × kvm-guest run broken.S --json: every one exits 2 with one JSON object, none aborts`, async function () {
    const failures = await pool(CLI_RUNS, PARALLEL, async (i) => {
      // Each run its own folder: two runs at once must not share build outputs.
      const src = path.join(dir, `run${i}`, 'broken.S');
      fs.mkdirSync(path.dirname(src));
      fs.writeFileSync(src, '.code64\n.globl _start\n_start:\n    frobnicate %eax\n    hlt\n');
      const child = spawn(process.execPath, [CLI, 'run', src, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const { code, signal } = await exitOf(child);
      if (code !== 2 || signal !== null) throw new Error(`exit ${code} signal ${signal}; stderr: ${stderr.slice(0, 500)}`);
      const lines = stdout.split('\n').filter((l) => l !== '');
      if (lines.length !== 1) throw new Error(`stdout has ${lines.length} lines: ${stdout.slice(0, 500)}`);
      const json = JSON.parse(lines[0]);
      if (json.outcome !== 'build-error' || !/no such instruction/.test(json.message)) throw new Error(`unexpected object: ${lines[0].slice(0, 300)}`);
    });
    assert.deepEqual(failures, [], `${failures.length} of ${CLI_RUNS} runs failed`);
  });

  it(`${DAP_SESSIONS} × adapter initialize → (0-59 ms) → disconnect: every session answers and exits 0`, async function () {
    const failures = await pool(DAP_SESSIONS, PARALLEL, async (i) => {
      const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = exitOf(child);
      try {
        const stream = new MessageStream(child);
        send(child, { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
        const init = await stream.waitFor('the initialize response', (m) => m.command === 'initialize');
        if (init.success !== true) throw new Error(`initialize failed: ${init.message}`);
        // Disconnect at a different moment of the worker's boot each time.
        await new Promise((r) => setTimeout(r, i % 60));
        send(child, { seq: 2, type: 'request', command: 'disconnect', arguments: {} });
        const disc = await stream.waitFor('the disconnect response', (m) => m.command === 'disconnect');
        if (disc.success !== true) throw new Error(`disconnect failed: ${disc.message}`);
      } finally {
        child.stdin!.end();
      }
      const { code, signal } = await exited;
      if (code !== 0 || signal !== null) throw new Error(`exit ${code} signal ${signal}; stderr: ${stderr.slice(0, 500)}`);
    });
    assert.deepEqual(failures, [], `${failures.length} of ${DAP_SESSIONS} sessions failed`);
  });
});
