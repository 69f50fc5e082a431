// Toolchain processes never outlive their owner. Each build below blocks inside cc1 (an include of
// a FIFO nobody writes, named through a macro so no up-front check sees it); then the owner is
// stopped every way it can be — Ctrl-C/SIGTERM of the CLI, end of the adapter's input, language
// server shutdown, exit or end of input — and no cc1 or gcc of that build may be left running
// (before, they stayed under PID 1), nor the language server's temporary folder.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI } from '../helpers/cli';
import { MessageStream, send } from '../helpers/stdio-rpc';
import { LspClient, SERVER_DIST } from '../lsp/lsp-client';
import { assembleForDiagnostics } from '../../language/diagnostics/assemble';
import { liveToolGroups, runProcess } from '../../debug-adapter/toolchain/process';
import { blockingSource, exitOf, isCc1, killAll, processesWith, tempDir, waitUntil } from './helpers';

describe('robustness: toolchain processes die with their owner', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir('kvm-robust-pg-');
  });
  afterEach(() => {
    killAll(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const noneLeft = async (marker: string): Promise<void> => {
    // The group is killed synchronously at exit; give the kernel a moment to deliver SIGKILL.
    await waitUntil(`no process of the build left (${marker})`, () => processesWith(marker).length === 0, 10000).catch(() => undefined);
    assert.deepEqual(processesWith(marker).map((p) => p.cmdline), [], 'toolchain processes outlived their owner');
  };

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`kvm-guest run --json: ${sig} during the build exits 130 with one "interrupted" object and kills gcc and cc1`, async function () {
      const { source } = blockingSource(dir);
      const tmp = path.join(dir, 'tmp');
      fs.mkdirSync(tmp);
      const child = spawn(process.execPath, [CLI, 'run', source, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitUntil('cc1 blocked on the FIFO', () => processesWith(dir).some(isCc1));
      child.kill(sig);
      const { code, signal } = await exitOf(child);
      assert.equal(signal, null, stderr);
      assert.equal(code, 130, stderr);
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1, stdout);
      const json = JSON.parse(lines[0]);
      assert.equal(json.outcome, 'interrupted');
      assert.match(json.message, new RegExp(`interrupted \\(${sig}\\)`));
      await noneLeft(dir);
      assert.deepEqual(fs.readdirSync(tmp), [], 'temporary files left behind');
    });
  }

  it('kvm-guest build: Ctrl-C exits 130 and kills the tools', async function () {
    const { source } = blockingSource(dir);
    const child = spawn(process.execPath, [CLI, 'build', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitUntil('cc1 blocked on the FIFO', () => processesWith(dir).some(isCc1));
    child.kill('SIGINT');
    const { code } = await exitOf(child);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted \(SIGINT\)/);
    await noneLeft(dir);
  });

  it('debug adapter: the end of its input during a launch build ends it and the build', async function () {
    const { source } = blockingSource(dir);
    const tmp = path.join(dir, 'tmp');
    fs.mkdirSync(tmp);
    const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    const stream = new MessageStream(child);
    send(child, { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
    await stream.waitFor('the initialize response', (m) => m.command === 'initialize');
    send(child, { seq: 2, type: 'request', command: 'launch', arguments: { program: source } });
    await waitUntil('cc1 blocked on the FIFO', () => processesWith(dir).some(isCc1));
    child.stdin!.end();
    await exitOf(child);
    await noneLeft(dir);
    assert.deepEqual(fs.readdirSync(tmp), [], 'temporary files left behind');
  });

  it('debug adapter: SIGTERM during a launch build ends it and the build', async function () {
    const { source } = blockingSource(dir);
    const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stream = new MessageStream(child);
    send(child, { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
    await stream.waitFor('the initialize response', (m) => m.command === 'initialize');
    send(child, { seq: 2, type: 'request', command: 'launch', arguments: { program: source } });
    await waitUntil('cc1 blocked on the FIFO', () => processesWith(dir).some(isCc1));
    child.kill('SIGTERM');
    await exitOf(child);
    await noneLeft(dir);
  });

  describe('language server', function () {
    let tmp: string;
    let client: LspClient | undefined;
    beforeEach(() => {
      tmp = tempDir('kvm-robust-lsp-tmp-');
    });
    afterEach(async () => {
      if (client && !client.exited) client.child.kill('SIGKILL');
      client = undefined;
      killAll(tmp);
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** A server (the bundle) whose temporary folders go to `tmp`, assembling the blocking source. */
    const blockedServer = async (): Promise<LspClient> => {
      const { source, text } = blockingSource(dir);
      client = await LspClient.start({ server: SERVER_DIST, root: dir, env: { TMPDIR: tmp }, initializationOptions: { diagnosticsDelayMs: 50 } });
      await client.open(source, text, 'gas-cpp');
      // cc1 runs on the copy of the unsaved text in the server's temporary folder.
      await waitUntil('cc1 of the live diagnostics', () => processesWith(tmp).some(isCc1));
      assert.equal(fs.readdirSync(tmp).filter((n) => n.startsWith('kvm-guest-lsp-')).length, 1);
      return client;
    };
    const noTempLeft = (): void => assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('kvm-guest-lsp-')), [], 'temporary folders left behind');

    it('end of input: the server exits, the assembler run is killed, its temporary folder removed', async function () {
      const c = await blockedServer();
      c.child.stdin!.end();
      await exitOf(c.child);
      await noneLeft(tmp);
      assert.deepEqual(fs.readdirSync(tmp), [], 'temporary folders left behind');
    });

    it('shutdown: the assembler run is killed at once; exit then ends the server', async function () {
      const c = await blockedServer();
      await c.request('shutdown');
      await noneLeft(tmp);
      await waitUntil('the temporary folder removed', () => fs.readdirSync(tmp).every((n) => !n.startsWith('kvm-guest-lsp-')), 10000).catch(() => undefined);
      noTempLeft();
      void c.conn.sendNotification('exit');
      await exitOf(c.child);
      assert.deepEqual(fs.readdirSync(tmp), [], 'temporary folders left behind');
    });

    it('SIGTERM: the server exits and kills the assembler run', async function () {
      const c = await blockedServer();
      c.child.kill('SIGTERM');
      await exitOf(c.child);
      await noneLeft(tmp);
      assert.deepEqual(fs.readdirSync(tmp), [], 'temporary folders left behind');
    });
  });
});

describe('robustness: tool limits (live diagnostics)', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir('kvm-robust-limits-');
  });
  afterEach(() => {
    killAll(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a run that blocks is stopped by its time limit, as a group, with a message', async function () {
    const { source, text } = blockingSource(dir);
    const r = await assembleForDiagnostics({ file: source, text, mode: 'long', timeoutMs: 1000 });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(errors.length, 1, JSON.stringify(r.diagnostics));
    assert.match(errors[0].message, /was stopped: it ran longer than 1 s/);
    assert.equal(processesWith(dir).length, 0);
    assert.equal(liveToolGroups(), 0);
  });

  it('#include of /dev/zero through a macro is stopped by the memory limit', async function () {
    const source = path.join(dir, 'zero.S');
    const text = '.code64\n#define Z "/dev/zero"\n#include Z\n';
    fs.writeFileSync(source, text);
    const r = await assembleForDiagnostics({ file: source, text, mode: 'long', maxMemoryBytes: 64 * 1024 * 1024, timeoutMs: 30000 });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(errors.length, 1, JSON.stringify(r.diagnostics));
    assert.match(errors[0].message, /was stopped: it used more than 64 MiB of memory/);
    assert.equal(liveToolGroups(), 0);
  });

  it('output beyond the cap is not kept, and the tool is stopped', async function () {
    const r = await runProcess(['/bin/sh', '-c', 'while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done'], { maxOutputBytes: 1024 * 1024 });
    assert.equal(r.stdout.length, 1024 * 1024);
    assert.match(r.limit ?? '', /wrote more than 1 MiB on stdout/);
  });

  it('an abort kills the whole group (children included) before the promise settles', async function () {
    const sleeps = `sleep ${31000 + process.pid % 1000}`; // unique to this test process
    const ac = new AbortController();
    const run = runProcess(['/bin/sh', '-c', `${sleeps} & ${sleeps} & wait`], { signal: ac.signal });
    try {
      await waitUntil('both children of the shell', () => processesWith(sleeps).length === 3); // sh -c … and two sleeps
      ac.abort();
      await assert.rejects(run, { name: 'AbortError' });
      assert.deepEqual(processesWith(sleeps), []);
      assert.equal(liveToolGroups(), 0);
    } finally {
      killAll(sleeps);
    }
  });
});
