// fw_cfg's legacy I/O interface, read by a guest (test/guests/multiboot/fw-cfg.c) through the real
// `kvm-guest run` on each accelerator. Expected values: QEMU's docs/specs/fw_cfg.rst (signature,
// ID bits, big-endian directory, little-endian items) applied to the README's list, and QEMU's own
// behaviour for what the document leaves open (how the two ports answer other widths, the write-
// channel bit), measured by running the same guest under QEMU TCG.
import assert from 'node:assert/strict';
import path from 'node:path';
import { cli, ROOT, runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import { describeWithQemu, qemuKernel } from '../helpers/qemu';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

const FW_CFG_GUEST = path.join(ROOT, 'test', 'guests', 'multiboot', 'fw-cfg.c');

/** What QEMU answers where the specification leaves it open; both machines must print these lines. */
const QEMU_BEHAVIOUR = [
  'signature="QEMU" then 0x00',
  'uuid=00000000000000000000000000000000',
  'nb_cpus=1',
  'max_cpus=1',
  'key 0x4000 reads 0x554d4551',
  'inw 0x511 reads 0x0000, then inb 0x511 reads 0x51, inb 0x510 reads 0x45',
  'key 0x3fff reads 0x00000000',
];

forEachAccelerator('fw_cfg (ports 0x510/0x511)', function (accel: AcceleratorName) {
  this.timeout(120000);
  it('a guest reads the signature, ID, UUID, RAM size, CPU counts and the file directory with its files', function () {
    const { status, json } = runJson([FW_CFG_GUEST, '--memory', '4M', '--accel', accel]);
    assert.equal(json.outcome, 'exited', json.message);
    assert.equal(status, 1);
    const lines = json.serial.split('\n');
    for (const l of QEMU_BEHAVIOUR) assert.ok(lines.includes(l), `${l}\n--- got ---\n${json.serial}`);
    assert.ok(lines.includes('id=0x00000001'), 'traditional interface (bit 0), no DMA (bit 1)');
    assert.ok(lines.includes('ram_size=0x0000000000400000'), '--memory 4M');
    assert.deepEqual(lines.slice(lines.indexOf('files=3')), [
      'files=3',
      'file "etc/e820" select=0x0020 size=80',
      '  e820 base=0x0000000000000000 length=0x0000000000090000 type=1',
      '  e820 base=0x0000000000090000 length=0x0000000000010000 type=2',
      '  e820 base=0x00000000000a0000 length=0x0000000000060000 type=2',
      '  e820 base=0x0000000000100000 length=0x0000000000300000 type=1',
      'file "etc/kvm-guest/accelerator" select=0x0021 size=3',
      `  bytes: ${[...Buffer.from(accel)].map((b) => '0x' + b.toString(16)).join(' ')}`,
      'file "etc/kvm-guest/max-ram" select=0x0022 size=8',
      '  bytes: 0x00 0x00 0x00 0xc0 0x00 0x00 0x00 0x00',
      'done',
      '',
    ]);
  });
});

describeWithQemu('fw_cfg under QEMU TCG (the reference)', function () {
  this.timeout(120000);
  it('QEMU answers the same guest the same way where the specification leaves it open', function () {
    const built = cli(['build', FW_CFG_GUEST, '--mode', 'protected']);
    assert.equal(built.status, 0, built.stderr);
    const r = qemuKernel(built.stdout.split('\n')[0], { memoryMiB: 64 });
    assert.equal(r.status, 1);
    const lines = r.serial.split('\n');
    for (const l of QEMU_BEHAVIOUR) assert.ok(lines.includes(l), `${l}\n--- QEMU printed ---\n${r.serial}`);
    assert.ok(lines.includes('ram_size=0x0000000004000000'), '-m 64');
    assert.ok(lines.some((l) => l.startsWith('file "etc/e820" select=')), 'QEMU offers etc/e820 too');
  });
});
