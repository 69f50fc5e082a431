// Extension figures for `npm run bench`: activation time (inside code-server's extension host),
// F5 → first serial output in the Debug Console (a real code-server in Chromium), .vsix size.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packagedVsix, ROOT, VsCode } from '../e2e/code-server';
import { runSuite, unpackedExtension } from '../e2e/code-server';

type Report = (f: { name: string; value: number; unit: string; target?: string; withinTarget?: boolean }) => void;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function extensionBenchmarks(report: Report): Promise<void> {
  const vsix = packagedVsix();
  const size = fs.statSync(vsix).size / 1024 / 1024;
  report({ name: `.vsix size (${path.basename(vsix)})`, value: size, unit: 'MB', target: '≤ 5 MB', withinTarget: size <= 5 });

  const ext = unpackedExtension();
  const activations: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { log } = await runSuite(true, ext, 'activation');
    const m = /activation: ([\d.]+) ms/.exec(log.join('\n'));
    if (m) activations.push(Number(m[1]));
  }
  fs.rmSync(path.dirname(ext), { recursive: true, force: true });
  const a = median(activations);
  report({ name: 'Extension activation (activate() in the extension host)', value: a, unit: 'ms', target: '≤ 50 ms', withinTarget: a <= 50 });

  const vscode = new VsCode('bench');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-bench-ws-'));
  // One guest per run, each with its own greeting, so each run's output is told apart.
  const template = fs.readFileSync(path.join(ROOT, 'guests', 'templates', 'long-mode.S'), 'utf8');
  for (let i = 1; i <= 4; i++) fs.writeFileSync(path.join(dir, `hello${i}.S`), template.replace('Hello from long mode!', `Hello from run ${i}!`));
  const times: number[] = [];
  try {
    await vscode.start(vsix);
    await vscode.open(dir);
    for (let i = 1; i <= 4; i++) {
      await vscode.openFile(`hello${i}.S`);
      const t0 = performance.now();
      await vscode.page.keyboard.press('F5');
      await vscode.waitFor('the greeting', async () => (await vscode.debugConsole()).includes(`Hello from run ${i}!`));
      times.push(performance.now() - t0);
      await vscode.waitFor('the session to end', async () => /ended|exited/.test(await vscode.statusBar()));
    }
  } finally {
    await vscode.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const f5 = median(times.slice(1)); // the first run also warms code-server's caches
  report({ name: 'F5 → first serial output in the Debug Console (code-server)', value: f5, unit: 'ms', target: '≤ 2000 ms', withinTarget: f5 <= 2000 });
}
