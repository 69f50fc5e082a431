// Split virtqueue behaviour (virtio 1.2 §2.7) through virtio-rng, driven from guest RAM: chains,
// indirect tables, used-ring updates, index wraparound, notification suppression, and malformed
// rings that must set DEVICE_NEEDS_RESET without touching memory outside the rings and buffers.
import assert from 'node:assert/strict';
import { Driver, Ring, VERSION_1, changesOutside } from './guest-driver';
import { VirtioRng } from '../../../debug-adapter/vmm/devices/virtio/virtio-rng';
import {
  VIRTIO_MMIO as R, VIRTIO_STATUS as S, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_INT_CONFIG_CHANGE,
  VIRTIO_INT_USED_BUFFER, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT as INDIRECT, VIRTQ_DESC_F_NEXT as NEXT,
  VIRTQ_DESC_F_WRITE as WRITE, featureBit,
} from '../../../debug-adapter/vmm/devices/virtio/virtio-abi';

const RAM = 0x10000;
const EVENT_IDX = featureBit(VIRTIO_F_EVENT_IDX);
const INDIRECT_DESC = featureBit(VIRTIO_F_INDIRECT_DESC);

function setup(features = VERSION_1, size = 8): { d: Driver; ring: Ring } {
  const d = new Driver(new VirtioRng(), new Uint8Array(RAM));
  const [ring] = d.init(features, [size]);
  return { d, ring };
}

/** Fill RAM with a recognisable pattern so writes show up even where random bytes could match 0. */
function pattern(ram: Uint8Array): void {
  for (let i = 0x8000; i < ram.length; i++) ram[i] = (i * 7 + 3) & 0xff;
}

describe('virtqueue: serving requests', function () {
  it('fills exactly the device-writable buffer; used.len equals it; used idx and the interrupt follow', function () {
    const { d, ring } = setup();
    pattern(d.ram);
    const before = d.ram.slice();
    ring.setDesc(0, 0x8100, 64, WRITE);
    ring.post(0);
    d.notify(0);
    assert.equal(ring.usedIdx, 1);
    assert.deepEqual(ring.usedElem(0), { id: 0, len: 64 });
    assert.notDeepEqual(d.ram.subarray(0x8100, 0x8140), before.subarray(0x8100, 0x8140));
    assert.deepEqual(changesOutside(before, d.ram, [...ring.regions, [0x8100, 64]]), []);
    assert.equal(d.read(R.INTERRUPT_STATUS), VIRTIO_INT_USED_BUFFER);
    assert.equal(d.host.level, true);
    d.write(R.INTERRUPT_ACK, VIRTIO_INT_USED_BUFFER);
    assert.equal(d.read(R.INTERRUPT_STATUS), 0);
    assert.equal(d.host.level, false);
    assert.deepEqual(d.host.edges, [true, false]);
    const q = d.transport.snapshot().queues[0];
    assert.equal(q.served, 1);
    assert.deepEqual(q.recent, [{ head: 0, readable: 0, written: 64 }]);
    assert.equal(q.availIdx, 1);
    assert.equal(q.lastAvailIdx, 1);
    assert.equal(q.usedIdx, 1);
    assert.equal(d.transport.snapshot().interrupts, 1);
    assert.equal(d.transport.snapshot().interruptLine, false);
    assert.deepEqual(d.transport.descriptorTable(0, 1), [{ index: 0, address: '0x0000000000008100', length: 64, flags: WRITE, next: 0 }]);
    assert.equal(d.transport.descriptorTable(0).length, 8);
    assert.deepEqual(d.transport.descriptorTable(5), []);
    assert.deepEqual(d.host.reports, []);
  });

  it('follows NEXT chains across scattered writable buffers and skips the readable part', function () {
    const { d, ring } = setup();
    pattern(d.ram);
    const before = d.ram.slice();
    ring.setDesc(3, 0x8000, 10, NEXT, 5);
    ring.setDesc(5, 0x9000, 7, WRITE | NEXT, 1);
    ring.setDesc(1, 0xa000, 9, WRITE);
    ring.post(3);
    d.notify(0);
    assert.deepEqual(ring.usedElem(0), { id: 3, len: 16 });
    assert.deepEqual(d.ram.subarray(0x8000, 0x800a), before.subarray(0x8000, 0x800a), 'device-readable bytes untouched');
    assert.deepEqual(changesOutside(before, d.ram, [...ring.regions, [0x9000, 7], [0xa000, 9]]), []);
    assert.deepEqual(d.transport.snapshot().queues[0].recent, [{ head: 3, readable: 10, written: 16 }]);
  });

  it('serves every chain made available before one notify, in avail order', function () {
    const { d, ring } = setup();
    for (let i = 0; i < 4; i++) {
      ring.setDesc(i, 0x8000 + 0x100 * i, 8 + i, WRITE);
      ring.post(3 - i);
    }
    d.notify(0);
    assert.equal(ring.usedIdx, 4);
    assert.deepEqual([0, 1, 2, 3].map((i) => ring.usedElem(i)), [3, 2, 1, 0].map((id) => ({ id, len: 8 + id })));
    assert.equal(d.transport.snapshot().interrupts, 1, 'one interrupt for the batch');
  });

  it('follows an indirect table (VIRTIO_F_INDIRECT_DESC) after a direct descriptor', function () {
    const { d, ring } = setup(VERSION_1 | INDIRECT_DESC);
    pattern(d.ram);
    const table = 0x7000;
    ring.setDesc(0, 0x8000, 4, NEXT, 1);
    ring.setDesc(1, table, 3 * 16, INDIRECT);
    ring.setDesc(0, 0x8100, 4, NEXT, 2, table);
    ring.setDesc(2, 0x9000, 32, WRITE | NEXT, 1, table);
    ring.setDesc(1, 0x9100, 16, WRITE, 0, table);
    const before = d.ram.slice();
    ring.post(0);
    d.notify(0);
    assert.deepEqual(ring.usedElem(0), { id: 0, len: 48 });
    assert.deepEqual(changesOutside(before, d.ram, [...ring.regions, [0x9000, 32], [0x9100, 16]]), []);
    assert.deepEqual(d.transport.snapshot().queues[0].recent, [{ head: 0, readable: 8, written: 48 }]);
    assert.equal(d.status & S.DEVICE_NEEDS_RESET, 0);
  });

  it('accepts an indirect table at any address (the spec aligns only the three ring areas)', function () {
    const { d, ring } = setup(VERSION_1 | INDIRECT_DESC);
    ring.setDesc(0, 0x7008, 16, INDIRECT);
    ring.setDesc(0, 0x9000, 8, WRITE, 0, 0x7008);
    ring.post(0);
    d.notify(0);
    assert.deepEqual(ring.usedElem(0), { id: 0, len: 8 });
    assert.deepEqual(d.host.reports, []);
  });

  it('wraps avail and used idx at 65536 and keeps serving', function () {
    const { d, ring } = setup(VERSION_1, 8);
    for (let i = 0; i < 8; i++) ring.setDesc(i, 0x8000 + 16 * i, 1, WRITE);
    let served = 0;
    while (served < 65536 + 20) {
      for (let i = 0; i < 4; i++) ring.post((served + i) % 8);
      d.notify(0);
      served += 4;
      assert.equal(ring.usedIdx, served & 0xffff);
    }
    const q = d.transport.snapshot().queues[0];
    assert.equal(q.usedIdx, 20);
    assert.equal(q.lastAvailIdx, 20);
    assert.equal(q.served, 65536 + 20);
    assert.deepEqual(ring.usedElem(19), { id: 19 % 8, len: 1 });
    assert.deepEqual(d.host.reports, []);
  });
});

describe('virtqueue: notification suppression', function () {
  it('sends no interrupt while the driver sets VIRTQ_AVAIL_F_NO_INTERRUPT (without EVENT_IDX)', function () {
    const { d, ring } = setup();
    ring.availFlags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    ring.setDesc(0, 0x8000, 8, WRITE);
    ring.post(0);
    d.notify(0);
    assert.equal(ring.usedIdx, 1, 'still served');
    assert.equal(d.read(R.INTERRUPT_STATUS), 0);
    assert.equal(d.host.level, false);
    ring.availFlags = 0;
    ring.post(0);
    d.notify(0);
    assert.equal(d.host.level, true);
  });

  it('with EVENT_IDX, interrupts only when used idx passes used_event (vring_need_event) and ignores NO_INTERRUPT', function () {
    const { d, ring } = setup(VERSION_1 | EVENT_IDX);
    for (let i = 0; i < 8; i++) ring.setDesc(i, 0x8000 + 16 * i, 4, WRITE);
    ring.usedEvent = 2; // "interrupt me when the entry at used index 2 is used", i.e. used idx goes 2 → 3
    ring.availFlags = VIRTQ_AVAIL_F_NO_INTERRUPT; // must be ignored with EVENT_IDX (§2.7.7.1)
    const levels: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      ring.post(i);
      d.notify(0);
      levels.push(d.host.level);
      assert.equal(ring.availEvent, i + 1, 'avail_event asks for the next notify');
    }
    assert.deepEqual(levels, [false, false, true, true]);
    assert.equal(d.transport.snapshot().interrupts, 1);
    d.ack();
    // A batch that jumps over used_event still interrupts.
    ring.usedEvent = 5;
    ring.post(4);
    ring.post(5);
    ring.post(6);
    d.notify(0);
    assert.equal(d.host.level, true);
    assert.equal(d.transport.snapshot().interrupts, 2);
  });

  it('keeps the line asserted until every InterruptStatus bit is acknowledged', function () {
    const { d, ring } = setup();
    ring.setDesc(0, 0x8000, 4, WRITE);
    ring.post(0);
    d.notify(0);
    d.transport.configChanged();
    assert.equal(d.read(R.INTERRUPT_STATUS), VIRTIO_INT_USED_BUFFER | VIRTIO_INT_CONFIG_CHANGE);
    assert.equal(d.read(R.CONFIG_GENERATION), 1);
    d.write(R.INTERRUPT_ACK, VIRTIO_INT_USED_BUFFER);
    assert.equal(d.host.level, true);
    d.write(R.INTERRUPT_ACK, VIRTIO_INT_CONFIG_CHANGE);
    assert.equal(d.host.level, false);
    assert.deepEqual(d.host.edges, [true, false]);
  });
});

interface BadRing {
  name: string;
  features?: bigint;
  build(ring: Ring): void;
  report: RegExp;
}

const BAD_RINGS: BadRing[] = [
  { name: 'buffer past the end of RAM', build: (r) => r.setDesc(0, RAM - 8, 16, WRITE), report: /outside guest RAM/ },
  { name: 'buffer address near 2^64', build: (r) => r.setDesc(0, 0xffff_ffff_ffff_f000n, 0x2000, WRITE), report: /outside guest RAM/ },
  { name: 'buffer address at 2^53', build: (r) => r.setDesc(0, 1n << 53n, 16, WRITE), report: /outside guest RAM/ },
  { name: 'length 0xffffffff', build: (r) => r.setDesc(0, 0x8000, 0xffffffff, WRITE), report: /outside guest RAM/ },
  {
    name: 'descriptor loop',
    build: (r) => { r.setDesc(0, 0x8000, 4, WRITE | NEXT, 1); r.setDesc(1, 0x8010, 4, WRITE | NEXT, 0); },
    report: /longer than its queue.*loop/,
  },
  {
    name: 'chain longer than the queue (a self-loop)',
    build: (r) => r.setDesc(0, 0x8000, 4, WRITE | NEXT, 0),
    report: /longer than its queue/,
  },
  { name: 'next beyond the queue', build: (r) => r.setDesc(0, 0x8000, 4, WRITE | NEXT, 8), report: /beyond its table/ },
  {
    name: 'readable after writable',
    build: (r) => { r.setDesc(0, 0x8000, 4, WRITE | NEXT, 1); r.setDesc(1, 0x8010, 4, 0); },
    report: /readable buffer after a device-writable/,
  },
  { name: 'indirect without the feature', build: (r) => r.setDesc(0, 0x7000, 16, INDIRECT), report: /without VIRTIO_F_INDIRECT_DESC/ },
  {
    name: 'nested indirect',
    features: INDIRECT_DESC,
    build: (r) => { r.setDesc(0, 0x7000, 16, INDIRECT); r.setDesc(0, 0x7100, 16, INDIRECT, 0, 0x7000); },
    report: /inside an indirect table/,
  },
  {
    name: 'indirect table loop (longer than the table)',
    features: INDIRECT_DESC,
    build: (r) => { r.setDesc(0, 0x7000, 32, INDIRECT); r.setDesc(0, 0x8000, 4, WRITE | NEXT, 1, 0x7000); r.setDesc(1, 0x8010, 4, WRITE | NEXT, 0, 0x7000); },
    report: /longer than its indirect table/,
  },
  { name: 'indirect table of odd length', features: INDIRECT_DESC, build: (r) => r.setDesc(0, 0x7000, 20, INDIRECT), report: /multiple of 16/ },
  { name: 'indirect table past RAM', features: INDIRECT_DESC, build: (r) => r.setDesc(0, RAM - 16, 32, INDIRECT), report: /indirect table.*outside/ },
  { name: 'INDIRECT with NEXT', features: INDIRECT_DESC, build: (r) => r.setDesc(0, 0x7000, 16, INDIRECT | NEXT, 1), report: /both INDIRECT and NEXT/ },
  { name: 'avail idx jumping by more than the queue size', build: (r) => { r.setDesc(0, 0x8000, 4, WRITE); r.availIdx = 100; }, report: /more than the queue size/ },
];

describe('virtqueue: malformed rings (guest mistakes)', function () {
  for (const bad of BAD_RINGS) {
    it(`${bad.name}: DEVICE_NEEDS_RESET + config interrupt, reported once, nothing written outside the rings`, function () {
      const { d, ring } = setup(VERSION_1 | (bad.features ?? 0n));
      pattern(d.ram);
      bad.build(ring);
      if (ring.availIdx === 0) ring.post(0);
      const before = d.ram.slice();
      d.notify(0);
      d.notify(0);
      assert.equal(d.status & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
      assert.equal(d.read(R.INTERRUPT_STATUS), VIRTIO_INT_CONFIG_CHANGE);
      assert.equal(d.host.level, true);
      assert.equal(ring.usedIdx, 0, 'nothing used');
      assert.deepEqual(changesOutside(before, d.ram, []), [], 'no byte of RAM changed');
      assert.equal(d.host.reports.length, 1, d.host.reports.join('\n'));
      assert.match(d.host.reports[0], bad.report);
      assert.match(d.host.reports[0], /needs reset/);
      assert.equal(d.transport.snapshot().queues[0].broken, true);
      // The driver's way out: reset and set up again, after which requests are served.
      const [again] = d.init(VERSION_1, [8]);
      again.setDesc(0, 0x8000, 4, WRITE);
      again.post(0);
      d.notify(0);
      assert.equal(again.usedIdx, 1);
    });
  }

  it('rings placed outside RAM or misaligned need a reset and touch nothing', function () {
    for (const [desc, avail, used, report] of [
      [RAM - 64, 0x2000, 0x3000, /descriptor table.*outside/],
      [0x1000, RAM - 4, 0x3000, /avail ring.*outside/],
      [0x1000, 0x2000, 0x3001, /used ring.*aligned/],
      [0x1008, 0x2000, 0x3000, /descriptor table.*aligned/],
    ] as const) {
      const d = new Driver(new VirtioRng(), new Uint8Array(RAM));
      d.negotiate(VERSION_1);
      const ring = new Ring(d.ram, 8, desc, avail, used);
      d.setupQueue(0, ring);
      d.write(R.STATUS, 0x0f);
      const before = d.ram.slice();
      d.notify(0);
      assert.equal(d.status & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
      assert.deepEqual(d.ram, before);
      assert.match(d.host.reports.join('\n'), report);
    }
  });

  it('a 64-bit ring address (QueueDescHigh) far above RAM needs a reset', function () {
    const d = new Driver(new VirtioRng(), new Uint8Array(RAM));
    d.negotiate(VERSION_1);
    d.setupQueue(0, new Ring(d.ram, 8, 0x1000, 0x2000, 0x3000));
    d.write(R.QUEUE_READY, 0);
    d.write(R.QUEUE_DESC_HIGH, 0xffffffff);
    d.write(R.QUEUE_READY, 1);
    d.write(R.STATUS, 0x0f);
    d.notify(0);
    assert.equal(d.status & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
    assert.equal(d.transport.snapshot().queues[0].descAddress, '0xffffffff00001000');
  });
});
