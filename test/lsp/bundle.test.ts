// The esbuild bundle the extension and `kvm-guest lsp --stdio` start: dist/language-server.js.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Hover } from 'vscode-languageserver-types';
import { LspClient, ROOT, SERVER_DIST } from './lsp-client';

describe('language server: the dist/language-server.js bundle', function () {
  this.timeout(60000);

  before(() => {
    // `npm test` builds it first; a bare mocha run may not have.
    if (!fs.existsSync(SERVER_DIST)) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  });

  it('serves LSP on stdio: initialize, hover, assembler diagnostics, shutdown', async () => {
    const file = path.join(ROOT, 'guests', 'linux-journal', 'kernel1.S');
    const client = await LspClient.start({ server: SERVER_DIST, root: path.dirname(file) });
    try {
      const uri = await client.open(file);
      const h = await client.request<Hover>('textDocument/hover', client.pos(uri, 6, 9)); // xor
      assert.match(String((h.contents as { value: string }).value), /^\*\*xor\*\* — Bitwise exclusive OR/);
      await client.assembled(file);
      assert.deepEqual(await client.diagnosticsFor(uri), []);
    } finally {
      await client.stop();
    }
    assert.equal(client.stderr, '');
  });
});
