// The two device types behind the transport: virtio-console (§5.3) as a byte stream to a sink and
// from a source, and virtio-rng (§5.4) filling buffers.
import assert from 'node:assert/strict';
import { Driver, VERSION_1, changesOutside } from './guest-driver';
import { VirtioConsole, CONSOLE_RECEIVEQ, CONSOLE_TRANSMITQ } from '../../../debug-adapter/vmm/devices/virtio/virtio-console';
import { VirtioRng, RNG_MAX_REQUEST } from '../../../debug-adapter/vmm/devices/virtio/virtio-rng';
import type { ByteSink, ByteSource } from '../../../debug-adapter/vmm/devices/uart16550';
import {
  VIRTIO_MMIO as R, VIRTIO_CONSOLE_F_EMERG_WRITE, VIRTIO_CONSOLE_F_SIZE, VIRTIO_INT_CONFIG_CHANGE, VIRTQ_DESC_F_NEXT as NEXT,
  VIRTQ_DESC_F_WRITE as WRITE, featureBit,
} from '../../../debug-adapter/vmm/devices/virtio/virtio-abi';

class Bytes implements ByteSink, ByteSource {
  readonly data: number[] = [];
  write(byte: number): void {
    this.data.push(byte);
  }
  read(): number {
    return this.data.shift() ?? -1;
  }
  available(): boolean {
    return this.data.length > 0;
  }
  push(text: string): void {
    for (const c of Buffer.from(text)) this.data.push(c);
  }
  text(): string {
    return Buffer.from(this.data).toString();
  }
}

function consoleDriver(size?: { cols: number; rows: number }) {
  const out = new Bytes();
  const input = new Bytes();
  const dev = new VirtioConsole(out, input, size);
  const d = new Driver(dev, new Uint8Array(0x10000));
  return { d, out, input, dev };
}

describe('virtio-console', function () {
  it('is device id 3 with receiveq0 and transmitq0, no MULTIPORT, EMERG_WRITE offered, SIZE only with a size', function () {
    const { d } = consoleDriver();
    assert.equal(d.read(R.DEVICE_ID), 3);
    const f = d.deviceFeatures();
    assert.equal(f & 0xffffffn, featureBit(VIRTIO_CONSOLE_F_EMERG_WRITE), 'no MULTIPORT (bit 1), no SIZE');
    d.write(R.QUEUE_SEL, 1);
    assert.ok(d.read(R.QUEUE_NUM_MAX) > 0);
    d.write(R.QUEUE_SEL, 2);
    assert.equal(d.read(R.QUEUE_NUM_MAX), 0);
    const sized = consoleDriver({ cols: 80, rows: 25 }).d;
    assert.equal(sized.deviceFeatures() & featureBit(VIRTIO_CONSOLE_F_SIZE), featureBit(VIRTIO_CONSOLE_F_SIZE));
    assert.equal(sized.read(R.CONFIG, 2), 80);
    assert.equal(sized.read(R.CONFIG + 2, 2), 25);
    assert.equal(sized.read(R.CONFIG, 4), 80 + (25 << 16));
  });

  it('sends transmitq0 buffers (all readable descriptors of a chain) to the sink; used.len 0', function () {
    const { d, out } = consoleDriver();
    const [, tx] = d.init(VERSION_1, [8, 8]);
    d.ram.set(Buffer.from('hello, '), 0x8000);
    d.ram.set(Buffer.from('world\n'), 0x8100);
    tx.setDesc(0, 0x8000, 7, NEXT, 1);
    tx.setDesc(1, 0x8100, 6, 0);
    tx.post(0);
    d.notify(CONSOLE_TRANSMITQ);
    assert.equal(out.text(), 'hello, world\n');
    assert.deepEqual(tx.usedElem(0), { id: 0, len: 0 });
    assert.equal(d.host.level, true);
  });

  it('holds input until the driver posts receive buffers, then fills them and raises the interrupt', function () {
    const { d, input } = consoleDriver();
    const [rx] = d.init(VERSION_1, [8, 8]);
    input.push('ping');
    assert.equal(d.transport.poll(), false, 'no buffer posted yet');
    assert.equal(input.data.length, 4, 'input stays queued');
    const before = d.ram.slice();
    rx.setDesc(0, 0x9000, 3, WRITE);
    rx.setDesc(1, 0x9100, 16, WRITE);
    rx.post(0);
    rx.post(1);
    d.notify(CONSOLE_RECEIVEQ); // posting buffers delivers pending input at once
    assert.deepEqual(rx.usedElem(0), { id: 0, len: 3 });
    assert.deepEqual(rx.usedElem(1), { id: 1, len: 1 });
    assert.equal(Buffer.from(d.ram.subarray(0x9000, 0x9003)).toString() + String.fromCharCode(d.ram[0x9100]), 'ping');
    assert.deepEqual(changesOutside(before, d.ram, [...rx.regions, [0x9000, 3], [0x9100, 16]]), []);
    assert.equal(d.host.level, true);
    d.ack();
    // Later input goes through poll(), which says whether it raised the interrupt.
    rx.setDesc(2, 0x9200, 16, WRITE);
    rx.post(2);
    d.notify(CONSOLE_RECEIVEQ);
    assert.equal(d.host.level, false, 'no input, no used buffer, no interrupt');
    input.push('ok');
    assert.equal(d.transport.poll(), true);
    assert.deepEqual(rx.usedElem(2), { id: 2, len: 2 });
    assert.equal(d.host.level, true);
    assert.equal(d.transport.poll(), false);
  });

  it('poll() before DRIVER_OK does nothing', function () {
    const { d, input } = consoleDriver();
    input.push('x');
    assert.equal(d.transport.poll(), false);
    assert.equal(input.data.length, 1);
  });

  it('writes a byte stored to emerg_wr straight to the sink', function () {
    const { d, out } = consoleDriver();
    d.write(R.CONFIG + 8, 0x41, 4);
    d.write(R.CONFIG + 8, 0x42, 1);
    assert.equal(out.text(), 'AB');
  });

  it('a resize bumps ConfigGeneration and sends a config-change interrupt to a running driver', function () {
    const { d, dev } = consoleDriver({ cols: 80, rows: 25 });
    d.init(VERSION_1 | featureBit(VIRTIO_CONSOLE_F_SIZE), [8, 8]);
    dev.resize({ cols: 132, rows: 43 });
    assert.equal(d.read(R.CONFIG_GENERATION), 1);
    assert.equal(d.read(R.CONFIG, 2), 132);
    assert.equal(d.read(R.INTERRUPT_STATUS), VIRTIO_INT_CONFIG_CHANGE);
  });
});

describe('virtio-rng', function () {
  it('fills several buffers with different random bytes and counts them', function () {
    const dev = new VirtioRng();
    const d = new Driver(dev, new Uint8Array(0x10000));
    const [q] = d.init(VERSION_1, [8]);
    q.setDesc(0, 0x8000, 32, WRITE);
    q.setDesc(1, 0x8100, 32, WRITE);
    q.post(0);
    q.post(1);
    d.notify(0);
    assert.notDeepEqual(d.ram.subarray(0x8000, 0x8020), d.ram.subarray(0x8100, 0x8120));
    assert.notDeepEqual(d.ram.subarray(0x8000, 0x8020), new Uint8Array(32));
    assert.equal(dev.bytesServed, 64);
  });

  it(`fills at most ${RNG_MAX_REQUEST} bytes of one request and says so in used.len`, function () {
    const d = new Driver(new VirtioRng(), new Uint8Array(0x40000));
    const [q] = d.init(VERSION_1, [8]);
    q.setDesc(0, 0x10000, 0x20000, WRITE);
    q.post(0);
    d.notify(0);
    assert.deepEqual(q.usedElem(0), { id: 0, len: RNG_MAX_REQUEST });
  });

  it('answers a chain with no writable buffer with used.len 0', function () {
    const d = new Driver(new VirtioRng(), new Uint8Array(0x10000));
    const [q] = d.init(VERSION_1, [8]);
    q.setDesc(0, 0x8000, 32, 0);
    q.post(0);
    d.notify(0);
    assert.deepEqual(q.usedElem(0), { id: 0, len: 0 });
  });
});
