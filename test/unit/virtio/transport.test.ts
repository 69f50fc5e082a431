// The virtio-mmio register interface driven as a guest driver would, with expectations from the
// virtio 1.2 spec §4.2.2 (register map), §2.1 (status), §2.2/§6 (features), §3.1.1 (init).
import assert from 'node:assert/strict';
import { Driver, VERSION_1 } from './guest-driver';
import { VirtioRng } from '../../../debug-adapter/vmm/devices/virtio/virtio-rng';
import type { VirtioDevice } from '../../../debug-adapter/vmm/devices/virtio/virtio-device';
import {
  VIRTIO_MMIO as R, VIRTIO_STATUS as S, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_MMIO_WINDOW, featureBit,
} from '../../../debug-adapter/vmm/devices/virtio/virtio-abi';

function rngDriver(ramSize = 0x10000): Driver {
  return new Driver(new VirtioRng(), new Uint8Array(ramSize));
}

describe('virtio-mmio transport: identification and features', function () {
  it('presents magic "virt", version 2, device id 4, the QEMU vendor id and a 0x200 window', function () {
    const d = rngDriver();
    assert.equal(d.read(R.MAGIC_VALUE), 0x74726976);
    assert.equal(d.read(R.VERSION), 2);
    assert.equal(d.read(R.DEVICE_ID), 4);
    assert.equal(d.read(R.VENDOR_ID), 0x554d4551);
    assert.equal(VIRTIO_MMIO_WINDOW, 0x200);
  });

  it('offers VERSION_1 (bit 32), INDIRECT_DESC (28) and EVENT_IDX (29) through DeviceFeaturesSel', function () {
    const d = rngDriver();
    const f = d.deviceFeatures();
    assert.equal(f & VERSION_1, VERSION_1);
    assert.equal(f & featureBit(VIRTIO_F_INDIRECT_DESC), featureBit(VIRTIO_F_INDIRECT_DESC));
    assert.equal(f & featureBit(VIRTIO_F_EVENT_IDX), featureBit(VIRTIO_F_EVENT_IDX));
    d.write(R.DEVICE_FEATURES_SEL, 2);
    assert.equal(d.read(R.DEVICE_FEATURES), 0, 'feature words beyond bit 63 read 0');
  });

  it('runs the §3.1.1 sequence: reset, ACKNOWLEDGE, DRIVER, FEATURES_OK read back, queues, DRIVER_OK', function () {
    const d = rngDriver();
    d.write(R.STATUS, 0);
    assert.equal(d.status, 0);
    d.write(R.STATUS, S.ACKNOWLEDGE);
    assert.equal(d.status, S.ACKNOWLEDGE);
    d.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
    d.writeDriverFeatures(VERSION_1 | featureBit(VIRTIO_F_EVENT_IDX));
    d.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    assert.equal(d.status, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    d.write(R.QUEUE_SEL, 0);
    assert.equal(d.read(R.QUEUE_NUM_MAX), 256);
    assert.equal(d.read(R.QUEUE_READY), 0);
    d.write(R.QUEUE_NUM, 16);
    d.write(R.QUEUE_DESC_LOW, 0x1000);
    d.write(R.QUEUE_DRIVER_LOW, 0x1100);
    d.write(R.QUEUE_DEVICE_LOW, 0x1200);
    d.write(R.QUEUE_READY, 1);
    assert.equal(d.read(R.QUEUE_READY), 1);
    d.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
    assert.equal(d.status, 0x0f);
    const snap = d.transport.snapshot();
    assert.deepEqual(snap.statusNames, ['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']);
    assert.deepEqual(snap.negotiatedFeatureNames, ['EVENT_IDX', 'VERSION_1']);
    assert.equal(snap.queues[0].size, 16);
    assert.equal(snap.queues[0].descAddress, '0x0000000000001000');
    assert.equal(snap.queues[0].driverAddress, '0x0000000000001100');
    assert.equal(snap.queues[0].deviceAddress, '0x0000000000001200');
    assert.deepEqual(d.host.reports, []);
  });

  it('refuses FEATURES_OK (stays clear) without VERSION_1 or with bits that were not offered', function () {
    const d = rngDriver();
    assert.equal(d.negotiate(0n), false);
    assert.equal(d.status & S.FEATURES_OK, 0);
    assert.equal(d.negotiate(VERSION_1 | featureBit(5)), false);
    assert.equal(d.negotiate(VERSION_1 | featureBit(40)), false);
    assert.equal(d.negotiate(VERSION_1), true);
    assert.equal(d.host.reports.length, 1, 'one report for the kind "features refused"');
    assert.match(d.host.reports[0], /FEATURES_OK refused/);
  });

  it('keeps DRIVER_OK clear when FEATURES_OK was never accepted', function () {
    const d = rngDriver();
    d.negotiate(0n);
    d.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.DRIVER_OK);
    assert.equal(d.status & S.DRIVER_OK, 0);
  });

  it('ignores DriverFeatures writes after FEATURES_OK', function () {
    const d = rngDriver();
    d.negotiate(VERSION_1);
    d.writeDriverFeatures(VERSION_1 | featureBit(VIRTIO_F_EVENT_IDX));
    assert.equal(d.transport.snapshot().driverFeatures, '0x0000000100000000');
  });

  it('resets everything when 0 is written to Status', function () {
    const d = rngDriver();
    const [ring] = d.init(VERSION_1, [8]);
    ring.setDesc(0, 0x8000, 16, 2);
    ring.post(0);
    d.notify(0);
    assert.equal(d.host.level, true);
    d.write(R.STATUS, 0);
    assert.equal(d.status, 0);
    assert.equal(d.read(R.INTERRUPT_STATUS), 0);
    assert.equal(d.host.level, false, 'reset drops the interrupt line');
    d.write(R.QUEUE_SEL, 0);
    assert.equal(d.read(R.QUEUE_READY), 0);
    const q = d.transport.snapshot().queues[0];
    assert.equal(q.lastAvailIdx, 0);
    assert.equal(q.usedIdx, 0);
    assert.equal(q.descAddress, '0x0000000000000000');
    assert.equal(d.transport.snapshot().negotiatedFeatures, '0x0000000000000000');
  });

  it('does not let the driver clear status bits or set DEVICE_NEEDS_RESET', function () {
    const d = rngDriver();
    d.init(VERSION_1, [8]);
    d.write(R.STATUS, S.ACKNOWLEDGE);
    assert.equal(d.status, 0x0f);
    d.write(R.STATUS, 0x0f | S.DEVICE_NEEDS_RESET);
    assert.equal(d.status & S.DEVICE_NEEDS_RESET, 0);
  });
});

describe('virtio-mmio transport: queue setup rules', function () {
  it('refuses a QueueNum that is not a power of two or exceeds QueueNumMax, and then QueueReady', function () {
    for (const bad of [0, 3, 100, 512]) {
      const d = rngDriver();
      d.negotiate(VERSION_1);
      d.write(R.QUEUE_SEL, 0);
      d.write(R.QUEUE_NUM, bad);
      d.write(R.QUEUE_READY, 1);
      assert.equal(d.read(R.QUEUE_READY), 0, `QueueNum ${bad}`);
      assert.equal(d.host.reports.length, 1, `one report for QueueNum ${bad}: ${d.host.reports}`);
      assert.match(d.host.reports[0], /QueueNum|QueueReady/);
      d.write(R.QUEUE_NUM, 8);
      d.write(R.QUEUE_READY, 1);
      assert.equal(d.read(R.QUEUE_READY), 1, 'a valid size afterwards makes the queue usable');
    }
  });

  it('ignores queue setup after DRIVER_OK and while the queue is ready', function () {
    const d = rngDriver();
    d.negotiate(VERSION_1);
    d.write(R.QUEUE_SEL, 0);
    d.write(R.QUEUE_NUM, 8);
    d.write(R.QUEUE_DESC_LOW, 0x1000);
    d.write(R.QUEUE_READY, 1);
    d.write(R.QUEUE_DESC_LOW, 0x3000);
    assert.equal(d.transport.snapshot().queues[0].descAddress, '0x0000000000001000');
    d.write(R.STATUS, 0x0f);
    d.write(R.QUEUE_READY, 0);
    assert.equal(d.read(R.QUEUE_READY), 1);
    assert.equal(d.host.reports.length, 2);
  });

  it('reads QueueNumMax 0 for a queue that does not exist and ignores its setup', function () {
    const d = rngDriver();
    d.write(R.QUEUE_SEL, 1);
    assert.equal(d.read(R.QUEUE_NUM_MAX), 0);
    d.write(R.QUEUE_NUM, 8);
    assert.equal(d.read(R.QUEUE_READY), 0);
    assert.equal(d.host.reports.length, 1);
  });
});

describe('virtio-mmio transport: bad register accesses', function () {
  it('ignores writes to read-only registers, reported once', function () {
    const d = rngDriver();
    for (const reg of [R.MAGIC_VALUE, R.VERSION, R.DEVICE_ID, R.VENDOR_ID, R.DEVICE_FEATURES, R.QUEUE_NUM_MAX, R.INTERRUPT_STATUS, R.CONFIG_GENERATION]) {
      d.write(reg, 0x12345678);
    }
    assert.equal(d.read(R.MAGIC_VALUE), 0x74726976);
    assert.equal(d.read(R.DEVICE_ID), 4);
    assert.equal(d.read(R.QUEUE_NUM_MAX), 256);
    assert.equal(d.host.reports.length, 1);
    assert.match(d.host.reports[0], /read-only register/);
  });

  it('reads 0 and ignores writes for 1-, 2- and 8-byte and unaligned register accesses, reported once', function () {
    const d = rngDriver();
    assert.equal(d.read(R.MAGIC_VALUE, 1), 0);
    assert.equal(d.read(R.MAGIC_VALUE, 2), 0);
    assert.equal(d.read(R.MAGIC_VALUE, 8), 0);
    assert.equal(d.read(R.MAGIC_VALUE + 2, 4), 0);
    d.write(R.STATUS, S.ACKNOWLEDGE, 1);
    d.write(R.STATUS, S.ACKNOWLEDGE, 2);
    d.write(R.STATUS + 1, S.ACKNOWLEDGE, 4);
    assert.equal(d.status, 0);
    assert.equal(d.host.reports.length, 1);
    assert.match(d.host.reports[0], /32-bit/);
  });

  it('reports a read of QueueNotify and of undefined offsets, once each, reading 0', function () {
    const d = rngDriver();
    assert.equal(d.read(R.QUEUE_NOTIFY), 0);
    assert.equal(d.read(R.INTERRUPT_ACK), 0);
    assert.equal(d.read(0x0d0), 0);
    d.write(0x0d0, 1);
    assert.equal(d.host.reports.length, 2);
  });

  it('reports no shared memory regions (length -1)', function () {
    const d = rngDriver();
    d.write(R.SHM_SEL, 0);
    assert.equal(d.read(R.SHM_LEN_LOW), 0xffffffff);
    assert.equal(d.read(R.SHM_LEN_HIGH), 0xffffffff);
  });

  it('reads config space beyond the device config as 0 at any size and reports writes to a read-only config', function () {
    const d = rngDriver();
    assert.equal(d.read(R.CONFIG, 1), 0);
    assert.equal(d.read(R.CONFIG + 3, 8), 0);
    d.write(R.CONFIG, 1, 2);
    assert.equal(d.host.reports.length, 1);
  });

  it('ignores QueueNotify before DRIVER_OK, reported once, touching no memory', function () {
    const d = rngDriver();
    d.negotiate(VERSION_1);
    const before = d.ram.slice();
    d.notify(0);
    d.notify(0);
    assert.deepEqual(d.ram, before);
    assert.equal(d.host.reports.length, 1);
    assert.match(d.host.reports[0], /before DRIVER_OK/);
    assert.equal(d.transport.snapshot().notifications, 2);
  });

  it('ignores QueueNotify for a queue that does not exist', function () {
    const d = rngDriver();
    d.init(VERSION_1, [8]);
    d.notify(7);
    assert.equal(d.host.reports.length, 1);
    assert.equal(d.status & S.DEVICE_NEEDS_RESET, 0);
  });
});

describe('virtio-mmio transport: robustness and the ioeventfd path', function () {
  it('queueNotify(index) serves the queue exactly as a QueueNotify write does', function () {
    const d = rngDriver();
    const [ring] = d.init(VERSION_1, [8]);
    ring.setDesc(0, 0x8000, 8, 2);
    ring.post(0);
    d.transport.queueNotify(0);
    assert.equal(ring.usedIdx, 1);
    assert.equal(d.host.level, true);
    assert.equal(d.transport.snapshot().notifications, 1);
  });

  it('a device that throws is reported once as an internal error and never escapes mmioWrite or poll', function () {
    const broken: VirtioDevice = {
      name: 'broken', deviceId: 42, features: 0n, queues: [{ name: 'q', maxSize: 8 }], config: new Uint8Array(0),
      reset() {},
      queueNotified() { throw new Error('boom'); },
      poll() { throw new Error('bang'); },
    };
    const d = new Driver(broken, new Uint8Array(0x10000));
    d.init(VERSION_1, [8]);
    assert.doesNotThrow(() => d.notify(0));
    assert.doesNotThrow(() => d.transport.poll());
    assert.equal(d.host.reports.length, 1);
    assert.match(d.host.reports[0], /internal error serving queue 0: boom/);
  });

  it('refuses, at construction, a device whose queue maximum is not a power of two', function () {
    const odd: VirtioDevice = { ...new VirtioRng(), queues: [{ name: 'q', maxSize: 100 }], reset() {}, queueNotified() {} };
    assert.throws(() => new Driver(odd, new Uint8Array(0x1000)), /not a power of two/);
  });
});
