// README, "Debug it": the launch attributes `memory`, `build` (default true), `serial` (which output
// devices reach the Debug Console), `timeout`, `disassemblySyntax` (`att`/`intel`) and `cwd`, each
// changing what a session does. The real adapter process, guests on the software CPU.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guest } from '../helpers/cli';
import { tcgOnly } from '../helpers/accelerators';
import { buildElf, sessions, tempGuests } from './helpers';

const KERNEL1 = guest('linux-journal', 'kernel1.S');
const KERNEL2 = guest('linux-journal', 'kernel2.S');

/** Writes one byte to each output device: 'U' to the 16550's THR, 'D' to 0xE9, 'P' to 0xF1. */
const DEVICES_S = `.code64
.section .start, "ax"
.globl _start
_start:
    movw    $0x3f8, %dx
    movb    $0x55, %al      /* 'U' on the 16550 UART (THR) */
    outb    %al, %dx
    movb    $0x44, %al      /* 'D' on the debug console */
    outb    %al, $0xe9
    movb    $0x50, %al      /* 'P' on the pseudo-serial port */
    outb    %al, $0xf1
    hlt
`;

tcgOnly('README: launch attributes (DAP)', function () {
  this.timeout(60000);
  const s = sessions('tcg');

  async function runToEnd(args: Record<string, unknown>, opts: { cwd?: string } = {}): Promise<{ stdout: string; exitCode?: number; output: string }> {
    const x = await s(opts);
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.launch(args);
    await terminated;
    return { stdout: x.stdout, exitCode: x.exitCode, output: x.output };
  }

  it('memory: sets the guest RAM size (bytes rounded up to 4 KiB, or K/M/G); beyond it nothing is mapped', async function () {
    const x = await s();
    await x.launch({ program: KERNEL2, memory: '4M', stopOnEntry: true });
    await x.stopped();
    const last = await x.dc.customRequest('readMemory', { memoryReference: 'phys:0x3ffffc', count: 4 });
    assert.equal(Buffer.from(last.body.data, 'base64').length, 4, 'the last 4 bytes of 4 MiB are RAM');
    await assert.rejects(x.dc.customRequest('readMemory', { memoryReference: 'phys:0x400000', count: 4 }), /not mapped/);
    assert.match(await x.repl('.machine'), /^memory: 4096 KiB\b/m);

    const y = await s();
    await y.launch({ program: KERNEL2, memory: '1500000', stopOnEntry: true });
    await y.stopped();
    // 1,500,000 bytes rounded up to a multiple of 4096: 367 pages = 1,503,232 bytes = 1468 KiB.
    const m = await y.repl('.machine');
    assert.match(m, /^memory: 1468 KiB\b/m);
    assert.match(m, /guest-physical 0x0 \(\+1503232 bytes\)/);
  });

  it('memory outside 1M–3G fails the launch saying what is accepted', async function () {
    const x = await s();
    await assert.rejects(x.dc.launchRequest(x.args({ program: KERNEL2, memory: '512K' })), /1M|1 MiB/);
  });

  it('build: true by default (a source is built); false runs a given ELF as it is and refuses a source', async function () {
    const dir = tempGuests('build', { 'k2.S': fs.readFileSync(KERNEL2, 'utf8').replace('#include "runtime.h"', '#define IO_PORT_PSEUDO_SERIAL 0xf1') });
    try {
      const src = path.join(dir, 'k2.S');
      assert.equal((await runToEnd({ program: src })).stdout, 'Hello\n', 'default: built');
      assert.ok(fs.existsSync(path.join(dir, 'build')), 'the default build wrote its build folder');
      const elf = buildElf(src);
      // Change the source after the build: with build false the ELF runs as it is.
      fs.writeFileSync(src, fs.readFileSync(src, 'utf8').replace('$0x48,%al', '$0x4a,%al'));
      const asIs = await runToEnd({ program: elf, build: false, mode: 'real' });
      assert.equal(asIs.stdout, 'Hello\n');
      assert.equal(asIs.exitCode, 0);
      const x = await s();
      await assert.rejects(x.dc.launchRequest(x.args({ program: src, build: false })), /source file and building is off/);
      assert.equal((await runToEnd({ program: src, build: true })).stdout, 'Jello\n', 'build true rebuilds the changed source');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serial: "all" (default), a list of devices, or "none" chooses what reaches the Debug Console', async function () {
    const dir = tempGuests('serial', { 'devices.S': DEVICES_S });
    try {
      const program = path.join(dir, 'devices.S');
      const cases: [unknown, string][] = [
        [undefined, 'UDP'],
        ['all', 'UDP'],
        [['uart'], 'U'],
        [['debugcon'], 'D'],
        [['pseudo-serial'], 'P'],
        [['debugcon', 'pseudo-serial'], 'DP'],
        ['none', ''],
      ];
      for (const [serial, expected] of cases) {
        const r = await runToEnd(serial === undefined ? { program } : { program, serial });
        assert.equal(r.stdout, expected, `serial ${JSON.stringify(serial)}`);
        assert.equal(r.exitCode, 0, 'the guest still runs to its hlt');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('timeout: a guest spinning forever (kernel1) ends the session, with the CLI\'s timeout status 4', async function () {
    const r = await runToEnd({ program: KERNEL1, timeout: 0.5 });
    assert.equal(r.exitCode, 4);
    assert.match(r.output, /still running after 0\.5 s/);
  });

  it('disassemblySyntax: att (default) or intel in the Disassembly view', async function () {
    const first = async (syntax?: string): Promise<string[]> => {
      const x = await s();
      await x.launch({ program: KERNEL2, stopOnEntry: true, ...(syntax ? { disassemblySyntax: syntax } : {}) });
      await x.stopped();
      const dis = await x.dc.customRequest('disassemble', { memoryReference: '0xf0000', instructionCount: 2 });
      return (dis.body.instructions as DebugProtocol.DisassembledInstruction[]).map((i) => i.instruction.replace(/\s+/g, ' ').trim());
    };
    // kernel2 starts with mov $0x48,%al ; out %al,$0xf1
    const att = await first();
    assert.match(att[0], /^mov \$0x48, ?%al$/i);
    assert.match(att[1], /^out %al, ?\$0xf1$/i);
    assert.deepEqual(await first('att'), att);
    const intel = await first('intel');
    assert.match(intel[0], /^mov al, ?(0x48|48h)$/i);
    assert.match(intel[1], /^out (0xf1|0F1h), ?al$/i);
  });

  it('cwd: a relative program is resolved against it', async function () {
    const r = await runToEnd({ program: 'kernel2.S', cwd: path.dirname(KERNEL2) }, { cwd: os.tmpdir() });
    assert.equal(r.stdout, 'Hello\n');
    const x = await s({ cwd: os.tmpdir() });
    await assert.rejects(x.dc.launchRequest(x.args({ program: 'kernel2.S', cwd: path.dirname(KERNEL1) + '/../hello-world' })), /kernel2\.S/);
  });
});
