// KVM's in-kernel interrupt controllers with the virtio devices in the device thread: the LSE guest
// prints the same as with the monitor's controllers, and the exit statistics show what moved into
// the kernel. The expected counts come from the guest's program and the virtio-mmio register map
// (one QueueNotify write per notification: 1 for the rng request, 1 for the console's receive
// buffer, 1 per transmitted line), never from a run of ours.
import assert from 'node:assert/strict';
import path from 'node:path';
import { guest, ROOT, RunJson, runJson } from '../helpers/cli';
import { kvmOnly, kvmProblem } from '../helpers/accelerators';
import { kvmReference } from '../helpers/kvm-reference';

const LSE = guest('lse-virtio', 'lse.c');
const SLEEP = path.join(ROOT, 'test', 'guests', 'interrupts', 'sleep.S');
const PLAYGROUND = guest('long-mode-playground', 'playground.S');
/** virtio-mmio QueueNotify of the rng (window 0) and the console (window 1). */
const RNG_NOTIFY = '0xfeb00050';
const CONSOLE_NOTIFY = '0xfeb00250';
/** Notifications the guest makes (see above). */
const NOTIFICATIONS = { rng: 1, console: 3 };

type Irqchip = 'monitor' | 'kernel' | 'kernel-no-eventfds';
const lse = (irqchip: Irqchip, input = ''): RunJson => {
  const flags = irqchip === 'monitor' ? ['--irqchip', 'monitor'] : irqchip === 'kernel' ? ['--irqchip', 'kernel'] : ['--irqchip', 'kernel', '--no-eventfds'];
  const { status, json } = runJson([LSE, '--accel', 'kvm', '--mode', 'long', '--timeout', '20', ...flags], { input });
  assert.equal(status, 0, json.message);
  assert.equal(json.outcome, 'halted');
  return json;
};
const mmioTo = (json: RunJson, prefix: string): number =>
  Object.entries(json.mmio).filter(([a]) => a.startsWith(prefix)).reduce((n, [, c]) => n + c.read + c.write, 0);

/** Why this host's KVM has no in-kernel irqchip with eventfds, by the tests' own C probe (undefined: it has). */
const irqchipProblem = kvmProblem === undefined && !kvmReference().irqchip ? kvmReference().notes.irqchip : undefined;

kvmOnly('KVM\'s in-kernel irqchip, irqfd and ioeventfd', function () {
  this.timeout(120000);
  if (irqchipProblem !== undefined) {
    it(`the in-kernel irqchip with irqfd and ioeventfd [pending: reference probe: ${irqchipProblem}]`);
    return;
  }
  let monitor: RunJson, kernel: RunJson, plain: RunJson;
  before(function () {
    monitor = lse('monitor');
    kernel = lse('kernel');
    plain = lse('kernel-no-eventfds');
  });

  it('the LSE guest prints the same and its devices serve the same requests as with the monitor\'s controllers', function () {
    const masked = (serial: string): string => serial.replace(/(random bytes:)(?: [0-9a-f]{2})+/, '$1 …');
    assert.equal(masked(kernel.serial), masked(monitor.serial));
    assert.match(kernel.serial, /^virtio-rng interrupts: 1$/m);
    assert.match(kernel.serial, /^virtio-console interrupts: 2$/m);
    assert.deepEqual(kernel.virtio, monitor.virtio);
    assert.equal(kernel.interrupts?.controllers, 'kernel');
    assert.deepEqual(kernel.interrupts?.lines.map((l) => [l.pin, l.vector, l.raised]), monitor.interrupts?.lines.filter((l) => l.pin >= 16).map((l) => [l.pin, l.vector, l.raised]));
  });

  it('ioeventfd: no queue notification exits to user space; each one is counted by the device thread instead', function () {
    assert.equal(kernel.mmio[RNG_NOTIFY], undefined);
    assert.equal(kernel.mmio[CONSOLE_NOTIFY], undefined);
    assert.equal(kernel.interrupts?.eventfds?.ioeventfdNotifications, NOTIFICATIONS.rng + NOTIFICATIONS.console);
    // Without eventfds the same notifications are MMIO exits, one per QueueNotify write.
    assert.deepEqual(plain.mmio[RNG_NOTIFY], { read: 0, write: NOTIFICATIONS.rng });
    assert.deepEqual(plain.mmio[CONSOLE_NOTIFY], { read: 0, write: NOTIFICATIONS.console });
    assert.equal(plain.interrupts?.eventfds?.ioeventfdNotifications, 0);
    assert.equal(kernel.virtio?.reduce((n, v) => n + v.notifications, 0), NOTIFICATIONS.rng + NOTIFICATIONS.console);
  });

  it('irqfd: each interrupt the devices raise is asserted through its eventfd (KVM_IRQ_LINE without eventfds: raise and lower)', function () {
    const raised = kernel.interrupts!.lines.reduce((n, l) => n + l.raised, 0);
    assert.equal(raised, 3, 'one rng interrupt, two console interrupts (one per transmitted line)');
    assert.equal(kernel.interrupts?.eventfds?.irqfdInjections, raised);
    assert.equal(kernel.interrupts?.eventfds?.irqLineCalls, 0);
    assert.equal(plain.interrupts?.eventfds?.irqfdInjections, 0);
    assert.equal(plain.interrupts?.eventfds?.irqLineCalls, 2 * raised, 'each interrupt: the line raised, then lowered by the guest\'s InterruptACK');
  });

  it('the local APIC, I/O APIC and HLT stay in the kernel: none of their exits reach user space (the monitor\'s controllers: every one does)', function () {
    for (const json of [kernel, plain]) {
      assert.equal(mmioTo(json, '0xfee'), 0, 'local APIC accesses');
      assert.equal(mmioTo(json, '0xfec'), 0, 'I/O APIC accesses');
      assert.equal(json.exits.HLT, undefined);
      assert.equal(json.exits.INTERRUPT, undefined);
      assert.equal(json.exits.IRQ_WINDOW_OPEN, undefined);
    }
    // The guest: 2 I/O APIC entries routed (select + window, twice each), 4 EOIs (rng, two console, the timer).
    assert.equal(monitor.mmio['0xfee000b0']?.write, 4);
    assert.equal(mmioTo(monitor, '0xfec'), 8);
    assert.equal(monitor.exits.INTERRUPT, 4);
    assert.ok(kernel.exits.MMIO < plain.exits.MMIO && plain.exits.MMIO < monitor.exits.MMIO, `MMIO exits: kernel ${kernel.exits.MMIO}, no eventfds ${plain.exits.MMIO}, monitor ${monitor.exits.MMIO}`);
  });

  it('virtio-console input reaches the guest through the device thread', function () {
    const json = lse('kernel', 'ping through the device thread\n');
    assert.match(json.serial, /^echo: ping through the device thread$/m, json.serial);
  });

  it('a HLT with interrupts off ends the run as with the monitor\'s controllers (same registers): the device thread\'s halt check', function () {
    const k = runJson([PLAYGROUND, '--accel', 'kvm', '--irqchip', 'kernel']).json;
    const m = runJson([PLAYGROUND, '--accel', 'kvm', '--irqchip', 'monitor']).json;
    assert.equal(k.outcome, 'halted', k.message);
    assert.equal(k.serial, m.serial);
    assert.deepEqual(k.registers, m.registers);
    assert.ok((k.interrupts?.eventfds?.haltChecks ?? 0) >= 1);
  });

  it('a HLT with interrupts on sleeps in the kernel until a stop, as on QEMU (the monitor\'s controllers end it: nothing can wake it)', function () {
    const k = runJson([SLEEP, '--accel', 'kvm', '--mode', 'long', '--irqchip', 'kernel', '--timeout', '1']);
    assert.equal(k.json.outcome, 'timeout', k.json.message);
    assert.equal(k.status, 4);
    assert.equal(k.json.serial, 'sleeping with interrupts on\n');
    const m = runJson([SLEEP, '--accel', 'kvm', '--mode', 'long', '--irqchip', 'monitor']).json;
    assert.equal(m.outcome, 'halted');
    assert.equal(k.json.registers.rip, m.registers.rip, 'both after the HLT');
  });
});

describe('--irqchip: bad input', function () {
  it('an unknown value is a usage error naming the choices', function () {
    const r = runJson([LSE, '--irqchip', 'apic']);
    assert.equal(r.status, 1);
    assert.match(r.json.message, /unknown irqchip 'apic': choose one of auto, monitor, kernel/);
  });
  it('the software CPU has no in-kernel irqchip: --irqchip kernel says so', function () {
    const r = runJson([LSE, '--accel', 'tcg', '--irqchip', 'kernel']);
    assert.equal(r.status, 1);
    assert.match(r.json.message, /the software CPU has no in-kernel irqchip/);
  });
});
