// The ppc64 machine (vmm/ppc64/ppc64-machine.ts) through its own API, on guests built by the real
// cross binutils: breakpoints stop before the instruction, also ones armed after their code ran (and
// disarmed ones do not), single steps, pause from the event loop, the output port, and the stops that
// end a run. Expected values follow from the instructions (Power ISA), not from our output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildPpc64Guest } from '../../debug-adapter/toolchain/ppc64-build';
import { loadElf } from '../../debug-adapter/program/elf-loader';
import { Ppc64Machine } from '../../debug-adapter/vmm/ppc64/ppc64-machine';
import type { Endian } from '../../debug-adapter/toolchain/arch';
import { itWithPpc64Tools } from '../helpers/ppc64-tools';

describe('ppc64: the machine on the software CPU', function () {
  this.timeout(30000);
  let dir: string;
  const machines: Ppc64Machine[] = [];
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-machine-'));
  });
  after(function () {
    for (const m of machines) m.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Builds `lines` (after a marker) and makes a machine; programEnd = 0x100 + 4 × instructions. */
  async function machine(name: string, lines: string[], endian: Endian = 'big'): Promise<Ppc64Machine> {
    const src = path.join(dir, `${name}.s`);
    fs.writeFileSync(src, `# kvm-guest: arch=ppc64\n${lines.join('\n')}\n`);
    const r = await buildPpc64Guest({ source: src, endian });
    assert.ok(r.ok, r.ok ? '' : r.message);
    const image = loadElf(new Uint8Array(fs.readFileSync(r.elf)), r.elf);
    const instructions = lines.filter((l) => /^\s+[a-z]/.test(l)).length;
    const m = new Ppc64Machine({ image, memorySize: 1 << 20, endian, entry: 0x100n, programEnd: 0x100n + BigInt(4 * instructions) });
    machines.push(m);
    return m;
  }

  const LOOP = ['    li 3,0', 'loop:', '    addi 3,3,1', '    cmpwi 3,10', '    bne loop'];

  itWithPpc64Tools(['big'], 'breakpoints stop before their instruction; one armed after its code ran still stops; a disarmed one does not', async function () {
    const m = await machine('loop', LOOP);
    m.setBreakpoints([0x108n]); // cmpwi
    let s = await m.run();
    assert.deepEqual([s.reason, s.pc, m.state().gpr[3]], ['breakpoint', 0x108n, 1n]);
    m.setBreakpoints([0x104n]); // addi: translated already
    s = await m.run();
    assert.deepEqual([s.reason, s.pc, m.state().gpr[3]], ['breakpoint', 0x104n, 1n]);
    s = await m.run(); // resumes from the breakpoint: it is met again one loop later
    assert.deepEqual([s.reason, s.pc, m.state().gpr[3]], ['breakpoint', 0x104n, 2n]);
    m.setBreakpoints([]);
    s = await m.run();
    assert.deepEqual([s.reason, s.pc, m.state().gpr[3]], ['end-of-program', 0x110n, 10n]);
    assert.equal(CR0_EQ(m.state().cr), true, 'cmpwi 3,10 with r3 = 10 set CR0[EQ]');
  });

  itWithPpc64Tools(['little'], 'single steps, little-endian: one instruction each, stepping onto the end is a step', async function () {
    const m = await machine('steps', ['    li 4,7', '    addi 4,4,1'], 'little');
    let s = m.step();
    assert.deepEqual([s.reason, s.pc, m.state().gpr[4]], ['step', 0x104n, 7n]);
    s = m.step();
    assert.deepEqual([s.reason, s.pc, m.state().gpr[4]], ['step', 0x108n, 8n]);
    s = m.step();
    assert.equal(s.reason, 'end-of-program');
  });

  itWithPpc64Tools(['big'], 'a pause from the event loop stops a guest spinning in a loop', async function () {
    const m = await machine('spin', ['loop:', '    addi 5,5,1', '    b loop']);
    setTimeout(() => m.pause(), 100);
    const s = await m.run();
    assert.equal(s.reason, 'paused');
    assert.ok([0x100n, 0x104n].includes(s.pc));
    assert.ok(m.state().gpr[5] > 1000n);
  });

  itWithPpc64Tools(['big'], 'the output port takes stored bytes; an access outside RAM and the port stops the run', async function () {
    const m = await machine('port', ['    lis 9,0x1000', '    li 3,0x4f', '    stb 3,0(9)', '    li 3,0x4b', '    stb 3,0(9)', '    lis 9,0x2000', '    lwz 3,0(9)']);
    const out: number[] = [];
    m.onOutput((b) => out.push(...b));
    const s = await m.run();
    assert.equal(Buffer.from(out).toString('latin1'), 'OK');
    assert.equal(m.outputBytes, 2);
    assert.equal(s.reason, 'unmapped');
    assert.match(s.message, /unmapped memory read at 0x20000000 \(4 bytes\)/);
  });
});

/** CR0's EQ bit (CR bit 2: the third of the top four). */
function CR0_EQ(cr: number): boolean {
  return ((cr >>> 29) & 1) === 1;
}
