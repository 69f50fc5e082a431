// The I/O APIC and local APIC against their specifications (82093AA datasheet; Intel SDM vol. 3A,
// "Advanced Programmable Interrupt Controller"), driven through their MMIO registers as a guest does.
import assert from 'node:assert/strict';
import { IoApic, IOAPIC_BASE } from '../../../debug-adapter/vmm/devices/ioapic';
import { LAPIC_BASE, LocalApic } from '../../../debug-adapter/vmm/devices/local-apic';

function rig(now = { t: 0n }) {
  const reports: string[] = [];
  let lapic!: LocalApic;
  const ioapic = new IoApic(IOAPIC_BASE, { deliver: (m) => lapic.deliver(m) }, (m) => reports.push(m));
  lapic = new LocalApic(ioapic, (m) => reports.push(m), () => now.t);
  const w32 = (dev: IoApic | LocalApic, address: number, value: number): void => {
    const d = new Uint8Array(4);
    new DataView(d.buffer).setUint32(0, value >>> 0, true);
    dev.mmioWrite(address, d);
  };
  const r32 = (dev: IoApic | LocalApic, address: number): number => {
    const d = new Uint8Array(4);
    dev.mmioRead(address, d);
    return new DataView(d.buffer).getUint32(0, true);
  };
  const ioWrite = (reg: number, value: number): void => {
    w32(ioapic, IOAPIC_BASE, reg);
    w32(ioapic, IOAPIC_BASE + 0x10, value);
  };
  const ioRead = (reg: number): number => {
    w32(ioapic, IOAPIC_BASE, reg);
    return r32(ioapic, IOAPIC_BASE + 0x10);
  };
  const lapicWrite = (off: number, v: number): void => w32(lapic, LAPIC_BASE + off, v);
  const lapicRead = (off: number): number => r32(lapic, LAPIC_BASE + off);
  const enable = (): void => lapicWrite(0xf0, 0x1ff);
  return { ioapic, lapic, reports, ioWrite, ioRead, lapicWrite, lapicRead, enable, now };
}

describe('I/O APIC (82093AA)', function () {
  it('identifies itself: version 0x11 with 24 redirection entries, all masked at reset', function () {
    const r = rig();
    assert.equal(r.ioRead(0x01), 0x00170011);
    for (let pin = 0; pin < 24; pin++) assert.equal(r.ioRead(0x10 + 2 * pin) & (1 << 16), 1 << 16, `entry ${pin} masked`);
  });

  it('a masked edge input is lost; unmasked, its rising edge becomes the entry vector in IRR', function () {
    const r = rig();
    r.enable();
    r.ioapic.setInput(3, true);
    r.ioapic.setInput(3, false);
    assert.equal(r.lapic.pending(), undefined);
    r.ioWrite(0x10 + 2 * 3, 0x41); // vector 0x41, fixed, physical, edge, unmasked
    assert.equal(r.lapic.pending(), undefined, 'the edge happened while masked');
    r.ioapic.setInput(3, true);
    assert.equal(r.lapic.pending(), 0x41);
  });

  it('a level input sets Remote IRR, is not sent again until EOI, and is sent again after EOI while still asserted', function () {
    const r = rig();
    r.enable();
    r.ioWrite(0x10 + 2 * 16, 0x50 | (1 << 15));
    r.ioapic.setInput(16, true);
    assert.equal(r.lapic.acknowledge(), 0x50);
    assert.notEqual(r.ioRead(0x10 + 2 * 16) & (1 << 14), 0, 'Remote IRR set');
    assert.equal(r.lapic.pending(), undefined);
    r.lapicWrite(0xb0, 0); // EOI with the line still high
    assert.equal(r.ioRead(0x10 + 2 * 16) & (1 << 14), 1 << 14, 'sent again: Remote IRR set again');
    assert.equal(r.lapic.acknowledge(), 0x50);
    r.ioapic.setInput(16, false); // the device's interrupt was acknowledged
    r.lapicWrite(0xb0, 0);
    assert.equal(r.ioRead(0x10 + 2 * 16) & (1 << 14), 0, 'Remote IRR clear after the EOI');
    assert.equal(r.lapic.pending(), undefined);
  });

  it('Delivery Status and Remote IRR are read-only', function () {
    const r = rig();
    r.ioWrite(0x10, 0x30 | (1 << 12) | (1 << 14) | (1 << 15));
    assert.equal(r.ioRead(0x10) & ((1 << 12) | (1 << 14)), 0);
  });

  it('a message to an APIC ID that is not the CPU is refused, with the same words each time (the monitor shows each once)', function () {
    const r = rig();
    r.enable();
    r.ioWrite(0x11 + 2 * 5, 3 << 24);
    r.ioWrite(0x10 + 2 * 5, 0x60);
    r.ioapic.setInput(5, true);
    r.ioapic.setInput(5, false);
    r.ioapic.setInput(5, true);
    assert.equal(r.lapic.pending(), undefined);
    assert.equal(r.reports.length, 2);
    assert.equal(new Set(r.reports).size, 1);
    assert.match(r.reports[0], /input 5.*APIC ID 0x3/);
  });
});

describe('local APIC (SDM vol. 3A)', function () {
  it('holds interrupts while software-disabled (SVR bit 8 clear, the reset state)', function () {
    const r = rig();
    assert.equal(r.lapicRead(0xf0), 0xff);
    r.lapic.deliver({ vector: 0x40, level: false, destination: 0, logical: false, mode: 0 });
    assert.equal(r.lapic.pending(), undefined);
    r.enable();
    assert.equal(r.lapic.pending(), 0x40);
  });

  it('priority: the highest vector first; a vector of the in-service class or below waits for the EOI; TPR masks classes', function () {
    const r = rig();
    r.enable();
    for (const v of [0x41, 0x71, 0x45]) r.lapic.deliver({ vector: v, level: false, destination: 0, logical: false, mode: 0 });
    assert.equal(r.lapic.acknowledge(), 0x71);
    assert.equal(r.lapicRead(0xa0), 0x70, 'PPR = class of ISR');
    assert.equal(r.lapic.pending(), undefined, '0x45 is below the in-service class 7');
    r.lapicWrite(0xb0, 0);
    r.lapicWrite(0x80, 0x50); // TPR class 5 masks 0x45 and 0x41
    assert.equal(r.lapic.pending(), undefined);
    r.lapicWrite(0x80, 0x40); // class 4: 0x45 is class 4 too, still masked (must be above)
    assert.equal(r.lapic.pending(), undefined);
    r.lapicWrite(0x80, 0);
    assert.equal(r.lapic.acknowledge(), 0x45);
    assert.equal(r.lapicRead(0x100 + 0x20), 1 << 5, 'ISR bit for 0x45 (word 2, bit 5)');
  });

  it('vectors 0–15 are illegal: not accepted, ESR bit 6 after a write to ESR', function () {
    const r = rig();
    r.enable();
    r.lapic.deliver({ vector: 7, level: false, destination: 0, logical: false, mode: 0 });
    assert.equal(r.lapic.pending(), undefined);
    r.lapicWrite(0x280, 0);
    assert.equal(r.lapicRead(0x280), 1 << 6);
  });

  it('one-shot timer: fires once when initial count × divide nanoseconds have passed; current count counts down', function () {
    const r = rig();
    r.enable();
    r.lapicWrite(0x3e0, 0x0); // divide by 2
    r.lapicWrite(0x320, 0x33);
    r.lapicWrite(0x380, 1000);
    r.now.t = 1000n;
    assert.equal(r.lapicRead(0x390), 500);
    assert.equal(r.lapic.pending(), undefined);
    r.now.t = 2000n;
    assert.equal(r.lapic.acknowledge(), 0x33);
    r.lapicWrite(0xb0, 0);
    r.now.t = 10000n;
    assert.equal(r.lapic.pending(), undefined, 'one-shot');
    assert.equal(r.lapicRead(0x390), 0);
  });

  it('periodic timer: fires every period; masked LVT counts but does not interrupt', function () {
    const r = rig();
    r.enable();
    r.lapicWrite(0x3e0, 0xb); // divide by 1
    r.lapicWrite(0x320, 0x34 | (1 << 17));
    r.lapicWrite(0x380, 100);
    for (const t of [100n, 200n, 300n]) {
      r.now.t = t;
      assert.equal(r.lapic.acknowledge(), 0x34, `tick at ${t}`);
      r.lapicWrite(0xb0, 0);
    }
    r.lapicWrite(0x320, 0x34 | (1 << 17) | (1 << 16));
    r.now.t = 400n;
    assert.equal(r.lapic.pending(), undefined);
    assert.equal(r.lapic.info().timer.fired, 4);
  });
});
