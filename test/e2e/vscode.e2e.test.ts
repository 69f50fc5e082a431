// The extension in a real VS Code (code-server) in Chromium, checked the way a user sees it.
// Screenshots of each step are kept in .vscode-test/artifacts/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packagedVsix, ROOT, VsCode } from './code-server';

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-ws-'));
  fs.copyFileSync(path.join(ROOT, 'guests', 'templates', 'long-mode.S'), path.join(dir, 'hello.S'));
  fs.writeFileSync(path.join(dir, 'broken.S'), '.code64\n_start:\n    movq $1, %rax\n    frobnicate %rax\n    hlt\n');
  // An interactive guest: echoes what arrives on the UART until it sees a newline.
  fs.writeFileSync(
    path.join(dir, 'echo.S'),
    [
      '#include "kvm-guest.h"', '.code64', '.section .start, "ax"', '.globl _start', '_start:',
      '1:  movw $(COM1_PORT + UART_LSR), %dx', '    inb %dx, %al', '    testb $UART_LSR_DR, %al', '    jz 1b',
      '    movw $(COM1_PORT + UART_RBR), %dx', '    inb %dx, %al', '    movw $(COM1_PORT + UART_THR), %dx', '    outb %al, %dx',
      '    cmpb $0x0a, %al', '    jne 1b', '    hlt', '',
    ].join('\n'),
  );
  return dir;
}

describe('extension in a real VS Code (code-server + Chromium)', function () {
  this.timeout(300000);
  let vscode: VsCode;
  let dir: string;

  before(async function () {
    const vsix = packagedVsix();
    vscode = new VsCode('vscode');
    await vscode.start(vsix);
    dir = workspace();
    await vscode.open(dir);
  });
  after(async function () {
    await vscode?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('F5 on hello.S builds and boots it: the greeting appears in the Debug Console', async function () {
    await vscode.openFile('hello.S');
    await vscode.screenshot('hello-open');
    await vscode.page.keyboard.press('F5');
    await vscode.waitFor('the greeting', async () => (await vscode.debugConsole()).includes('Hello from long mode!'));
    await vscode.screenshot('greeting');
    const text = await vscode.debugConsole();
    assert.match(text, /Breakpoints: hardware debug registers|single-step scanning/);
    assert.match(text, /guest halted \(HLT with interrupts off\)/);
  });
});
