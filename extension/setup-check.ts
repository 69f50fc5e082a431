// "Check KVM Access and Toolchain": `kvm-guest info` (KVM access with the fix when missing, API
// version, modes and breakpoint methods this host supports, toolchain versions) in an output channel.
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { ExtensionPaths, nodeEnv } from './paths';

interface Info {
  access: string;
  implementation: string;
  modes?: Record<string, boolean>;
  breakpoints?: { chosen: string };
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
  output.appendLine(`KVM (${info.implementation}): ${info.access}`);
  if (info.modes) output.appendLine(`CPU modes: ${Object.entries(info.modes).map(([m, ok]) => `${m} ${ok ? 'yes' : 'no'}`).join(', ')}`);
  if (info.breakpoints) output.appendLine(`breakpoints: ${info.breakpoints.chosen}`);
  for (const t of info.toolchain) output.appendLine(`${t.tool}: ${t.version ?? `missing: ${t.problem}`}`);
  output.show(true);
  const missing = info.toolchain.filter((t) => !t.version);
  if (info.access !== 'ok') void vscode.window.showErrorMessage(`KVM Guest: ${info.access}`);
  else if (missing.length) void vscode.window.showWarningMessage(`KVM Guest: ${missing.map((t) => t.problem).join('; ')}`);
  else void vscode.window.showInformationMessage(`KVM Guest: KVM and the toolchain are ready (${info.breakpoints?.chosen ?? ''}).`);
  return info;
}
