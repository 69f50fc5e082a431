// The 8254 PIT against its data sheet, on a made-up clock: 1.193182 MHz counting, the access modes,
// the counter latch, mode 2's period and mode 0's single terminal count.
import assert from 'node:assert/strict';
import { Pit8254, PIT_HZ } from '../../../debug-adapter/vmm/devices/pit8254';

function rig() {
  const clock = { t: 0n };
  let irqs = 0;
  const reports: string[] = [];
  const pit = new Pit8254(() => irqs++, (m) => reports.push(m), () => clock.t);
  const ns = (ticks: number): bigint => (BigInt(ticks) * 1_000_000_000n) / BigInt(PIT_HZ) + 1n;
  return { pit, clock, ns, irqs: () => irqs, reports };
}

describe('8254 PIT', function () {
  it('mode 2 (lsb/msb): counts down from the reload value and interrupts once per period', function () {
    const r = rig();
    r.pit.ioWrite(0x43, 1, 0x34);
    r.pit.ioWrite(0x40, 1, 1000 & 0xff);
    r.pit.ioWrite(0x40, 1, 1000 >> 8);
    r.clock.t = r.ns(250);
    r.pit.ioWrite(0x43, 1, 0x00); // latch counter 0
    const count = r.pit.ioRead(0x40, 1) | (r.pit.ioRead(0x40, 1) << 8);
    assert.equal(count, 750);
    r.pit.tick();
    assert.equal(r.irqs(), 0);
    r.clock.t = r.ns(1000);
    r.pit.tick();
    assert.equal(r.irqs(), 1);
    r.clock.t = r.ns(2000);
    r.pit.tick();
    assert.equal(r.irqs(), 2, 'periodic');
  });

  it('mode 0: one interrupt at terminal count; writing 0 counts 65536', function () {
    const r = rig();
    r.pit.ioWrite(0x43, 1, 0x30);
    r.pit.ioWrite(0x40, 1, 0);
    r.pit.ioWrite(0x40, 1, 0);
    r.clock.t = r.ns(65535);
    r.pit.tick();
    assert.equal(r.irqs(), 0);
    r.clock.t = r.ns(65536);
    r.pit.tick();
    r.clock.t = r.ns(3 * 65536);
    r.pit.tick();
    assert.equal(r.irqs(), 1, 'mode 0 does not repeat');
    assert.equal(r.pit.nanosecondsToNext(), undefined);
  });

  it('lsb-only access; the control word cannot be read; BCD is reported', function () {
    const r = rig();
    r.pit.ioWrite(0x43, 1, 0x90); // counter 2, lsb only, mode 0
    r.pit.ioWrite(0x42, 1, 200);
    r.clock.t = r.ns(50);
    assert.equal(r.pit.ioRead(0x42, 1), 150);
    assert.equal(r.pit.ioRead(0x43, 1), 0xff);
    r.pit.ioWrite(0x43, 1, 0x35);
    assert.match(r.reports.join('\n'), /BCD counting is not implemented/);
  });
});
