// `npx kvm-guest dap` serves the Debug Adapter Protocol on stdin/stdout for any DAP client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/cli';

describe('kvm-guest dap', function () {
  this.timeout(20000);
  it('answers initialize with its capabilities over stdio', async function () {
    const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const body = JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
    child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    let buffer = '';
    const response = await new Promise<Record<string, any>>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const m = /Content-Length: (\d+)\r\n\r\n/.exec(buffer);
        if (!m) return;
        const start = m.index + m[0].length;
        if (buffer.length < start + Number(m[1])) return;
        resolve(JSON.parse(buffer.slice(start, start + Number(m[1]))));
      });
      child.on('exit', (code) => reject(new Error(`adapter exited with ${code}`)));
    });
    child.stdin.end();
    child.kill();
    assert.equal(response.command, 'initialize');
    assert.equal(response.success, true);
    assert.equal(response.body.supportsDisassembleRequest, true);
    assert.equal(response.body.supportsInstructionBreakpoints, true);
    assert.equal(response.body.supportsDataBreakpoints, true);
  });
});
