// The extension-host suite (test/extension-host/index.ts) inside code-server's real extension host,
// through VS Code's smoke-test driver route (what @vscode/test-web uses), trusted on each
// accelerator and once in Restricted Mode (an untrusted workspace). VS Code's own trust question on
// F5 is a dialog the smoke driver refuses: that part is checked through the UI in vscode.e2e.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runSuite, unpackedExtension } from './code-server';
import { forEachAccelerator } from '../helpers/accelerators';

// The kvmGuest.accelerator setting chooses what F5, Run Guest and New Guest's sessions run on.
forEachAccelerator('extension-host tests in code-server (smoke-test driver)', function (accel) {
  this.timeout(400000);
  let extensionDir: string;
  before(function () {
    extensionDir = unpackedExtension();
  });
  after(function () {
    if (extensionDir) fs.rmSync(path.dirname(extensionDir), { recursive: true, force: true });
  });

  it('activation, commands, F5 configuration provider, Run Guest, task provider, New Guest', async function () {
    const { code, log } = await runSuite(true, extensionDir, 'index', { 'kvmGuest.accelerator': accel });
    const text = log.join('\n');
    assert.match(text, /5 passed, 0 failed/, text);
    assert.match(text, new RegExp(`^sessions ran on: ${accel}$`, 'm'), 'every session ran on the configured accelerator');
    assert.equal(code, 0, text);
    const activation = /activation: ([\d.]+) ms/.exec(text);
    assert.ok(activation, 'the suite reports the activation time');
  });

});

describe('extension-host tests in code-server, Restricted Mode (untrusted workspace)', function () {
  this.timeout(400000);
  let extensionDir: string | undefined;
  before(function () {
    extensionDir = unpackedExtension();
  });
  after(function () {
    if (extensionDir) fs.rmSync(path.dirname(extensionDir), { recursive: true, force: true });
  });

  it('Run Guest and Debug Guest build and run nothing; the language server still answers', async function () {
    const { code, log } = await runSuite(false, extensionDir!, 'index', {}, { timeoutMs: 90000 });
    const text = log.join('\n');
    assert.match(text, /✔ in Restricted Mode/, text);
    assert.match(text, /^1 passed, 0 failed$/m, text);
    assert.equal(code, 0, text);
  });
});
