// 8-byte MMIO accesses as KVM reports them: one access of 8 bytes per instruction (kvm_run.mmio.len
// = 8), on the software CPU too, where Unicorn hands them to its MMIO region in two 4-byte halves
// (debug-adapter/vmm/tcg/whole-mmio.ts). The guest is test/guests/virtio/whole-mmio.c.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

const GUEST = path.join(ROOT, 'test', 'guests', 'virtio', 'whole-mmio.c');

forEachAccelerator('8-byte MMIO stores and loads', function (accel: AcceleratorName) {
  this.timeout(60000);

  it('each MOV is one 8-byte access: counted once at its address, served whole by the device', function () {
    const { status, json } = runJson([GUEST, '--accel', accel]);
    assert.equal(status, 0, json.message);
    assert.equal(json.outcome, 'halted');
    assert.deepEqual(json.mmio, {
      '0xd0000000': { read: 0, write: 1 }, // nothing there
      '0xd0000008': { read: 1, write: 0 },
      '0xfeb00108': { read: 0, write: 1 }, // virtio-console config: emerg_wr
      '0xfeb00100': { read: 1, write: 0 }, // cols, rows, max_nr_ports
      '0xfeb00080': { read: 0, write: 1 }, // QueueDescLow (and High, as one access)
      '0xfeb00000': { read: 1, write: 0 }, // MagicValue (and Version)
    });
    assert.equal(json.exits.MMIO, 6);
    // Nothing decodes 0xd0000000: all-ones, as one 8-byte read.
    assert.match(json.serial, /^unmapped: ffffffffffffffff$/m);
    // emerg_wr printed its low byte once; cols, rows and max_nr_ports (no terminal, no multiport) are 0.
    assert.match(json.serial, /^!$/m);
    assert.match(json.serial, /^config: 0000000000000000$/m);
    // A register takes 32-bit accesses only: an 8-byte one is refused whole (two halves would have
    // read MagicValue and Version, and set the descriptor table's address).
    assert.match(json.serial, /^registers: 0000000000000000$/m);
    // (The device reports a kind of mistake once: the write's report stands for both.)
    assert.deepEqual(json.deviceEvents.map((e) => /\d+-byte \w+ at register offset 0x[0-9a-f]+/.exec(e)?.[0]), ['8-byte write at register offset 0x80']);
    assert.deepEqual(json.unmapped.map((u) => [u.address, u.write]), [['0xd0000000', true], ['0xd0000008', false]]);
  });
});
