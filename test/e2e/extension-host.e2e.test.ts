// The extension-host suite (test/extension-host/index.ts) inside code-server's real extension host,
// through VS Code's smoke-test driver route (what @vscode/test-web uses). (Restricted Mode is
// checked through the UI in vscode.e2e.test.ts: the smoke driver refuses the trust dialog that an
// extension-development window raises.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packagedVsix, ROOT, VsCode } from './code-server';

async function runSuite(trust: boolean, extensionDir: string): Promise<{ code: number; log: string[] }> {
  const vscode = new VsCode(trust ? 'exthost' : 'exthost-restricted');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-exthost-'));
  fs.copyFileSync(path.join(ROOT, 'guests', 'templates', 'long-mode.S'), path.join(dir, 'hello.S'));
  try {
    // Untrusted: no start-up prompt (the smoke driver refuses dialogs): the folder opens in Restricted Mode.
    const settings = trust ? {} : { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.enabled': true };
    await vscode.start(undefined, settings, ['--vscode-option', 'enable-smoke-test-driver'], { trust });
    const log: string[] = [];
    let finish!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (finish = resolve));
    await vscode.page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => log.push(args.map(String).join(' ')));
    await vscode.page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
    const remote = (p: string): string => `vscode-remote://127.0.0.1:${vscode.port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionDir)],
      ['extensionTestsPath', remote(path.join(ROOT, 'out', 'test', 'extension-host', 'index'))],
    ];
    await vscode.page.goto(`http://127.0.0.1:${vscode.port}/?folder=${encodeURIComponent(dir)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    const code = await Promise.race([exited, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`no result; log:\n${log.join('\n')}\n${vscode.log}`)), 180000))]);
    await vscode.screenshot('done');
    return { code, log };
  } finally {
    await vscode.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('extension-host tests in code-server (smoke-test driver)', function () {
  this.timeout(400000);
  let extensionDir: string;
  before(function () {
    // The packaged extension, unpacked: what users install, loaded as the extension under test.
    const vsix = packagedVsix();
    extensionDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-ext-'));
    execFileSync('unzip', ['-q', vsix, '-d', extensionDir]);
    extensionDir = path.join(extensionDir, 'extension');
  });
  after(function () {
    if (extensionDir) fs.rmSync(path.dirname(extensionDir), { recursive: true, force: true });
  });

  it('activation, commands, F5 configuration provider, Run Guest, task provider, New Guest', async function () {
    const { code, log } = await runSuite(true, extensionDir);
    const text = log.join('\n');
    assert.match(text, /5 passed, 0 failed/, text);
    assert.equal(code, 0, text);
    const activation = /activation: ([\d.]+) ms/.exec(text);
    assert.ok(activation, 'the suite reports the activation time');
  });

});
