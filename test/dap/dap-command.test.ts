// `npx kvm-guest dap` serves the Debug Adapter Protocol on stdin/stdout for any DAP client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/cli';
import { firstMessage, send } from '../helpers/stdio-rpc';

describe('kvm-guest dap', function () {
  this.timeout(20000);
  it('answers initialize with its capabilities over stdio', async function () {
    const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'inherit'] });
    send(child, { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
    const response = await firstMessage(child);
    child.stdin.end();
    child.kill();
    assert.equal(response.command, 'initialize');
    assert.equal(response.success, true);
    assert.equal(response.body.supportsDisassembleRequest, true);
    assert.equal(response.body.supportsInstructionBreakpoints, true);
    assert.equal(response.body.supportsDataBreakpoints, true);
  });
});
