// Benchmark module run inside code-server's extension host, in a workspace that activates nothing at
// start-up: how long activating the extension takes, measured by the caller around
// `extension.activate()` (VS Code loads dist/extension.js, runs activate() and awaits it) — not the
// figure the extension reports about itself, which is printed beside it for comparison.
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension('kvm-guest-studio.kvm-guest-studio');
  if (!ext) throw new Error('the extension is not installed');
  if (ext.isActive) throw new Error('the extension is already active: this measurement needs a workspace that does not activate it');
  const t0 = performance.now();
  const api = (await ext.activate()) as { activationMs: number };
  const outside = performance.now() - t0;
  console.log(`activation: ${outside.toFixed(3)} ms (self-reported activate(): ${api.activationMs.toFixed(3)} ms)`);
}
