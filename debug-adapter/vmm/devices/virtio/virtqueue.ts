// The device side of a split virtqueue (virtio 1.2 §2.7): the descriptor table, the available ring
// the driver fills and the used ring the device fills, all in guest RAM. Everything read from RAM
// is guest-controlled, so each address is bounds-checked before use and each malformed chain is a
// fault (reported to the transport, which sets DEVICE_NEEDS_RESET) rather than an exception.
import { GuestRam, address64, hex64 } from './guest-ram';
import {
  VIRTQ_AVAIL_ALIGN, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_ALIGN, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE, VIRTQ_DESC_SIZE, VIRTQ_USED_ALIGN, VIRTQ_USED_ELEM_SIZE,
} from './virtio-abi';

/** One request: the chain's buffers as live views of guest RAM, device-readable ones first. */
export interface DescriptorChain {
  readonly head: number;
  readonly readable: readonly Uint8Array[];
  readonly writable: readonly Uint8Array[];
  readonly readableLength: number;
  readonly writableLength: number;
}

/** What a device model sees of a queue: take the next request, give it back with the bytes written. */
export interface QueueAccess {
  readonly name: string;
  pop(): DescriptorChain | undefined;
  complete(chain: DescriptorChain, written: number): void;
}

/** A guest mistake found in a queue; `kind` groups reports (one per kind per device). */
export type QueueFault = (kind: string, message: string) => void;

export interface RequestRecord {
  head: number;
  /** Bytes the driver offered for the device to read. */
  readable: number;
  /** Bytes the device wrote (the used element's len). */
  written: number;
}

/** One descriptor as the views show it (flags: NEXT 1, WRITE 2, INDIRECT 4). */
export interface DescriptorEntry {
  index: number;
  address: string;
  length: number;
  flags: number;
  next: number;
}

const RECENT_REQUESTS = 8;
const MAX_CHAIN_BYTES = 0xffffffff; // §2.7.5: a chain is at most 2^32 bytes; used.len is 32-bit

class ChainFault extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

export class SplitVirtqueue implements QueueAccess {
  /** QueueNum; 0 after an invalid QueueNum write, so the queue cannot be made ready. */
  size: number;
  ready = false;
  descLow = 0;
  descHigh = 0;
  driverLow = 0;
  driverHigh = 0;
  deviceLow = 0;
  deviceHigh = 0;
  /** Negotiated VIRTIO_F_INDIRECT_DESC / VIRTIO_F_EVENT_IDX, set by the transport at FEATURES_OK. */
  indirect = false;
  eventIdx = false;
  lastAvailIdx = 0;
  usedIdx = 0;
  /** used idx when the driver was last considered for a notification (old_idx of vring_need_event). */
  private signalledUsedIdx = 0;
  served = 0;
  readonly recent: RequestRecord[] = [];
  /** Set by a fault: the queue serves nothing more until reset. */
  broken = false;

  constructor(readonly name: string, readonly maxSize: number, private readonly ram: GuestRam, private readonly fault: QueueFault) {
    this.size = maxSize;
  }

  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descLow = this.descHigh = this.driverLow = this.driverHigh = this.deviceLow = this.deviceHigh = 0;
    this.indirect = this.eventIdx = false;
    this.lastAvailIdx = this.usedIdx = this.signalledUsedIdx = 0;
    this.served = 0;
    this.recent.length = 0;
    this.broken = false;
  }

  get descAddress(): number {
    return address64(this.descLow, this.descHigh);
  }
  get driverAddress(): number {
    return address64(this.driverLow, this.driverHigh);
  }
  get deviceAddress(): number {
    return address64(this.deviceLow, this.deviceHigh);
  }

  /** The driver's avail idx as it stands in RAM, or undefined while the avail ring is not in RAM. */
  driverAvailIdx(): number | undefined {
    const avail = this.driverAddress;
    return this.ram.contains(avail, 4) ? this.ram.u16(avail + 2) : undefined;
  }

  /** The descriptor table as it stands in RAM (the first `limit` entries), for the views. */
  descriptors(limit: number): DescriptorEntry[] {
    const table = this.descAddress;
    const out: DescriptorEntry[] = [];
    for (let i = 0; i < Math.min(this.size, limit); i++) {
      const d = table + VIRTQ_DESC_SIZE * i;
      if (!this.ram.contains(d, VIRTQ_DESC_SIZE)) break;
      out.push({ index: i, address: hex64(this.ram.u32(d), this.ram.u32(d + 4)), length: this.ram.u32(d + 8), flags: this.ram.u16(d + 12), next: this.ram.u16(d + 14) });
    }
    return out;
  }

  /** The next available chain, or undefined when there is none or the queue is broken/not ready. */
  pop(): DescriptorChain | undefined {
    if (!this.ready || this.broken) return undefined;
    try {
      this.checkAreas();
      const avail = this.driverAddress;
      const availIdx = this.ram.u16(avail + 2);
      const pending = (availIdx - this.lastAvailIdx) & 0xffff;
      if (pending === 0) return undefined;
      if (pending > this.size) {
        throw new ChainFault('avail-idx', `${this.name}: avail idx moved from ${this.lastAvailIdx} to ${availIdx}, more than the queue size ${this.size}`);
      }
      const head = this.ram.u16(avail + 4 + 2 * (this.lastAvailIdx & (this.size - 1)));
      this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
      // avail_event (§2.7.10): ask to be notified for the very next buffer, so none is left waiting.
      if (this.eventIdx) this.ram.setU16(this.deviceAddress + 4 + VIRTQ_USED_ELEM_SIZE * this.size, this.lastAvailIdx);
      return this.walk(head);
    } catch (e) {
      if (!(e instanceof ChainFault)) throw e;
      this.broken = true;
      this.fault(e.kind, e.message);
      return undefined;
    }
  }

  /** Put a served chain in the used ring with the number of bytes written into it. */
  complete(chain: DescriptorChain, written: number): void {
    const used = this.deviceAddress;
    // Normally checked by the pop that produced `chain`; checked again in case a device completes
    // a chain after the driver reset and moved the queue.
    if (!this.ready || this.broken || !this.ram.contains(used, 6 + VIRTQ_USED_ELEM_SIZE * this.size)) return;
    const len = Math.max(0, Math.min(written, chain.writableLength));
    const elem = used + 4 + VIRTQ_USED_ELEM_SIZE * (this.usedIdx & (this.size - 1));
    this.ram.setU32(elem, chain.head);
    this.ram.setU32(elem + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.ram.setU16(used + 2, this.usedIdx);
    this.served++;
    this.recent.push({ head: chain.head, readable: chain.readableLength, written: len });
    if (this.recent.length > RECENT_REQUESTS) this.recent.shift();
  }

  /**
   * Whether the used entries added since the last call deserve a used-buffer notification:
   * vring_need_event(used_event, new, old) with VIRTIO_F_EVENT_IDX, else the avail ring's
   * NO_INTERRUPT flag (§2.7.7, §2.7.10).
   */
  takeNotification(): boolean {
    const newIdx = this.usedIdx;
    const oldIdx = this.signalledUsedIdx;
    if (newIdx === oldIdx || !this.ready || this.broken) return false;
    this.signalledUsedIdx = newIdx;
    const avail = this.driverAddress;
    if (this.eventIdx) {
      const usedEvent = this.ram.u16(avail + 4 + 2 * this.size);
      return ((newIdx - usedEvent - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }
    return (this.ram.u16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  private checkAreas(): void {
    const n = this.size;
    const areas: [string, number, number, number, number][] = [
      ['descriptor table', this.descLow, this.descHigh, VIRTQ_DESC_SIZE * n, VIRTQ_DESC_ALIGN],
      ['driver area (avail ring)', this.driverLow, this.driverHigh, 6 + 2 * n, VIRTQ_AVAIL_ALIGN],
      ['device area (used ring)', this.deviceLow, this.deviceHigh, 6 + VIRTQ_USED_ELEM_SIZE * n, VIRTQ_USED_ALIGN],
    ];
    for (const [what, low, high, length, align] of areas) {
      const address = address64(low, high);
      if (!this.ram.contains(address, length)) {
        throw new ChainFault('queue-area-outside-ram', `${this.name}: ${what} at ${hex64(low, high)} (${length} bytes) is outside guest RAM`);
      }
      if (address % align !== 0) throw new ChainFault('queue-area-unaligned', `${this.name}: ${what} at ${hex64(low, high)} is not ${align}-byte aligned`);
    }
  }

  /**
   * Follow a chain from `head`: zero or more direct descriptors, optionally ending in one that
   * points at an indirect table (§2.7.5.3). A chain longer than its table (the queue, or the
   * indirect table) can only be a loop.
   */
  private walk(head: number): DescriptorChain {
    const readable: Uint8Array[] = [];
    const writable: Uint8Array[] = [];
    let readableLength = 0;
    let writableLength = 0;
    let table = this.descAddress;
    let tableSize = this.size;
    let inIndirect = false;
    let sawWritable = false;
    let count = 0;
    let index = head;
    if (head >= this.size) throw new ChainFault('head-out-of-range', `${this.name}: avail ring names descriptor ${head}, the queue has ${this.size}`);
    for (;;) {
      if (++count > tableSize) {
        throw new ChainFault('chain-too-long', `${this.name}: descriptor chain from head ${head} is longer than its ${inIndirect ? 'indirect table' : 'queue'} (${tableSize} entries): a loop`);
      }
      const d = table + VIRTQ_DESC_SIZE * index;
      const address = address64(this.ram.u32(d), this.ram.u32(d + 4));
      const length = this.ram.u32(d + 8);
      const flags = this.ram.u16(d + 12);
      const next = this.ram.u16(d + 14);
      const where = hex64(this.ram.u32(d), this.ram.u32(d + 4));
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) throw new ChainFault('indirect-not-negotiated', `${this.name}: INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC negotiated`);
        if (inIndirect) throw new ChainFault('nested-indirect', `${this.name}: INDIRECT descriptor inside an indirect table`);
        if (flags & VIRTQ_DESC_F_NEXT) throw new ChainFault('indirect-with-next', `${this.name}: descriptor ${index} sets both INDIRECT and NEXT`);
        if (length === 0 || length % VIRTQ_DESC_SIZE !== 0) throw new ChainFault('indirect-table-size', `${this.name}: indirect table length ${length} is not a non-zero multiple of 16`);
        if (!this.ram.contains(address, length)) {
          throw new ChainFault('descriptor-outside-ram', `${this.name}: indirect table ${where} (${length} bytes) is outside guest RAM`);
        }
        table = address;
        tableSize = length / VIRTQ_DESC_SIZE;
        inIndirect = true;
        count = 0;
        index = 0;
        continue;
      }
      if (!this.ram.contains(address, length)) {
        throw new ChainFault('descriptor-outside-ram', `${this.name}: buffer ${where} (${length} bytes) is outside guest RAM`);
      }
      if (flags & VIRTQ_DESC_F_WRITE) {
        sawWritable = true;
        if (length > 0) writable.push(this.ram.window(address, length));
        writableLength += length;
      } else {
        if (sawWritable) throw new ChainFault('readable-after-writable', `${this.name}: device-readable buffer after a device-writable one in the chain from head ${head}`);
        if (length > 0) readable.push(this.ram.window(address, length));
        readableLength += length;
      }
      if (readableLength + writableLength > MAX_CHAIN_BYTES) throw new ChainFault('chain-too-large', `${this.name}: chain from head ${head} holds more than 4 GiB`);
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableSize) throw new ChainFault('next-out-of-range', `${this.name}: descriptor ${index} chains to ${next}, beyond its table of ${tableSize}`);
      index = next;
    }
    return { head, readable, writable, readableLength, writableLength };
  }
}
