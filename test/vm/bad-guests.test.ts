// Guests that go wrong, on each accelerator, through the real `kvm-guest run`: the outcome and exit
// status are the same everywhere (README: 3 triple fault, 5 accelerator internal error), the PC is at
// the instruction that could not go on, and the software CPU names the chain of events (SDM 6.15:
// an IDT entry that is not a gate raises #GP(vector·8+2+EXT); a second fault while delivering
// → #DF; a fault while delivering #DF → shutdown).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

forEachAccelerator('guests that go wrong', function (accel: AcceleratorName) {
  this.timeout(60000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bad-guests-${accel}-`))));
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('a malformed IDT (every entry zero: no gate) with ud2: triple fault, exit 3, RIP at the ud2', function () {
    const file = write('badidt.S', [
      '.code32', '.section .start, "ax"', '.globl _start', '_start:', '    lidt idtr', 'fault:', '    ud2', '    hlt',
      '.section .data', 'idtr:', '    .word 0x7ff', '    .long table', '.balign 8', 'table:', '    .fill 256, 8, 0', '',
    ].join('\n'));
    const { status, json } = runJson([file, '--accel', accel]);
    assert.equal(json.outcome, 'shutdown', json.message);
    assert.equal(status, 3);
    assert.equal(json.registers.rip, '0x100007', 'lidt idtr is 7 bytes at 0x100000; the ud2 follows');
    assert.equal(json.registers.idtr_limit, '0x7ff');
    assert.match(json.message, /guest triple-faulted .*0f 0b {2}\(ud2\)/);
    if (accel === 'tcg')
      assert.match(json.message, /#UD \(vector 6\) at 0x100007: IDT entry 6 \(0x0\) is not an interrupt, trap or task gate \(type 0x0\) → #GP → #DF → triple fault/);
  });

  it('a jump to unmapped memory: internal error, exit 5, RIP at the target', function () {
    const file = write('fetch.S', ['.code64', '.section .start, "ax"', '.globl _start', '_start:', '    movl $0xd0000000, %eax', '    jmp *%rax', ''].join('\n'));
    const { status, json } = runJson([file, '--accel', accel]);
    assert.equal(json.outcome, 'internal-error', json.message);
    assert.equal(status, 5);
    assert.equal(json.registers.rip, '0xd0000000');
    assert.match(json.message, accel === 'tcg' ? /^instruction fetch from unmapped guest-physical address 0xd0000000 at RIP 0xd0000000/ : /^KVM internal error: emulation failure/);
  });
});
