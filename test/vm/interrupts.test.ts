// The local APIC timer alone, on each accelerator (test/guests/interrupts/lapic-timer.c): a periodic
// timer wakes a guest sleeping in `sti; hlt` exactly as often as it counts (SDM: one interrupt per
// period, HLT resumes after the handler's IRET), and a software-disabled APIC holds its interrupts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';
import type { RunJson } from '../helpers/cli';

/**
 * On KVM each guest also runs on KVM's in-kernel LAPIC, I/O APIC and PIT (`--irqchip kernel`): an
 * independent implementation of the same chips, which must print the same. Nothing of the
 * interrupt path then reaches user space: no HLT, interrupt-injection or APIC (MMIO) exits.
 */
function inKernel(accel: AcceleratorName, guest: string, serial: string, kernelPorts: number[]): void {
  if (accel !== 'kvm') return;
  it('KVM\'s in-kernel controllers (--irqchip kernel) give the same output, with no interrupt exit reaching user space', function () {
    const { status, json } = runJson([guest, '--accel', accel, '--irqchip', 'kernel', '--timeout', '20']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, serial);
    assert.equal(json.interrupts?.controllers, 'kernel');
    assert.deepEqual(Object.keys(json.exits), ['IO'], 'only the UART (and ports KVM does not serve) exit');
    for (const p of kernelPorts) assert.equal((json.ports as RunJson['ports'])[`0x${p.toString(16)}`], undefined, `port 0x${p.toString(16)} is KVM's`);
  });
}

const GUEST = path.join(ROOT, 'test', 'guests', 'interrupts', 'lapic-timer.c');

forEachAccelerator('interrupts: the local APIC timer', function (accel: AcceleratorName) {
  this.timeout(60000);
  it('five periodic ticks wake five HLTs through the IDT; a disabled APIC holds the sixth', function () {
    const { status, json } = runJson([GUEST, '--accel', accel, '--timeout', '20']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'ticks: 5\ndisabled APIC held the tick\n');
    assert.deepEqual(json.interrupts?.vectors, { '0x40': 5 });
    assert.equal(json.exits.INTERRUPT, 5, 'one delivery per tick');
    assert.equal(json.exits.HLT, 6, 'five sleeps, then the final hlt with interrupts off');
  });
  inKernel(accel, GUEST, 'ticks: 5\ndisabled APIC held the tick\n', []);
});

// STI's shadow (SDM vol. 2, STI: interrupts are recognised only after the instruction that follows
// STI): with a tick pending while IF = 0, `sti; cli` takes nothing and `sti; hlt` is woken by it.
forEachAccelerator('interrupts: STI\'s one-instruction shadow', function (accel: AcceleratorName) {
  this.timeout(60000);
  it('a pending interrupt is not taken between STI and CLI, and wakes the HLT after STI (no lost wake-up)', function () {
    const { status, json } = runJson([path.join(ROOT, 'test', 'guests', 'interrupts', 'sti-shadow.c'), '--accel', accel, '--timeout', '20']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'sti; cli: no interrupt in the shadow\nsti; hlt: woken by the pending tick\n');
    assert.equal(json.exits.INTERRUPT, 1);
  });
  inKernel(accel, path.join(ROOT, 'test', 'guests', 'interrupts', 'sti-shadow.c'), 'sti; cli: no interrupt in the shadow\nsti; hlt: woken by the pending tick\n', []);
});

// The 8254 PIT (Intel 8254 data sheet; PC wiring: counter 0 → ISA IRQ 0 → I/O APIC input 2).
forEachAccelerator('interrupts: the 8254 PIT', function (accel: AcceleratorName) {
  this.timeout(60000);
  it('counter 0 in mode 2 wakes five HLTs through I/O APIC input 2; counter 2 counts down when latched', function () {
    const { status, json } = runJson([path.join(ROOT, 'test', 'guests', 'interrupts', 'pit.c'), '--accel', accel, '--timeout', '20']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'pit ticks: 5\ncounter 2 counts down\n');
    assert.deepEqual(json.interrupts?.vectors, { '0x20': 5 });
    const line = json.interrupts?.lines.find((l) => l.pin === 2);
    assert.deepEqual([line?.source, line?.raised, line?.delivered], ['8254 PIT counter 0 (ISA IRQ 0)', 5, 5]);
  });
  inKernel(accel, path.join(ROOT, 'test', 'guests', 'interrupts', 'pit.c'), 'pit ticks: 5\ncounter 2 counts down\n', [0x40, 0x42, 0x43]);
});
