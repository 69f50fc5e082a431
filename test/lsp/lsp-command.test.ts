// `npx kvm-guest lsp --stdio` serves the language server to any editor.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/cli';
import { firstMessage, send } from '../helpers/stdio-rpc';

describe('kvm-guest lsp --stdio', function () {
  this.timeout(20000);
  it('answers initialize with its capabilities', async function () {
    const child = spawn(process.execPath, [CLI, 'lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    send(child, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    const response = await firstMessage(child);
    child.kill();
    assert.equal(response.id, 1);
    assert.ok(response.result.capabilities.hoverProvider);
    assert.ok(response.result.capabilities.completionProvider);
    assert.ok(response.result.capabilities.definitionProvider);
  });
});
