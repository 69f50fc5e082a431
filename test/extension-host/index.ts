// Tests that run inside a real VS Code extension host (code-server's, through the smoke-test
// driver route; or desktop VS Code through @vscode/test-electron: `npm run test:desktop`). VS Code
// calls run(); it rejects when a test fails. Results go to the console (codeAutomationLog).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'kvm-guest-studio.kvm-guest-studio';

type Test = [string, () => Promise<void>];

function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the tests need a workspace folder');
  return vscode.Uri.joinPath(folder.uri, name);
}

/** The accelerators sessions reported (kvmGuest.accelerator events), for the summary line. */
const accelerators = new Set<string>();

/** Collects what a kvm-guest debug session prints, until it terminates. */
function captureSession(): { output: () => string; ended: Promise<number | undefined> } {
  let text = '';
  let exitCode: number | undefined;
  const tracker = vscode.debug.registerDebugAdapterTrackerFactory('kvm-guest', {
    createDebugAdapterTracker: () => ({
      onDidSendMessage: (m: { type: string; event?: string; body?: { output?: string; exitCode?: number; name?: string } }) => {
        if (m.type === 'event' && m.event === 'output') text += m.body?.output ?? '';
        if (m.type === 'event' && m.event === 'kvmGuest.accelerator' && m.body?.name) accelerators.add(m.body.name);
        if (m.type === 'event' && m.event === 'exited') exitCode = m.body?.exitCode;
      },
    }),
  });
  const ended = new Promise<number | undefined>((resolve) => {
    const sub = vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.type !== 'kvm-guest') return;
      sub.dispose();
      tracker.dispose();
      resolve(exitCode);
    });
  });
  return { output: () => text, ended };
}

const trusted: Test[] = [
  ['activates quickly and registers every contributed command', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, 'the extension is installed');
    const api = (await ext.activate()) as { activationMs: number };
    console.log(`activation: ${api.activationMs.toFixed(2)} ms`);
    assert.ok(ext.isActive, 'active after activate()');
    // The figure the bench reports from outside; here only that it is a real, plausible duration.
    assert.ok(Number.isFinite(api.activationMs) && api.activationMs > 0 && api.activationMs < 1000, `activationMs ${api.activationMs}`);
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    const registered = await vscode.commands.getCommands(true);
    for (const c of contributed) assert.ok(registered.includes(c), `${c} is registered`);
  }],
  ['the configuration provider debugs the active guest when there is no launch.json', async () => {
    await vscode.window.showTextDocument(workspaceFile('hello.S'));
    const capture = captureSession();
    // What F5 does without launch.json: an empty configuration for the provider to fill in.
    const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'kvm-guest', name: '', request: '' });
    assert.equal(started, true);
    const exitCode = await capture.ended;
    assert.match(capture.output(), /Hello from long mode!/);
    assert.equal(exitCode, 0);
  }],
  ['Run Guest runs without debugging: breakpoints are not hit', async () => {
    const file = workspaceFile('hello.S');
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(file, new vscode.Position(11, 0)))]);
    try {
      await vscode.window.showTextDocument(file);
      const capture = captureSession();
      assert.ok(await vscode.commands.executeCommand('kvmGuest.runGuest'));
      assert.equal(await capture.ended, 0);
      assert.match(capture.output(), /Hello from long mode!/);
    } finally {
      vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    }
  }],
  ['the task provider offers a build of the active guest, which builds it', async () => {
    await vscode.window.showTextDocument(workspaceFile('hello.S'));
    const tasks = await vscode.tasks.fetchTasks({ type: 'kvm-guest' });
    const build = tasks.find((t) => t.name === 'build hello.S');
    assert.ok(build, `tasks: ${tasks.map((t) => t.name).join(', ')}`);
    assert.equal(build.group?.id, vscode.TaskGroup.Build.id);
    const done = new Promise<number | undefined>((resolve) => {
      const sub = vscode.tasks.onDidEndTaskProcess((e) => {
        if (e.execution.task.name !== build.name) return;
        sub.dispose();
        resolve(e.exitCode);
      });
    });
    await vscode.tasks.executeTask(build);
    assert.equal(await done, 0);
    assert.ok(fs.existsSync(path.join(path.dirname(workspaceFile('hello.S').fsPath), 'build', 'hello.long.elf')));
  }],
  ['New Guest creates a template that is ready to run', async () => {
    const target = workspaceFile('made-by-test.c').fsPath;
    const uri = (await vscode.commands.executeCommand('kvmGuest.newGuest', { template: 'c-guest.c', target })) as vscode.Uri;
    assert.equal(uri.fsPath, target);
    assert.match(fs.readFileSync(target, 'utf8'), /kvm-guest: mode=long/);
    const capture = captureSession();
    assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'kvm-guest', request: 'launch', name: 'new', program: target }));
    assert.equal(await capture.ended, 0);
    assert.match(capture.output(), /Hello from C!/);
  }],
];

const restricted: Test[] = [
  ['in Restricted Mode our commands build and run nothing; the language server still answers', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    const editor = await vscode.window.showTextDocument(workspaceFile('hello.S'));
    // Our commands refuse (with a message) instead of building. (vscode.debug.startDebugging and
    // vscode.tasks.fetchTasks are not called here: VS Code itself asks for trust first, a dialog the
    // smoke-test driver refuses; that question is checked through the UI in vscode.e2e.test.ts.)
    assert.equal(await vscode.commands.executeCommand('kvmGuest.runGuest'), false);
    assert.equal(await vscode.commands.executeCommand('kvmGuest.debugGuest'), false);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!fs.existsSync(path.join(workspaceFile('.').fsPath, 'build')), 'nothing was built');
    // The language server's own analysis keeps working (package.json: "limited" support).
    const line = editor.document.getText().split('\n').findIndex((l) => /^\s*leaq\b/.test(l));
    assert.ok(line >= 0, 'hello.S has a leaq');
    const column = editor.document.lineAt(line).text.indexOf('leaq') + 1;
    let hovers: vscode.Hover[] = [];
    for (let i = 0; i < 40 && hovers.length === 0; i++) {
      hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', editor.document.uri, new vscode.Position(line, column));
      if (hovers.length === 0) await new Promise((r) => setTimeout(r, 250)); // the server is still starting
    }
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /\blea/i, `a hover on leaq: ${text}`);
  }],
];

/** Settings the runner asks for (KVM_GUEST_TEST_SETTINGS: {"kvmGuest.accelerator": "tcg"}…), as user settings. */
async function applyTestSettings(): Promise<void> {
  const wanted = JSON.parse(process.env.KVM_GUEST_TEST_SETTINGS || '{}') as Record<string, unknown>;
  for (const [key, value] of Object.entries(wanted)) {
    const dot = key.lastIndexOf('.');
    await vscode.workspace.getConfiguration(key.slice(0, dot)).update(key.slice(dot + 1), value, vscode.ConfigurationTarget.Global);
    console.log(`setting ${key} = ${JSON.stringify(vscode.workspace.getConfiguration(key.slice(0, dot)).get(key.slice(dot + 1)))}`);
  }
}

export async function run(): Promise<void> {
  await applyTestSettings();
  const tests = vscode.workspace.isTrusted ? trusted : restricted;
  let failed = 0;
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`✔ ${name}`);
    } catch (e) {
      failed++;
      console.log(`✘ ${name}\n${e instanceof Error ? e.stack : String(e)}`);
    }
  }
  if (accelerators.size > 0) console.log(`sessions ran on: ${[...accelerators].sort().join(', ')}`);
  console.log(`${tests.length - failed} passed, ${failed} failed`);
  if (failed) throw new Error(`${failed} extension-host test(s) failed`);
}
