// FIFOs, devices and huge files given as sources or includes are refused with a specific message,
// by the CLI, the debug adapter and the language server, instead of blocking them forever
// (a FIFO), growing without bound (/dev/zero), or ending in ERR_STRING_TOO_LONG / a V8 fatal error
// (a 100 MB / 200 MB source). Huge files are sparse, so they cost no disk. A hang is detected by
// a generous limit on each child (20 s), not by timing.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cli } from '../helpers/cli';
import { CLI } from '../helpers/cli';
import { MessageStream, send } from '../helpers/stdio-rpc';
import { LspClient, SERVER_DIST, uriOf } from '../lsp/lsp-client';
import { exitOf, killAll, tempDir } from './helpers';

const MiB = 1024 * 1024;

describe('robustness: FIFOs, devices and huge files', function () {
  this.timeout(60000);
  let dir: string;
  const p = (name: string): string => path.join(dir, name);
  before(() => {
    dir = tempDir('kvm-robust-inputs-');
    execFileSync('mkfifo', [p('fifo.S'), p('plain.fifo')]);
    const huge = (name: string, bytes: number): void => {
      fs.writeFileSync(p(name), '.code64\n');
      fs.truncateSync(p(name), bytes);
    };
    huge('big17.S', 17 * MiB);
    huge('big100.S', 100 * MiB);
    huge('big200.S', 200 * MiB);
    huge('big.h', 100 * MiB);
    fs.writeFileSync(p('inc-zero.S'), '.code64\n#include "/dev/zero"\nhlt\n');
    fs.writeFileSync(p('inc-fifo.S'), '.code64\n#include "plain.fifo"\nhlt\n');
    fs.writeFileSync(p('inc-fifo-as.s'), '.code64\n.include "plain.fifo"\nhlt\n');
    fs.writeFileSync(p('incbin-zero.s'), '.code64\nhlt\n.incbin "/dev/zero"\n');
    fs.writeFileSync(p('inc-big.S'), '.code64\n#include "big.h"\nhlt\n');
    fs.writeFileSync(p('nested.h'), '#include "plain.fifo"\n');
    fs.writeFileSync(p('inc-nested.S'), '.code64\n#include "nested.h"\nhlt\n');
  });
  after(() => {
    killAll(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('kvm-guest run --json', function () {
    const cases: Array<{ file: string; extra?: string[]; status: number; message: RegExp }> = [
      { file: 'fifo.S', status: 1, message: /fifo\.S is a FIFO \(named pipe\), not a regular file: a guest source must be a regular file/ },
      { file: '/dev/zero', extra: ['--mode', 'long'], status: 1, message: /\/dev\/zero is a character device, not a regular file: a guest image/ },
      { file: 'big17.S', status: 1, message: /big17\.S is 17 MiB: a guest source may be at most 16 MiB/ },
      { file: 'big100.S', status: 1, message: /big100\.S is 100 MiB: a guest source may be at most 16 MiB/ },
      { file: 'big200.S', status: 1, message: /big200\.S is 200 MiB: a guest source may be at most 16 MiB/ },
      { file: 'inc-zero.S', status: 2, message: /inc-zero\.S:2: error: \/dev\/zero is a character device, not a regular file: an included file must be a regular file/ },
      { file: 'inc-fifo.S', status: 2, message: /plain\.fifo is a FIFO/ },
      { file: 'inc-fifo-as.s', status: 2, message: /inc-fifo-as\.s:2: error: plain\.fifo is a FIFO/i },
      { file: 'incbin-zero.s', status: 2, message: /\/dev\/zero is a character device, not a regular file: a file included with \.incbin/ },
      { file: 'inc-big.S', status: 2, message: /big\.h is 100 MiB: an included file may be at most 16 MiB/ },
      { file: 'inc-nested.S', status: 2, message: /nested\.h:1: error: plain\.fifo is a FIFO/ },
    ];
    for (const c of cases) {
      it(`${c.file}: refused (status ${c.status}) with what it is`, function () {
        const file = path.isAbsolute(c.file) ? c.file : p(c.file);
        const r = cli(['run', file, ...(c.extra ?? []), '--json'], { timeoutMs: 20000 });
        assert.equal(r.signal, null, `killed (a hang?): ${r.stderr}`);
        assert.equal(r.status, c.status, r.stderr);
        const lines = r.stdout.split('\n').filter((l) => l !== '');
        assert.equal(lines.length, 1, r.stdout);
        const json = JSON.parse(lines[0]);
        assert.match(json.message, c.message);
        if (c.status === 2) assert.equal(json.diagnostics.filter((d: { severity: string }) => d.severity === 'error').length, 1);
      });
    }

    it('kvm-guest build refuses a FIFO source too', function () {
      const r = cli(['build', p('fifo.S'), '--mode', 'long'], { timeoutMs: 20000 });
      assert.equal(r.signal, null);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /is a FIFO \(named pipe\), not a regular file/);
    });
  });

  it('debug adapter: a FIFO program fails the launch with the reason, and disconnect is answered', async function () {
    const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = exitOf(child);
    try {
      const stream = new MessageStream(child);
      send(child, { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
      await stream.waitFor('initialize', (m) => m.command === 'initialize');
      send(child, { seq: 2, type: 'request', command: 'launch', arguments: { program: p('fifo.S') } });
      const launch = await stream.waitFor('the launch response', (m) => m.command === 'launch');
      assert.equal(launch.success, false);
      assert.match(launch.message, /fifo\.S is a FIFO \(named pipe\), not a regular file/);
      send(child, { seq: 3, type: 'request', command: 'disconnect', arguments: {} });
      const disc = await stream.waitFor('the disconnect response', (m) => m.command === 'disconnect');
      assert.equal(disc.success, true);
    } finally {
      child.stdin!.end();
    }
    assert.equal((await exited).signal, null);
  });

  describe('language server', function () {
    let client: LspClient;
    before(async () => {
      // The workspace itself holds the FIFO and the huge files: indexing must pass them by.
      client = await LspClient.start({ server: SERVER_DIST, root: dir, initializationOptions: { diagnosticsDelayMs: 50 } });
      await client.waitIndexed();
    });
    after(async () => {
      await client?.stop();
    });

    const firstError = (uri: string, re: RegExp): Promise<{ line: number; message: string }> =>
      client.waitFor(`a diagnostic matching ${re}`, () => {
        const d = client.diagnostics.get(uri)?.diagnostics.find((x) => x.severity === 1 && re.test(String(x.message)));
        return d ? { line: d.range.start.line, message: String(d.message) } : undefined;
      });

    it('#include "/dev/zero" in unsaved text: not assembled, said at the include', async function () {
      const file = p('live-zero.S');
      const uri = await client.open(file, '.code64\nnop\n#include "/dev/zero"\nhlt\n', 'gas-cpp');
      const d = await firstError(uri, /\/dev\/zero is a character device/);
      assert.equal(d.line, 2);
      assert.match(d.message, /not assembled/);
    });

    it('#include of a FIFO in unsaved text: not assembled, and the server keeps answering', async function () {
      const file = p('live-fifo.S');
      const uri = await client.open(file, '.code64\n#include "plain.fifo"\nhlt\n', 'gas-cpp');
      await firstError(uri, /plain\.fifo is a FIFO/);
      const symbols = await client.request<unknown[]>('textDocument/documentSymbol', { textDocument: { uri } });
      assert.ok(Array.isArray(symbols));
    });

    it('a FIFO opened as a document (its text from the editor) does not block the server', async function () {
      const uri = uriOf(p('fifo.S'));
      await client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'gas-cpp', version: 1, text: '.code64\nstart: hlt\n' } });
      const symbols = await client.request<unknown[]>('textDocument/documentSymbol', { textDocument: { uri } });
      assert.ok(Array.isArray(symbols));
    });
  });
});
