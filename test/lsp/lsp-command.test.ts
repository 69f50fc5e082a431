// `npx kvm-guest lsp --stdio` serves the language server to any editor.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/cli';

describe('kvm-guest lsp --stdio', function () {
  this.timeout(20000);
  it('answers initialize with its capabilities', async function () {
    const child = spawn(process.execPath, [CLI, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    let buffer = '';
    const response = await new Promise<Record<string, any>>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const m = /Content-Length: (\d+)\r\n\r\n/.exec(buffer);
        if (!m) return;
        const start = m.index + m[0].length;
        if (buffer.length >= start + Number(m[1])) resolve(JSON.parse(buffer.slice(start, start + Number(m[1]))));
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    child.kill();
    assert.equal(response.id, 1);
    assert.ok(response.result.capabilities.hoverProvider);
    assert.ok(response.result.capabilities.completionProvider);
    assert.ok(response.result.capabilities.definitionProvider);
  });
});
