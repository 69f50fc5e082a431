// F5 without launch.json, launch.json entries, and the debug adapter as a separate process.
import fs from 'node:fs';
import * as vscode from 'vscode';
import { ExtensionPaths, GUEST_SOURCE } from './paths';

const MODES = ['real', 'protected', 'paged32', 'long'] as const;

/** The mode a source declares (first .code16/.code32/.code64, or a "kvm-guest: mode=" marker). */
export function declaredMode(text: string): string | undefined {
  const marker = /kvm-guest:\s*mode=(real|protected|paged32|long)\b/.exec(text);
  if (marker) return marker[1];
  const code = /^\s*\.code(16|32|64)\b/m.exec(text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(\/\/|#).*$/gm, (m) => (/^#\s*\w/.test(m) ? m : '')));
  return code ? { '16': 'real', '32': 'protected', '64': 'long' }[code[1]] : undefined;
}

export class GuestConfigurationProvider implements vscode.DebugConfigurationProvider {
  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('KVM Guest: this workspace is in Restricted Mode; building and running guests executes programs, so it is off until you trust the workspace.');
      return undefined;
    }
    if (!config.request && !config.name) {
      // F5 with no launch.json: debug the guest in the active editor.
      const editor = vscode.window.activeTextEditor;
      if (!editor || !GUEST_SOURCE.test(editor.document.fileName)) {
        void vscode.window.showInformationMessage('KVM Guest: open a guest source (.S, .s or .c) and press F5, or create one with "KVM Guest: New Guest…".');
        return undefined;
      }
      config = { type: 'kvm-guest', request: 'launch', name: 'Debug guest', program: editor.document.fileName };
    }
    if (!config.program) {
      void vscode.window.showErrorMessage('KVM Guest: the launch configuration has no "program".');
      return undefined;
    }
    const settings = vscode.workspace.getConfiguration('kvmGuest');
    config.memory ??= settings.get<string>('memory');
    config.serial ??= settings.get<string[]>('serial');
    config.accel ??= settings.get<string>('accelerator', 'auto');
    if (!config.mode && /\.c$/.test(config.program) && fs.existsSync(config.program) && !declaredMode(fs.readFileSync(config.program, 'utf8'))) {
      // A C guest says nothing about its mode: ask, instead of failing.
      const pick = await vscode.window.showQuickPick(
        MODES.map((m) => ({ label: m, description: { real: '16-bit', protected: '32-bit, no paging', paged32: '32-bit, 4 MiB pages', long: '64-bit, identity-mapped' }[m] })),
        { placeHolder: 'CPU mode for this C guest (add "// kvm-guest: mode=long" to the file to skip this)' },
      );
      if (!pick) return undefined;
      config.mode = pick.label;
    }
    return config;
  }
}

export class GuestAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly paths: ExtensionPaths) {}
  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    // A separate process: nothing a guest (or native code) does can take the extension host down.
    return new vscode.DebugAdapterExecutable(process.execPath, [this.paths.adapter], { env: { ELECTRON_RUN_AS_NODE: '1' } });
  }
}

/** Starts the active guest with or without the debugger. */
export async function startGuest(noDebug: boolean, uri?: vscode.Uri): Promise<boolean> {
  const file = uri?.fsPath ?? vscode.window.activeTextEditor?.document.fileName;
  if (!file || !GUEST_SOURCE.test(file)) {
    void vscode.window.showInformationMessage('KVM Guest: open a guest source (.S, .s or .c) first.');
    return false;
  }
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
  return vscode.debug.startDebugging(folder, { type: 'kvm-guest', request: 'launch', name: noDebug ? 'Run guest' : 'Debug guest', program: file }, { noDebug });
}
