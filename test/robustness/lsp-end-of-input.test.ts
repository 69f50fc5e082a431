// The language server exits when its input ends — also when it ends inside a message (a header
// arrived, its body did not). Before, the protocol reader's partial-message timer kept it alive
// forever. A hang is detected by a generous limit (20 s), not by timing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/cli';
import { SERVER_DIST } from '../lsp/lsp-client';
import { exitOf } from './helpers';

const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
const framed = (body: string): string => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const servers: Array<{ name: string; argv: string[] }> = [
  { name: 'kvm-guest lsp --stdio', argv: [CLI, 'lsp', '--stdio'] },
  { name: 'dist/language-server.js', argv: [SERVER_DIST, '--stdio'] },
];

describe('robustness: language server end of input', function () {
  this.timeout(60000);
  for (const server of servers) {
    const inputs: Array<{ what: string; data: string }> = [
      { what: 'nothing', data: '' },
      { what: 'a header whose body never comes', data: 'Content-Length: 100\r\n\r\n{"jsonrpc":' },
      { what: 'a header without its blank line', data: 'Content-Length: 100\r\n' },
      { what: 'initialize, then half a message', data: framed(INITIALIZE) + 'Content-Length: 52\r\n\r\n{"jsonrpc":"2.0"' },
      { what: 'half of initialize', data: framed(INITIALIZE).slice(0, 60) },
    ];
    for (const input of inputs) {
      it(`${server.name}: input that ends after ${input.what} ends the server`, async function () {
        const child = spawn(process.execPath, server.argv, { stdio: ['pipe', 'pipe', 'pipe'] });
        child.stdout!.resume();
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdin!.end(input.data);
        const { signal } = await exitOf(child, 20000);
        assert.equal(signal, null, stderr);
      });
    }
  }
});
