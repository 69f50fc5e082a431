// "build" tasks for guest sources: the CLI's build (same toolchain driver as F5), with a problem
// matcher so as/ld/gcc errors land in the Problems view at their file and line.
import path from 'node:path';
import * as vscode from 'vscode';
import { ExtensionPaths, GUEST_SOURCE } from './paths';

interface GuestTaskDefinition extends vscode.TaskDefinition {
  program: string;
  mode?: string;
}

function toolchainEnv(): Record<string, string> {
  const s = vscode.workspace.getConfiguration('kvmGuest.toolchain');
  const env: Record<string, string> = { ELECTRON_RUN_AS_NODE: '1' };
  for (const tool of ['as', 'ld', 'gcc', 'objcopy']) {
    const v = s.get<string>(tool);
    if (v) env[`KVM_GUEST_${tool.toUpperCase()}`] = v;
  }
  return env;
}

export class GuestTaskProvider implements vscode.TaskProvider {
  static readonly type = 'kvm-guest';
  constructor(private readonly paths: ExtensionPaths) {}

  makeTask(def: GuestTaskDefinition, scope: vscode.WorkspaceFolder | vscode.TaskScope = vscode.TaskScope.Workspace): vscode.Task {
    const program = def.program;
    const args = [this.paths.cli, 'build', program, ...(def.mode ? ['--mode', def.mode] : [])];
    const cwd = typeof scope === 'object' ? scope.uri.fsPath : path.dirname(program);
    const task = new vscode.Task(
      def, scope, `build ${path.basename(program)}${def.mode ? ` (${def.mode})` : ''}`, 'kvm-guest',
      new vscode.ProcessExecution(process.execPath, args, { cwd, env: toolchainEnv() }),
      ['$kvm-guest'],
    );
    task.group = vscode.TaskGroup.Build;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Silent, clear: true };
    return task;
  }

  provideTasks(): vscode.Task[] {
    if (!vscode.workspace.isTrusted) return [];
    const file = vscode.window.activeTextEditor?.document.fileName;
    if (!file || !GUEST_SOURCE.test(file)) return [];
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
    return [this.makeTask({ type: GuestTaskProvider.type, program: file }, folder ?? vscode.TaskScope.Workspace)];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as GuestTaskDefinition;
    if (!def.program || !vscode.workspace.isTrusted) return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : undefined;
    const program = path.isAbsolute(def.program) ? def.program : path.join(folder?.uri.fsPath ?? '', def.program);
    return this.makeTask({ ...def, program }, task.scope ?? vscode.TaskScope.Workspace);
  }
}
