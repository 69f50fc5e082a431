// Benchmark module run inside code-server's extension host: how long the extension's activate() takes.
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension('kvm-guest-studio.kvm-guest-studio');
  if (!ext) throw new Error('the extension is not installed');
  const api = (await ext.activate()) as { activationMs: number };
  console.log(`activation: ${api.activationMs.toFixed(3)} ms`);
}
