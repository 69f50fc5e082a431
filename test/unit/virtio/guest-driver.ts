// A virtio-mmio guest driver in miniature, for the tests: it touches the transport only through
// mmioRead/mmioWrite and lays out split rings in a Uint8Array "guest RAM", the way a bare-metal
// driver following the virtio 1.2 spec would (§3.1.1 init sequence, §2.7 ring layout).
import { VirtioMmioTransport } from '../../../debug-adapter/vmm/devices/virtio/mmio-transport';
import type { VirtioDevice } from '../../../debug-adapter/vmm/devices/virtio/virtio-device';
import type { InterruptLine, VirtioEvents } from '../../../debug-adapter/vmm/devices/virtio/virtio-host';
import { VIRTIO_MMIO as R, VIRTIO_STATUS as S, VIRTIO_F_VERSION_1, featureBit } from '../../../debug-adapter/vmm/devices/virtio/virtio-abi';

export const BASE = 0xd000_0000;
export const VERSION_1 = featureBit(VIRTIO_F_VERSION_1);

/** The monitor's side: the interrupt line's level changes and the reports. */
export class Host implements InterruptLine, VirtioEvents {
  level = false;
  readonly edges: boolean[] = [];
  readonly reports: string[] = [];
  /** The transport announces every event with set(true), high already or not: edges are the changes. */
  set(level: boolean): void {
    if (level !== this.level) this.edges.push(level);
    this.level = level;
  }
  report(message: string): void {
    this.reports.push(message);
  }
}

/** One split virtqueue laid out in guest RAM: descriptor table, avail ring, used ring. */
export class Ring {
  constructor(readonly ram: Uint8Array, readonly size: number, readonly desc: number, readonly avail: number, readonly used: number) {}

  private get view(): DataView {
    return new DataView(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
  }

  /** Write descriptor i (addr as bigint so tests can use 64-bit addresses). */
  setDesc(i: number, addr: bigint | number, len: number, flags: number, next = 0, table = this.desc): void {
    const v = this.view;
    const d = table + 16 * i;
    v.setBigUint64(d, BigInt(addr), true);
    v.setUint32(d + 8, len >>> 0, true);
    v.setUint16(d + 12, flags, true);
    v.setUint16(d + 14, next, true);
  }

  /** Put a chain head in the avail ring and publish it by bumping avail idx. */
  post(head: number): void {
    const v = this.view;
    const idx = v.getUint16(this.avail + 2, true);
    v.setUint16(this.avail + 4 + 2 * (idx % this.size), head, true);
    v.setUint16(this.avail + 2, (idx + 1) & 0xffff, true);
  }

  set availFlags(flags: number) {
    this.view.setUint16(this.avail, flags, true);
  }
  set availIdx(idx: number) {
    this.view.setUint16(this.avail + 2, idx & 0xffff, true);
  }
  get availIdx(): number {
    return this.view.getUint16(this.avail + 2, true);
  }
  /** used_event, the trailing field of the avail ring (EVENT_IDX). */
  set usedEvent(idx: number) {
    this.view.setUint16(this.avail + 4 + 2 * this.size, idx & 0xffff, true);
  }
  /** avail_event, the trailing field of the used ring (EVENT_IDX). */
  get availEvent(): number {
    return this.view.getUint16(this.used + 4 + 8 * this.size, true);
  }
  get usedIdx(): number {
    return this.view.getUint16(this.used + 2, true);
  }
  usedElem(i: number): { id: number; len: number } {
    const e = this.used + 4 + 8 * (i % this.size);
    return { id: this.view.getUint32(e, true), len: this.view.getUint32(e + 4, true) };
  }

  /** Bytes of RAM the rings occupy, for "nothing else changed" checks. */
  get regions(): [number, number][] {
    return [[this.desc, 16 * this.size], [this.avail, 6 + 2 * this.size], [this.used, 6 + 8 * this.size]];
  }
}

export class Driver {
  readonly host = new Host();
  readonly transport: VirtioMmioTransport;

  constructor(readonly device: VirtioDevice, readonly ram: Uint8Array, base = BASE) {
    this.transport = new VirtioMmioTransport(base, device, ram, this.host, this.host);
  }

  read(offset: number, size = 4): number {
    const data = new Uint8Array(size);
    this.transport.mmioRead(this.transport.base + offset, data);
    return data.reduce((v, b, i) => v + b * 2 ** (8 * i), 0);
  }

  write(offset: number, value: number, size = 4): void {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    this.transport.mmioWrite(this.transport.base + offset, data);
  }

  get status(): number {
    return this.read(R.STATUS);
  }

  deviceFeatures(): bigint {
    this.write(R.DEVICE_FEATURES_SEL, 0);
    const low = this.read(R.DEVICE_FEATURES);
    this.write(R.DEVICE_FEATURES_SEL, 1);
    return (BigInt(this.read(R.DEVICE_FEATURES)) << 32n) | BigInt(low);
  }

  writeDriverFeatures(features: bigint): void {
    this.write(R.DRIVER_FEATURES_SEL, 0);
    this.write(R.DRIVER_FEATURES, Number(features & 0xffffffffn));
    this.write(R.DRIVER_FEATURES_SEL, 1);
    this.write(R.DRIVER_FEATURES, Number(features >> 32n));
  }

  /** §3.1.1 up to FEATURES_OK; returns whether the device kept FEATURES_OK. */
  negotiate(features: bigint): boolean {
    this.write(R.STATUS, 0);
    this.write(R.STATUS, S.ACKNOWLEDGE);
    this.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
    this.writeDriverFeatures(features);
    this.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    return (this.status & S.FEATURES_OK) !== 0;
  }

  /** Queue setup as a driver does it: fresh (zeroed) rings, then the registers. */
  setupQueue(index: number, ring: Ring): void {
    for (const [start, length] of ring.regions) if (start + length <= this.ram.length) this.ram.fill(0, start, start + length);
    this.write(R.QUEUE_SEL, index);
    this.write(R.QUEUE_NUM, ring.size);
    this.write(R.QUEUE_DESC_LOW, ring.desc);
    this.write(R.QUEUE_DESC_HIGH, 0);
    this.write(R.QUEUE_DRIVER_LOW, ring.avail);
    this.write(R.QUEUE_DRIVER_HIGH, 0);
    this.write(R.QUEUE_DEVICE_LOW, ring.used);
    this.write(R.QUEUE_DEVICE_HIGH, 0);
    this.write(R.QUEUE_READY, 1);
  }

  /** The whole init sequence: negotiate, set up the rings (queue i at ringBase + i·0x1000), DRIVER_OK. */
  init(features: bigint, sizes: number[], ringBase = 0x1000): Ring[] {
    if (!this.negotiate(features)) throw new Error('FEATURES_OK refused');
    const rings = sizes.map((size, i) => {
      const desc = ringBase + i * 0x2000;
      const ring = new Ring(this.ram, size, desc, desc + 16 * size, (desc + 16 * size + 6 + 2 * size + 3) & ~3);
      this.setupQueue(i, ring);
      return ring;
    });
    this.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
    return rings;
  }

  notify(queue: number): void {
    this.write(R.QUEUE_NOTIFY, queue);
  }

  /** Acknowledge whatever InterruptStatus shows, as an interrupt handler would. */
  ack(): number {
    const isr = this.read(R.INTERRUPT_STATUS);
    this.write(R.INTERRUPT_ACK, isr);
    return isr;
  }
}

/** The byte ranges of `after` that differ from `before` and lie outside every [start, length) region. */
export function changesOutside(before: Uint8Array, after: Uint8Array, regions: [number, number][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < after.length; i++) {
    if (before[i] === after[i]) continue;
    if (!regions.some(([s, n]) => i >= s && i < s + n)) out.push(i);
  }
  return out;
}
