// `npx kvm-guest dap` serves the Debug Adapter Protocol on stdin/stdout for any DAP client, and
// `kvm-guest dap --accel …` chooses the accelerator of launches that name none.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, guest } from '../helpers/cli';
import { firstMessage, MessageStream, send } from '../helpers/stdio-rpc';
import { forEachAccelerator } from '../helpers/accelerators';

const INITIALIZE = { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } };

describe('kvm-guest dap', function () {
  this.timeout(20000);
  it('answers initialize with its capabilities over stdio', async function () {
    const child = spawn(process.execPath, [CLI, 'dap'], { stdio: ['pipe', 'pipe', 'inherit'] });
    send(child, INITIALIZE);
    const response = await firstMessage(child);
    child.stdin.end();
    child.kill();
    assert.equal(response.command, 'initialize');
    assert.equal(response.success, true);
    assert.equal(response.body.supportsDisassembleRequest, true);
    assert.equal(response.body.supportsInstructionBreakpoints, true);
    assert.equal(response.body.supportsDataBreakpoints, true);
  });

  it('refuses an unknown --accel with the choices (exit 1)', async function () {
    const child = spawn(process.execPath, [CLI, 'dap', '--accel', 'hvf'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /unknown accelerator 'hvf': choose one of auto, kvm, tcg/);
  });
});

forEachAccelerator('kvm-guest dap --accel', function (accel) {
  this.timeout(60000);
  it(`--accel ${accel} runs kernel2 on that accelerator over stdio: Hello, exit code 0`, async function () {
    const child = spawn(process.execPath, [CLI, 'dap', '--accel', accel], { stdio: ['pipe', 'pipe', 'inherit'] });
    const stream = new MessageStream(child);
    try {
      send(child, INITIALIZE);
      await stream.waitFor('initialized', (m) => m.event === 'initialized');
      send(child, { seq: 2, type: 'request', command: 'launch', arguments: { program: guest('linux-journal', 'kernel2.S') } });
      const launched = await stream.waitFor('the launch response', (m) => m.command === 'launch');
      assert.equal(launched.success, true, launched.message);
      send(child, { seq: 3, type: 'request', command: 'configurationDone', arguments: {} });
      await stream.waitFor('terminated', (m) => m.event === 'terminated');
      const accelEvent = await stream.waitFor('kvmGuest.accelerator', (m) => m.event === 'kvmGuest.accelerator');
      assert.equal(accelEvent.body.name, accel);
      const stdout = stream.messages.filter((m) => m.event === 'output' && m.body.category === 'stdout').map((m) => m.body.output).join('');
      assert.equal(stdout, 'Hello\n');
      const exited = await stream.waitFor('exited', (m) => m.event === 'exited');
      assert.equal(exited.body.exitCode, 0);
    } finally {
      child.stdin.end();
      child.kill();
    }
  });
});
