// virtio-console input for a guest that never waits (test/guests/virtio/console-spin.c): interrupts
// masked, no HLT, no exit while it spins on its receive queue's used ring, whose buffer no
// QueueNotify announced. The monitor must look at the console while the guest runs: on the software
// CPU between the pieces it runs the guest in, on KVM in the device thread (KVM's in-kernel
// controllers) or, with the monitor's, by kicking the vCPU out of KVM_RUN when input arrives.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

const GUEST = path.join(ROOT, 'test', 'guests', 'virtio', 'console-spin.c');

forEachAccelerator('virtio-console input for a guest spinning with interrupts masked', function (accel: AcceleratorName) {
  this.timeout(60000);

  for (const irqchip of accel === 'kvm' ? ['kernel', 'monitor'] : ['monitor'])
  it(`a line on standard input reaches the spinning guest, which echoes it and halts${accel === 'kvm' ? ` (--irqchip ${irqchip})` : ''}`, function () {
    // Without a look at the console while the guest runs, it spins until this timeout ends the run.
    const { status, json } = runJson([GUEST, '--accel', accel, '--irqchip', irqchip, '--timeout', '15'], { input: 'ping from the host\n' });
    assert.equal(status, 0, json.message);
    assert.equal(json.outcome, 'halted', json.serial);
    assert.equal(json.serial, 'echo: ping from the host\n');
    const con = json.virtio!.find((v) => v.device === 'virtio-console')!;
    assert.ok(con.queues[0].served >= 1, 'the receive buffer came back');
    assert.equal(con.queues[1].served, 1);
    assert.deepEqual(json.interrupts?.vectors ?? {}, {}, 'no interrupt taken');
  });
});
