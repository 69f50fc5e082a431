// "KVM Guest: New Guest…": a template per kind of guest, each building and booting on F5 as it is.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { ExtensionPaths } from './paths';

/** `from`: where the template's text lives when it is an example guest, relative to guests/templates. */
export const TEMPLATES: { file: string; label: string; detail: string; from?: string }[] = [
  { file: 'real-mode.S', label: 'Real-mode kernel at the reset vector', detail: '16-bit, loaded at 0xF0000, starts at F000:FFF0 like a PC after power-up' },
  { file: 'protected-mode.S', label: 'Protected-mode guest', detail: '32-bit flat segments, paging off, started at _start' },
  { file: 'long-mode.S', label: 'Long-mode assembly guest', detail: '64-bit, identity-mapped paging, prints on the 16550 UART' },
  { file: 'c-guest.c', label: 'Freestanding C guest', detail: 'C in long mode (or protected), with a small runtime header' },
  {
    file: 'virtio-guest.c', from: '../lse-virtio/lse.c', label: 'virtio guest (the LSE way)',
    detail: 'protected mode from its ELF: start_info, virtio-rng and virtio-console with interrupts (IDT, I/O APIC, local APIC)',
  },
];

/** Creates a guest from a template; returns the new file (or undefined when cancelled). */
export async function newGuest(paths: ExtensionPaths, choice?: { template: string; target: string }): Promise<vscode.Uri | undefined> {
  let template = choice?.template;
  let target = choice?.target;
  if (!template) {
    const pick = await vscode.window.showQuickPick(TEMPLATES.map((t) => ({ ...t, description: t.file })), { placeHolder: 'What kind of guest?' });
    if (!pick) return undefined;
    template = pick.file;
  }
  if (!target) {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) {
      void vscode.window.showInformationMessage('KVM Guest: open a folder first; the new guest is created in it.');
      return undefined;
    }
    const name = await vscode.window.showInputBox({ prompt: 'File name of the new guest', value: template });
    if (!name) return undefined;
    target = path.join(folder, name);
  }
  if (fs.existsSync(target)) {
    const overwrite = await vscode.window.showWarningMessage(`${path.basename(target)} exists. Overwrite it?`, { modal: true }, 'Overwrite');
    if (overwrite !== 'Overwrite') return undefined;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const from = TEMPLATES.find((t) => t.file === template)?.from ?? template;
  fs.copyFileSync(path.join(paths.templates, from), target);
  const uri = vscode.Uri.file(target);
  await vscode.window.showTextDocument(uri);
  return uri;
}
