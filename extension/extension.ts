// Activation: wires the debugger, build tasks, serial terminals, machine views, commands, status
// bar and the language client. Thin glue: the work happens in the adapter and server processes.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { extensionPaths } from './paths';
import { GuestAdapterFactory, GuestConfigurationProvider, startGuest } from './debug-config';
import { GuestTaskProvider } from './build-tasks';
import { SessionWatcher } from './serial-terminal';
import { ExitTree, MachineTree, explainAddress, activeGuestSession } from './machine-views';
import { newGuest } from './new-guest';
import { checkSetup } from './setup-check';
import { startLanguageClient } from './language-client';

let client: LanguageClient | undefined;

/** What the extension-host tests reach through the extension's exports. */
export interface KvmGuestApi {
  /** How long activate() took, in milliseconds (the language server starts in the background). */
  activationMs: number;
  machineTree: MachineTree;
  exitTree: ExitTree;
  watcher: SessionWatcher;
  statusBar: vscode.StatusBarItem;
  languageClient(): LanguageClient | undefined;
}

export function activate(context: vscode.ExtensionContext): KvmGuestApi {
  const started = performance.now();
  const paths = extensionPaths(context);
  const output = vscode.window.createOutputChannel('KVM Guest');
  const watcher = new SessionWatcher();
  const machineTree = new MachineTree();
  const exitTree = new ExitTree();
  const statusBar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  statusBar.name = 'KVM Guest';
  statusBar.command = 'kvmGuest.showMachine';
  statusBar.text = '$(vm) KVM guest: idle';
  statusBar.tooltip = 'KVM Guest: no guest is running. Press F5 on a guest source to build and debug it.';
  statusBar.show();

  const requireTrust = (): boolean => {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window.showWarningMessage('KVM Guest: building and running guests is off in Restricted Mode. Trust the workspace to enable it.');
    return false;
  };

  context.subscriptions.push(
    output,
    statusBar,
    vscode.debug.registerDebugConfigurationProvider('kvm-guest', new GuestConfigurationProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory('kvm-guest', new GuestAdapterFactory(paths)),
    vscode.debug.registerDebugAdapterTrackerFactory('kvm-guest', watcher),
    vscode.tasks.registerTaskProvider(GuestTaskProvider.type, new GuestTaskProvider(paths)),
    vscode.window.registerTreeDataProvider('kvmGuest.machine', machineTree),
    vscode.window.registerTreeDataProvider('kvmGuest.exits', exitTree),
    watcher.onDidStop(() => {
      machineTree.refresh();
      exitTree.refresh();
    }),
    watcher.onDidChangeState(({ session, state }) => {
      const accel = watcher.acceleratorOf(session);
      const short = accel === undefined ? '' : accel.startsWith('KVM') ? ' (KVM)' : ' (software CPU)';
      statusBar.text = `$(vm) KVM guest${short}: ${state}`;
      statusBar.tooltip = `KVM Guest: the VM of "${session.name}"${accel ? `, running on ${accel}` : ''}. Click to show the machine.`;
      statusBar.show();
      if (state === 'ended') {
        statusBar.text = `$(vm) KVM guest${short}: ended`;
        machineTree.clear();
      }
    }),
    vscode.debug.onDidChangeActiveDebugSession(() => {
      if (activeGuestSession()) {
        machineTree.refresh();
        exitTree.refresh();
      }
    }),
    vscode.commands.registerCommand('kvmGuest.newGuest', (choice?: { template: string; target: string }) => newGuest(paths, choice)),
    vscode.commands.registerCommand('kvmGuest.runGuest', (uri?: vscode.Uri) => requireTrust() && startGuest(true, uri)),
    vscode.commands.registerCommand('kvmGuest.debugGuest', (uri?: vscode.Uri) => requireTrust() && startGuest(false, uri)),
    vscode.commands.registerCommand('kvmGuest.showMachine', () => vscode.commands.executeCommand('kvmGuest.machine.focus')),
    vscode.commands.registerCommand('kvmGuest.showExitStatistics', async () => {
      exitTree.refresh();
      await vscode.commands.executeCommand('kvmGuest.exits.focus');
    }),
    vscode.commands.registerCommand('kvmGuest.refreshMachine', () => {
      machineTree.refresh();
      exitTree.refresh();
    }),
    vscode.commands.registerCommand('kvmGuest.showSerialTerminal', () => {
      const session = activeGuestSession();
      const terminal = session ? watcher.terminalOf(session)?.terminal : undefined;
      if (terminal) terminal.show();
      else void vscode.window.showInformationMessage('KVM Guest: no guest is running; its serial terminal opens with the debug session.');
    }),
    vscode.commands.registerCommand('kvmGuest.explainAddress', (address?: string) => explainAddress(output, address)),
    vscode.commands.registerCommand('kvmGuest.checkSetup', () => (requireTrust() ? checkSetup(paths, output) : undefined)),
  );

  // The language server starts in the background: activation must not wait for another process.
  void startLanguageClient(paths).then(
    (c) => (client = c),
    (e: Error) => output.appendLine(`The assembly language server did not start: ${e.message}`),
  );
  return { activationMs: performance.now() - started, machineTree, exitTree, watcher, statusBar, languageClient: () => client };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
