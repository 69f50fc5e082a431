// "Check KVM Access and Toolchain": `kvm-guest info` (each accelerator — KVM with the fix when it
// cannot be used, the software CPU with how to install it — what each supports, which one `auto`
// picks, and the toolchain versions) in an output channel.
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { ExtensionPaths, nodeEnv } from './paths';

interface AcceleratorReport {
  name: string;
  label: string;
  available: boolean;
  problem?: string;
  modes: string[];
  breakpoints: string;
  watchKinds: string[];
}

interface Info {
  accelerators: AcceleratorReport[];
  auto: string;
  toolchain: { tool: string; version?: string; problem?: string }[];
}

export async function checkSetup(paths: ExtensionPaths, output: vscode.OutputChannel): Promise<Info | undefined> {
  const text = await new Promise<string>((resolve) =>
    execFile(process.execPath, [paths.cli, 'info', '--json'], { env: nodeEnv(), timeout: 30000 }, (_e, stdout) => resolve(stdout)),
  );
  let info: Info;
  try {
    info = JSON.parse(text);
  } catch {
    void vscode.window.showErrorMessage('KVM Guest: the setup check did not run; see the "KVM Guest" output.');
    output.appendLine(text);
    return undefined;
  }
  output.clear();
  output.appendLine(`accelerator "auto": ${info.auto}`);
  for (const a of info.accelerators) {
    if (!a.available) {
      output.appendLine(`${a.label}: not available — ${a.problem}`);
      continue;
    }
    output.appendLine(`${a.label}: CPU modes ${a.modes.join(', ')}; breakpoints: ${a.breakpoints}; data breakpoints: ${a.watchKinds.join(', ')}`);
  }
  for (const t of info.toolchain) output.appendLine(`${t.tool}: ${t.version ?? `missing: ${t.problem}`}`);
  output.show(true);
  const missing = info.toolchain.filter((t) => !t.version);
  const usable = info.accelerators.filter((a) => a.available);
  if (usable.length === 0) void vscode.window.showErrorMessage(`KVM Guest: no accelerator can run guests here. ${info.auto}`);
  else if (missing.length) void vscode.window.showWarningMessage(`KVM Guest: ${missing.map((t) => t.problem).join('; ')}`);
  else void vscode.window.showInformationMessage(`KVM Guest: ready — ${info.auto}.`);
  return info;
}
