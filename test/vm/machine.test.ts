// The monitor's API on each accelerator: pause from the main thread, teardown without leaks, and the
// vCPU worker serving I/O exits while the main thread stays free.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Machine } from '../../debug-adapter/vmm/machine';
import { prepareGuest } from '../../debug-adapter/guest-setup';
import { loadFlat } from '../../debug-adapter/program/elf-loader';
import type { AcceleratorInfo } from '../../debug-adapter/vmm/accelerator';
import { guest } from '../helpers/cli';
import { acceleratorInfo, forEachAccelerator } from '../helpers/accelerators';

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

forEachAccelerator('Machine', function (accel) {
  this.timeout(60000);
  let accelerator: AcceleratorInfo;
  before(async function () {
    accelerator = await acceleratorInfo(accel);
  });

  it('runs on the accelerator it was given', async function () {
    const m = await Machine.create({
      memorySize: 2 << 20,
      mode: 'protected',
      image: loadFlat(new Uint8Array([0xf4]), 'hlt', 0x100000),
      entry: { kind: 'linear', address: 0x100000 },
      accelerator,
    });
    try {
      assert.equal(m.accelerator.name, accel);
      const stop = await m.run(5000);
      assert.equal(stop.reason, 'halted');
      assert.equal(stop.accelerator, accel);
      assert.equal(stop.regs.rip, 0x100001n, 'RIP is past the HLT');
      assert.deepEqual(stop.stats.exits, { HLT: 1 });
    } finally {
      await m.destroy();
    }
  });

  it('pauses kernel1 after 200 ms with RIP inside its loop, then tears down without leaking fds', async function () {
    const prepared = await prepareGuest({ file: guest('linux-journal', 'kernel1.S') });
    const image = prepared.machine.image.segments[0].data;
    const loop = Buffer.from(image).indexOf(Buffer.from([0xeb, 0xfe]));
    const fdsBefore = openFds();
    const m = await Machine.create({ ...prepared.machine, accelerator });
    setTimeout(() => m.pause(), 200);
    const t0 = performance.now();
    const stop = await m.run();
    const elapsed = performance.now() - t0;
    assert.equal(stop.reason, 'paused');
    assert.ok(elapsed >= 190, `ran ${elapsed} ms before the pause`);
    assert.equal(stop.regs.rip, BigInt(loop));
    assert.equal(stop.sregs.cs.base, 0xf0000n);
    // It can run on after a pause, and pause again.
    setTimeout(() => m.pause(), 50);
    assert.equal((await m.run()).reason, 'paused');
    await m.destroy();
    assert.equal(openFds(), fdsBefore, accel === 'kvm' ? 'VM, vCPU and /dev/kvm fds are closed' : 'every fd the engine opened is closed');
  });

  it('a timeout stops a guest spinning with interrupts off', async function () {
    const m = await Machine.create({
      memorySize: 2 << 20,
      mode: 'long',
      image: loadFlat(new Uint8Array([0xfa, 0xeb, 0xfe]), 'spin', 0x100000), // cli; jmp .
      entry: { kind: 'linear', address: 0x100000 },
      accelerator,
    });
    try {
      const stop = await m.run(150);
      assert.equal(stop.reason, 'timeout');
      assert.equal(stop.regs.rip, 0x100001n);
      assert.equal(stop.regs.rflags & 0x200n, 0n);
    } finally {
      await m.destroy();
    }
  });

  it('feeds the UART receive queue: a guest echoes what it is sent', async function () {
    // 1: in LSR; test DR; jz 1b; in RBR; cmp '\n'; out THR; jne 1b; hlt   (32-bit, port in %dx)
    const code = [
      0x66, 0xba, 0xfd, 0x03, // mov $0x3fd,%dx
      0xec, // in (%dx),%al
      0xa8, 0x01, // test $1,%al
      0x74, 0xfb, // jz -5 (back to in)
      0x66, 0xba, 0xf8, 0x03, // mov $0x3f8,%dx
      0xec, // in (%dx),%al
      0xee, // out %al,(%dx)
      0x3c, 0x0a, // cmp $'\n',%al
      0x75, 0xed, // jne back to the first mov
      0xf4, // hlt
    ];
    const m = await Machine.create({
      memorySize: 2 << 20,
      mode: 'protected',
      image: loadFlat(new Uint8Array(code), 'echo', 0x100000),
      entry: { kind: 'linear', address: 0x100000 },
      accelerator,
    });
    const out: Buffer[] = [];
    m.onOutput((b) => out.push(Buffer.from(b)));
    try {
      const running = m.run(10000);
      setTimeout(() => m.sendInput(Buffer.from('ping\n')), 50);
      const stop = await running;
      assert.equal(stop.reason, 'halted');
      assert.equal(Buffer.concat(out).toString(), 'ping\n');
      assert.equal(stop.stats.ports[0x3f8].in, 5, 'one RBR read per character');
      assert.equal(stop.stats.ports[0x3f8].out, 5, 'one THR write per character');
    } finally {
      await m.destroy();
    }
  });
});
