// The LSE "writing a VMM" guest (guests/lse-virtio/lse.c) through the real `kvm-guest run`: it reads
// start_info at EBX, drives virtio-rng with an interrupt (IDT + I/O APIC + local APIC EOI), talks
// through virtio-console (output, and one line of input echoed back) and ends the input wait with a
// local APIC timer interrupt. Expectations come from the start_info layout, the guest's own program
// and the virtio spec (one used-ring entry and one used-buffer interrupt per request).
import assert from 'node:assert/strict';
import path from 'node:path';
import { cli, guest, ROOT, runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

const LSE = guest('lse-virtio', 'lse.c');

// The software CPU runs the guest as the slides do, in 32-bit protected mode, and in long mode; KVM
// in long mode (kvm_pvm, this project's development host, cannot emulate a 32-bit IRET), with KVM's
// in-kernel interrupt controllers (the default for a machine with devices) and with the monitor's.
const CONFIGS: Record<AcceleratorName, { mode: string; irqchip: 'monitor' | 'kernel' }[]> = {
  tcg: [{ mode: 'protected', irqchip: 'monitor' }, { mode: 'long', irqchip: 'monitor' }],
  kvm: [{ mode: 'long', irqchip: 'kernel' }, { mode: 'long', irqchip: 'monitor' }],
};

forEachAccelerator('the LSE guest: start_info, virtio-rng and virtio-console with interrupts', function (accel: AcceleratorName) {
  this.timeout(120000);
  for (const { mode, irqchip } of CONFIGS[accel]) describe(`${mode} mode, ${irqchip === 'kernel' ? 'KVM\'s in-kernel' : 'the monitor\'s'} interrupt controllers`, function () {
  const kernel = irqchip === 'kernel';
  const run = (input = '', extra: string[] = []) => runJson([LSE, '--accel', accel, '--mode', mode, '--irqchip', irqchip, '--timeout', '20', ...extra], { input });

  it('finds the memory map and both devices in start_info, at the documented addresses and I/O APIC inputs', function () {
    const { status, json } = run();
    assert.equal(status, 0, json.message);
    assert.equal(json.outcome, 'halted');
    assert.match(json.serial, /^start_info at 0x00098000: 2048 KiB of RAM, I\/O APIC at 0xfec00000$/m);
    assert.match(json.serial, /^ {2}0x00090000-0x0009ffff rw init$/m);
    assert.match(json.serial, /^ {2}0x00100000-0x0010[0-9a-f]fff rw kernel$/m, 'the ELF\'s pages (text, then data/bss)');
    assert.match(json.serial, /^ {2}0xfeb00000 irq 16 virtio-rng$/m);
    assert.match(json.serial, /^ {2}0xfeb00200 irq 17 virtio-console$/m);
  });

  it('virtio-rng fills the 16-byte buffer (used.len 16) with one interrupt taken through the IDT; two runs differ', function () {
    const bytes = (serial: string): string => /virtio-rng: 16 random bytes:((?: [0-9a-f]{2}){16})$/m.exec(serial)?.[1] ?? '';
    const a = run().json;
    const b = run().json;
    assert.notEqual(bytes(a.serial), '', a.serial);
    assert.notEqual(bytes(a.serial), bytes(b.serial), 'random bytes repeat across runs');
    assert.match(a.serial, /^virtio-rng interrupts: 1$/m);
    const rng = a.virtio!.find((v) => v.device === 'virtio-rng')!;
    assert.deepEqual(rng.status, ['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']);
    assert.deepEqual(rng.queues.map((q) => [q.name, q.size, q.served, q.usedIdx]), [['requestq', 8, 1, 1]]);
    assert.equal(rng.notifications, 1);
    const line16 = a.interrupts!.lines.find((l) => l.pin === 16)!;
    assert.equal(a.interrupts!.controllers, irqchip);
    // KVM's I/O APIC delivers without the monitor seeing it: no delivery count there.
    assert.deepEqual([line16.vector, line16.raised, line16.delivered], [0x30, 1, kernel ? undefined : 1]);
  });

  it('virtio-console: output through transmitq; no input → the local APIC timer ends the wait after its second', function () {
    const { json } = run();
    assert.match(json.serial, /^hello through virtio-console$/m);
    assert.match(json.serial, /^no input within a second$/m);
    assert.match(json.serial, /^virtio-console interrupts: 2$/m, 'one used-buffer interrupt per transmitted line');
    assert.deepEqual(json.interrupts!.vectors, kernel ? undefined : { '0x30': 1, '0x31': 2, '0x32': 1 });
    const con = json.virtio!.find((v) => v.device === 'virtio-console')!;
    assert.deepEqual(con.queues.map((q) => [q.name, q.served]), [['receiveq0', 0], ['transmitq0', 2]]);
  });

  it('virtio-console input round trip: a line on standard input comes back through the guest', function () {
    const { json } = run('ping from the host\n');
    assert.match(json.serial, /^echo: ping from the host$/m, json.serial);
    const con = json.virtio!.find((v) => v.device === 'virtio-console')!;
    assert.deepEqual(con.queues.map((q) => [q.name, q.served]), [['receiveq0', 1], ['transmitq0', 2]]);
  });

  it('--stats prints interrupts by I/O APIC input and each virtio queue', function () {
    const r = cli(['run', LSE, '--accel', accel, '--mode', mode, '--irqchip', irqchip, '--stats']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, kernel ? /input 16 +virtio-rng at 0xfeb00000 +vector 0x30 +raised 1$/m : /input 16 +virtio-rng at 0xfeb00000 +vector 0x30 +raised 1 +delivered 1$/m);
    assert.match(r.stderr, /virtio-console at 0xfeb00200: status ACKNOWLEDGE\|DRIVER\|DRIVER_OK\|FEATURES_OK/);
    assert.match(r.stderr, /transmitq0 +size 8 +served 2/);
  });

  it('without devices the guest finds none (--device overrides the source\'s devices= comment)', function () {
    const { json } = run('', ['--device', '']);
    assert.match(json.serial, /^no virtio-rng \(run with --device virtio-rng\)$/m);
    assert.deepEqual(json.virtio, []);
  });
  });

  if (accel === 'kvm')
    // HLT counts may differ: a device answers "soon" (at once on KVM, at the software CPU's next
    // stop), so whether the guest got to sleep before the interrupt came is timing, not architecture.
    it('long mode, the monitor\'s controllers on both: KVM and the software CPU agree on output, I/O and MMIO exits, interrupts and requests', function () {
      const masked = (serial: string): string => serial.replace(/(random bytes:)(?: [0-9a-f]{2})+/, '$1 …');
      const [k, t] = (['kvm', 'tcg'] as const).map((a) => runJson([LSE, '--accel', a, '--mode', 'long', '--irqchip', 'monitor', '--timeout', '20']).json);
      const withoutHlt = (e: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(e).filter(([n]) => n !== 'HLT'));
      assert.equal(masked(k.serial), masked(t.serial));
      assert.deepEqual(withoutHlt(k.exits), withoutHlt(t.exits));
      assert.deepEqual(k.mmio, t.mmio);
      assert.deepEqual(k.interrupts, t.interrupts);
      assert.deepEqual(k.virtio, t.virtio);
    });
});

describe('--device: bad input', function () {
  it('an unknown device is a usage error naming the choices', function () {
    const r = cli(['run', LSE, '--device', 'virtio-gpu']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown device 'virtio-gpu': choose from virtio-rng, virtio-console/);
  });
  it('a real-mode guest cannot have virtio devices', function () {
    const r = cli(['run', guest('linux-journal', 'kernel2.S'), '--device', 'virtio-rng']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /virtio devices need a protected, paged32 or long-mode guest/);
  });
});

// A hostile driver (test/guests/virtio/hostile-ring.c): the device must never crash, hang or touch
// memory outside guest RAM; per the virtio spec (2.1.2) a broken ring sets DEVICE_NEEDS_RESET (0x40)
// and the driver recovers by a reset. Each kind of mistake is reported once, the run goes on.
forEachAccelerator('virtio: a hostile driver', function (accel: AcceleratorName) {
  this.timeout(60000);
  it('bad rings set DEVICE_NEEDS_RESET, a reset recovers, each mistake is reported once, the run ends halted', function () {
    const { status, json } = runJson([path.join(ROOT, 'test', 'guests', 'virtio', 'hostile-ring.c'), '--accel', accel]);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, [
      'buffer outside RAM: status 0x0000004f', // ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK + DEVICE_NEEDS_RESET
      'descriptor loop: status 0x0000004f',
      'good request after reset: 00000010 bytes',
      '',
    ].join('\n'));
    const events = json.deviceEvents;
    assert.equal(new Set(events).size, events.length, 'each reported once');
    for (const re of [/QueueNotify 0 before DRIVER_OK/, /read-only register 0x0/, /1-byte write at register offset 0x70/, /buffer 0xffffffff00000000 \(16 bytes\) is outside guest RAM/, /longer than its queue \(8 entries\): a loop/])
      assert.ok(events.some((e) => re.test(e)), `${re} among:\n${events.join('\n')}`);
  });
});
