// The LSE guest under the debugger: a breakpoint in its interrupt handler stops with the device's
// vector in service (the local APIC's ISR), and `.irq`, `.virtio` and the view's request show the
// interrupt controllers and the virtqueue as the guest left them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { guest, ROOT } from '../helpers/cli';
import { lineOf, Session } from '../helpers/dap-session';
import { forEachAccelerator } from '../helpers/accelerators';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';
import type { DevicesSnapshot } from '../../debug-adapter/vmm/vcpu-protocol';

const LSE = guest('lse-virtio', 'lse.c');
const SLEEP = path.join(ROOT, 'test', 'guests', 'interrupts', 'sleep.S');

forEachAccelerator('debugging the LSE guest: interrupts and virtio in the debugger', function (accel: AcceleratorName) {
  this.timeout(120000);
  let x: Session;
  afterEach(async function () {
    await x?.end();
  });

  it('stops in the rng interrupt handler with vector 0x30 in service; .irq and .virtio show the devices (the monitor\'s controllers)', async function () {
    x = await new Session(accel).start();
    const line = lineOf(LSE, /rng_interrupts\+\+;/);
    await x.launch({ program: LSE, mode: 'long', irqchip: 'monitor' }, { [LSE]: [line] });
    const stop = await x.stopped();
    assert.equal(stop.body.reason, 'breakpoint');
    assert.equal((await x.top()).line, line);
    const irq = await x.repl('.irq');
    assert.match(irq, /^local APIC at 0xfee00000: enabled, TPR 0x0, PPR 0x30$/m, irq);
    assert.match(irq, /ISR 0x30 /, 'the vector being handled is in service until the EOI');
    assert.match(irq, /input 16 unmasked vector 0x30 +level .*raised 1, delivered 1 +← virtio-rng at 0xfeb00000/);
    const virtio = await x.repl('.virtio');
    assert.match(virtio, /^virtio-rng \(device id 4\) at 0xfeb00000: status ACKNOWLEDGE\|DRIVER\|DRIVER_OK\|FEATURES_OK$/m, virtio);
    assert.match(virtio, /queue 0 requestq: ready, size 8\/256/);
    assert.match(virtio, /avail idx 1 \(device has read up to 1\), used idx 1, 1 requests served/);
    assert.match(virtio, /desc {3}0: 0x[0-9a-f]+ len 16 flags 2 next 0/, 'the guest\'s one device-writable 16-byte buffer');
    assert.match(virtio, /served: head 0, 0 bytes read, 16 written/);
    const data = (await x.dc.customRequest('kvmGuest/devices')).body as DevicesSnapshot;
    assert.deepEqual(data.lapic.isr, [0x30]);
    assert.deepEqual(data.virtio.map((v) => v.name), ['virtio-rng', 'virtio-console']);
    // Continue to the console's handler: the rng handler's EOI took 0x30 out of service.
    const consoleLine = lineOf(LSE, /console_interrupts\+\+;/);
    await x.dc.setBreakpointsRequest({ source: { path: LSE }, breakpoints: [{ line: consoleLine }] });
    await x.continueTo();
    assert.equal((await x.top()).line, consoleLine);
    const irq2 = await x.repl('.irq');
    assert.match(irq2, /ISR 0x31 /, irq2);
    assert.match(irq2, /vectors taken by the CPU: 0x30 ×1, 0x31 ×1$/m);
    assert.match(x.stdout, /^virtio-rng interrupts: 1$/m);
  });

  if (accel !== 'kvm') return;
  // KVM's in-kernel controllers (the default for a machine with devices): the views read them back
  // with KVM_GET_IRQCHIP / KVM_GET_LAPIC, and the device thread's eventfd work is counted.
  it('with KVM\'s in-kernel controllers: a breakpoint in the handler; .irq shows KVM\'s I/O APIC entry and the eventfd work', async function () {
    x = await new Session(accel).start();
    const line = lineOf(LSE, /rng_interrupts\+\+;/);
    await x.launch({ program: LSE, mode: 'long' }, { [LSE]: [line] });
    const stop = await x.stopped();
    assert.equal(stop.body.reason, 'breakpoint');
    assert.equal((await x.top()).line, line);
    const irq = await x.repl('.irq');
    assert.match(irq, /^KVM's in-kernel interrupt controllers/m, irq);
    assert.match(irq, /input 16 unmasked vector 0x30 +level fixed → APIC ID 0x0 +raised 1 +← virtio-rng at 0xfeb00000$/m, irq);
    assert.match(irq, /^device thread: 1 notifications by ioeventfd, 1 interrupts by irqfd/m, irq);
    const data = (await x.dc.customRequest('kvmGuest/devices')).body as DevicesSnapshot;
    assert.equal(data.controllers, 'kernel');
    assert.deepEqual(data.virtio.map((v) => [v.name, v.notifications, v.interrupts]), [['virtio-rng', 1, 1], ['virtio-console', 0, 0]]);
    if (!fs.existsSync('/sys/module/kvm_pvm')) assert.deepEqual(data.lapic.isr, [0x30], 'in service until the EOI (KVM_GET_LAPIC)');
    await x.dc.setBreakpointsRequest({ source: { path: LSE }, breakpoints: [] });
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.dc.continueRequest({ threadId: 1 });
    await terminated;
    assert.match(x.stdout, /^virtio-rng interrupts: 1$/m);
    assert.match(x.stdout, /^virtio-console interrupts: 2$/m);
  });
  // With KVM's controllers a guest waiting in `sti; hlt` sleeps inside KVM_RUN: pause must still
  // reach it, and continue put it back to sleep rather than end the session.
  it('with KVM\'s in-kernel controllers: a guest asleep in HLT pauses there (RIP after the HLT), continues asleep, and pauses again', async function () {
    x = await new Session(accel).start();
    await x.launch({ program: SLEEP, mode: 'long', irqchip: 'kernel' });
    const sleepLine = lineOf(SLEEP, /^sleep:\s+hlt/);
    for (let round = 0; round < 2; round++) {
      await new Promise((r) => setTimeout(r, 300));
      const stopped = x.stopped();
      await x.dc.pauseRequest({ threadId: 1 });
      assert.equal((await stopped).body.reason, 'pause');
      assert.equal((await x.top()).line, sleepLine + 1, 'the next instruction: jmp sleep');
      if (round === 0) await x.dc.continueRequest({ threadId: 1 });
    }
    assert.equal(x.stdout, 'sleeping with interrupts on\n');
  });

  // kvm_pvm (seen in /sys/module, not asked of the product) acknowledges a level-triggered interrupt
  // at delivery: its LAPIC shows nothing in service inside the handler.
  if (fs.existsSync('/sys/module/kvm_pvm'))
    it('with KVM\'s in-kernel controllers, the handler\'s vector is in service (ISR) until the EOI [pending: this host\'s KVM is kvm_pvm, whose in-kernel LAPIC acknowledges at delivery]');
});
