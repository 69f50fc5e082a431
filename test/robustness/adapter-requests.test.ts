// The debug adapter answers whatever a client sends, through the real `kvm-guest dap` process:
// requests without arguments or out of order get a response or a specific error, messages that are
// not JSON are skipped with a line on stderr, the DAP trace (KVM_GUEST_DAP_LOG) is written, and the
// adapter does not keep every message in memory (the logger queue drains after start).
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI } from '../helpers/cli';
import { MessageStream, send } from '../helpers/stdio-rpc';
import { tempDir } from './helpers';

interface Adapter {
  child: ChildProcess;
  stream: MessageStream;
  stderr: () => string;
  request(seq: number, command: string, args?: unknown): Promise<Record<string, any>>;
}

function startAdapter(env: Record<string, string> = {}): Adapter {
  const child = spawn(process.execPath, [CLI, 'dap'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stream = new MessageStream(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return {
    child, stream, stderr: () => err,
    async request(seq, command, args) {
      send(child, args === undefined ? { seq, type: 'request', command } : { seq, type: 'request', command, arguments: args });
      return stream.waitFor(`the response to ${command} #${seq}`, (m) => m.type === 'response' && m.request_seq === seq);
    },
  };
}

async function end(a: Adapter): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => a.child.once('exit', (code) => resolve(code)));
  if (a.child.exitCode === null) a.child.stdin!.end();
  return exited;
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('debug adapter: whatever a client sends', function () {
  this.timeout(120000);

  it('answers requests without arguments, before initialize, and a second launch, each specifically', async function () {
    const a = startAdapter();
    try {
      const early = await a.request(1, 'launch');
      assert.equal(early.success, false);
      assert.match(early.message, /'launch' before 'initialize': a client must send 'initialize' first/);
      const init = await a.request(2, 'initialize');
      assert.equal(init.success, true, init.message);
      assert.equal(init.body.supportsConfigurationDoneRequest, true);
      const noArgs = await a.request(3, 'launch');
      assert.equal(noArgs.success, false);
      assert.match(noArgs.message, /launch needs "program"/);
      const threads = await a.request(4, 'threads');
      assert.equal(threads.success, true, 'the session goes on');
    } finally {
      assert.equal(await end(a), 0);
    }
    assert.doesNotMatch(a.stderr(), /internal error/);
  });

  it('skips a message that is not JSON, or a null body, says so on stderr, and keeps answering', async function () {
    const a = startAdapter();
    try {
      for (const body of ['{"seq":1,"ty', 'null']) a.child.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const init = await a.request(2, 'initialize', { adapterID: 'kvm-guest' });
      assert.equal(init.success, true);
    } finally {
      assert.equal(await end(a), 0);
    }
    assert.match(a.stderr(), /kvm-guest dap: Error handling data: .*JSON.*; the message was skipped/);
    assert.match(a.stderr(), /kvm-guest dap: Error handling data: .*null.*; the message was skipped/);
  });

  it('writes the DAP trace to KVM_GUEST_DAP_LOG, and not into the Debug Console', async function () {
    const dir = tempDir('dap-log-');
    const log = path.join(dir, 'trace.txt');
    const a = startAdapter({ KVM_GUEST_DAP_LOG: log });
    try {
      await a.request(1, 'initialize', { adapterID: 'kvm-guest' });
      await a.request(2, 'threads');
    } finally {
      await end(a);
    }
    const text = fs.readFileSync(log, 'utf8');
    assert.match(text, /From client: initialize\(/);
    assert.match(text, /To client: .*"command":"threads"/);
    assert.ok(!a.stream.messages.some((m) => m.event === 'output' && /From client/.test(m.body?.output ?? '')), 'no trace lines as output events');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('does not keep the messages it handled: 200 evaluate requests of 1 MB each leave its memory flat', async function () {
    const a = startAdapter();
    try {
      await a.request(1, 'initialize', { adapterID: 'kvm-guest' });
      const big = 'x'.repeat(1 << 20);
      for (let i = 0; i < 20; i++) await a.request(2 + i, 'evaluate', { expression: big, context: 'repl' });
      if (global.gc) global.gc();
      const before = rssKiB(a.child.pid!);
      for (let i = 0; i < 200; i++) await a.request(100 + i, 'evaluate', { expression: big, context: 'repl' });
      const after = rssKiB(a.child.pid!);
      // Kept, 200 MB of requests (and as much again of responses) would show; garbage does not grow like that.
      assert.ok(after - before < 100 * 1024, `the adapter grew from ${before} KiB to ${after} KiB over 200 MB of requests`);
    } finally {
      await end(a);
    }
  });
});
