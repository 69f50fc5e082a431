// `npm run test:desktop`: the extension-host suite (test/extension-host/index.ts) in desktop VS Code,
// downloaded by @vscode/test-electron. Needs a machine that can download VS Code and show a window
// (or xvfb-run); where VS Code cannot be downloaded, the same suite runs in code-server (`npm test`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-desktop-'));
fs.copyFileSync(path.join(root, 'guests', 'templates', 'long-mode.S'), path.join(workspace, 'hello.S'));
try {
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'test', 'extension-host', 'index'),
    launchArgs: [workspace, '--disable-workspace-trust', '--disable-extensions'],
  });
} finally {
  fs.rmSync(workspace, { recursive: true, force: true });
}
