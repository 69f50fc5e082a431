// The virtio-mmio transport, register layout version 2 (virtio 1.2 §4.2.2), as a pure MMIO device:
// it decodes the guest's register accesses, runs feature negotiation and the status protocol,
// owns the split virtqueues and the interrupt line, and hands requests to a VirtioDevice.
//
// Decisions where the spec leaves the device free (documented for the guest header and README):
// - Registers take aligned 32-bit accesses only (§4.2.2.2 binds the driver). Any other size or
//   alignment reads as 0 and is ignored on write, like QEMU, and is reported once.
// - Write-only setup registers (selectors, DriverFeatures, QueueNum, queue addresses) read back the
//   value last written, like QEMU; QueueNotify and InterruptACK read 0 (reported).
// - Queue setup (QueueNum, QueueReady, the addresses) is refused once DRIVER_OK is set or while the
//   selected queue is ready. An invalid QueueNum (0, not a power of two, > QueueNumMax) leaves the
//   queue without a size, so QueueReady cannot be set until a valid QueueNum is written.
// - DRIVER_OK without an accepted FEATURES_OK stays clear; a driver cannot clear status bits except
//   by writing 0 (reset). Guest mistakes in the rings set DEVICE_NEEDS_RESET plus a config-change
//   interrupt once DRIVER_OK is set (§2.1.2).
import type { MmioDevice } from '../bus';
import { GuestRam, hex64 } from './guest-ram';
import { ProblemLog } from './virtio-host';
import type { InterruptLine, VirtioEvents } from './virtio-host';
import type { VirtioDevice } from './virtio-device';
import { SplitVirtqueue } from './virtqueue';
import type { DescriptorEntry } from './virtqueue';
import {
  VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_INT_CONFIG_CHANGE, VIRTIO_INT_USED_BUFFER,
  VIRTIO_MMIO as R, VIRTIO_MMIO_MAGIC, VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_WINDOW, VIRTIO_STATUS as S,
  VIRTQ_MAX_SIZE, featureBit,
} from './virtio-abi';
import { VirtioSnapshot, featureHex, featureNames, statusNames } from './virtio-snapshot';

const DEVICE_TYPE_FEATURES = (1n << 24n) - 1n;
const TRANSPORT_FEATURES = featureBit(VIRTIO_F_VERSION_1) | featureBit(VIRTIO_F_INDIRECT_DESC) | featureBit(VIRTIO_F_EVENT_IDX);
const DRIVER_STATUS_BITS = S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK | S.FAILED;

type QueueField = 'descLow' | 'descHigh' | 'driverLow' | 'driverHigh' | 'deviceLow' | 'deviceHigh';
const QUEUE_ADDRESS_REGISTERS = new Map<number, QueueField>([
  [R.QUEUE_DESC_LOW, 'descLow'], [R.QUEUE_DESC_HIGH, 'descHigh'],
  [R.QUEUE_DRIVER_LOW, 'driverLow'], [R.QUEUE_DRIVER_HIGH, 'driverHigh'],
  [R.QUEUE_DEVICE_LOW, 'deviceLow'], [R.QUEUE_DEVICE_HIGH, 'deviceHigh'],
]);
const READ_ONLY_REGISTERS = new Set<number>([
  R.MAGIC_VALUE, R.VERSION, R.DEVICE_ID, R.VENDOR_ID, R.DEVICE_FEATURES, R.QUEUE_NUM_MAX, R.INTERRUPT_STATUS,
  R.SHM_LEN_LOW, R.SHM_LEN_HIGH, R.SHM_BASE_LOW, R.SHM_BASE_HIGH, R.CONFIG_GENERATION,
]);

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/** Where InterruptStatus lives: element `index` of `cells` (shared with another thread, or private). */
export interface StatusCell {
  cells: Int32Array;
  index: number;
}

export class VirtioMmioTransport implements MmioDevice {
  readonly name: string;
  /** Everything the device offers: its own bits plus VERSION_1, INDIRECT_DESC and EVENT_IDX. */
  readonly offeredFeatures: bigint;
  private readonly ram: GuestRam;
  private readonly queues: SplitVirtqueue[];
  private readonly problems: ProblemLog;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private negotiated = 0n;
  private queueSel = 0;
  private shmSel = 0;
  /**
   * InterruptStatus, in a cell that may be shared: a device thread's vCPU thread reads it and
   * applies InterruptACK to it directly (io-thread/io-channel.ts), so an ACK and a new event's bit
   * can never overwrite each other. Atomics throughout for that reason.
   */
  private readonly statusCell: StatusCell;
  private lineLevel = false;
  private configGeneration = 0;
  /** Notifications sent to the driver (used-buffer and config-change). */
  interrupts = 0;
  /** QueueNotify writes. */
  notifications = 0;

  constructor(
    readonly base: number, readonly device: VirtioDevice, ram: Uint8Array, private readonly irq: InterruptLine, events: VirtioEvents,
    statusCell?: StatusCell,
  ) {
    this.statusCell = statusCell ?? { cells: new Int32Array(1), index: 0 };
    this.name = device.name;
    this.ram = new GuestRam(ram);
    this.problems = new ProblemLog(`${device.name} at ${hex(base)}`, events);
    this.offeredFeatures = (device.features & DEVICE_TYPE_FEATURES) | TRANSPORT_FEATURES;
    this.queues = device.queues.map((spec) => {
      // A host-side configuration mistake, not a guest one: fail loudly at construction.
      if (!isPowerOfTwo(spec.maxSize) || spec.maxSize > VIRTQ_MAX_SIZE) throw new Error(`${device.name}: queue ${spec.name} max size ${spec.maxSize} is not a power of two ≤ ${VIRTQ_MAX_SIZE}`);
      return new SplitVirtqueue(spec.name, spec.maxSize, this.ram, (kind, message) => this.fault(kind, message));
    });
    device.onConfigChange?.(() => this.configChanged());
  }

  mmioRead(address: number, data: Uint8Array): void {
    data.fill(0);
    this.guarded(`on read at ${hex(address)}`, undefined, () => this.read(address - this.base, data));
  }

  mmioWrite(address: number, data: Uint8Array): void {
    this.guarded(`on write at ${hex(address)}`, undefined, () => this.write(address - this.base, data));
  }

  /**
   * Host-side work: lets the device consume input that arrived (console receive) and raises the
   * used-buffer interrupt if that produced a notification. The monitor calls it when input
   * arrives and periodically; returns whether an interrupt was raised.
   */
  poll(): boolean {
    if (!this.operational()) return false;
    return this.guarded('while polling', false, () => {
      this.device.poll?.(this.queues);
      return this.signalUsedBuffers();
    });
  }

  /**
   * What a QueueNotify write of `value` (the queue index) does; public for the ioeventfd path,
   * where KVM swallows the write and the monitor learns of it from the eventfd.
   */
  queueNotify(value: number): void {
    this.notifications++;
    if (!(this.status & S.DRIVER_OK)) {
      this.problems.report('notify-before-driver-ok', `QueueNotify ${value} before DRIVER_OK (ignored)`);
      return;
    }
    if (!this.operational()) return; // needs reset or failed: nothing is served until a reset
    const q = this.queues[value];
    if (!q || !q.ready) {
      this.problems.report('notify-bad-queue', `QueueNotify for queue ${value}, which ${q ? 'is not ready' : 'does not exist'} (ignored)`);
      return;
    }
    this.guarded(`serving queue ${value}`, false, () => {
      this.device.queueNotified(value, this.queues);
      return this.signalUsedBuffers();
    });
  }

  /** Queue `index`'s descriptor table as it stands in guest RAM (first `limit` entries), for the views. */
  descriptorTable(index: number, limit = 64): DescriptorEntry[] {
    return this.queues[index]?.descriptors(limit) ?? [];
  }

  /** The device changed its config space: bump ConfigGeneration and notify a running driver. */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & S.DRIVER_OK) this.raise(VIRTIO_INT_CONFIG_CHANGE);
  }

  /** Whether the interrupt line is asserted. */
  get interruptLevel(): boolean {
    return this.lineLevel;
  }

  snapshot(): VirtioSnapshot {
    return {
      name: this.device.name,
      deviceId: this.device.deviceId,
      base: this.base,
      status: this.status,
      statusNames: statusNames(this.status),
      offeredFeatures: featureHex(this.offeredFeatures),
      driverFeatures: featureHex(this.driverFeatures),
      negotiatedFeatures: featureHex(this.negotiated),
      negotiatedFeatureNames: featureNames(this.negotiated, this.device.deviceId),
      interruptStatus: this.interruptStatus,
      interruptLine: this.lineLevel,
      configGeneration: this.configGeneration,
      queues: this.queues.map((q, index) => ({
        index,
        name: q.name,
        size: q.size,
        maxSize: q.maxSize,
        ready: q.ready,
        descAddress: hex64(q.descLow, q.descHigh),
        driverAddress: hex64(q.driverLow, q.driverHigh),
        deviceAddress: hex64(q.deviceLow, q.deviceHigh),
        availIdx: q.driverAvailIdx(),
        lastAvailIdx: q.lastAvailIdx,
        usedIdx: q.usedIdx,
        served: q.served,
        recent: q.recent.map((r) => ({ ...r })),
        broken: q.broken,
      })),
      interrupts: this.interrupts,
      notifications: this.notifications,
      problems: [...this.problems.messages],
    };
  }

  private read(offset: number, data: Uint8Array): void {
    if (offset >= R.CONFIG && offset < VIRTIO_MMIO_WINDOW) {
      const config = this.device.config;
      for (let i = 0; i < data.length; i++) data[i] = config[offset - R.CONFIG + i] ?? 0;
      return;
    }
    if (!this.registerAccess(offset, data, 'read')) return; // data is already zeroed
    const value = this.readRegister(offset);
    for (let i = 0; i < 4; i++) data[i] = (value >>> (8 * i)) & 0xff;
  }

  private write(offset: number, data: Uint8Array): void {
    if (offset >= R.CONFIG && offset < VIRTIO_MMIO_WINDOW) {
      if (this.device.writeConfig) this.device.writeConfig(offset - R.CONFIG, data);
      else this.problems.report('config-write', `write to read-only config space at offset ${hex(offset)} ignored`);
      return;
    }
    if (!this.registerAccess(offset, data, 'write')) return;
    this.writeRegister(offset, (data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24)) >>> 0);
  }

  /** Registers need aligned 32-bit accesses inside the window; anything else is reported and dropped. */
  private registerAccess(offset: number, data: Uint8Array, what: 'read' | 'write'): boolean {
    if (offset < 0 || offset >= VIRTIO_MMIO_WINDOW) {
      this.problems.report('outside-window', `${what} at window offset ${offset} is outside the device's ${hex(VIRTIO_MMIO_WINDOW)}-byte window`);
      return false;
    }
    if (data.length === 4 && offset % 4 === 0) return true;
    this.problems.report('register-access-size', `${data.length}-byte ${what} at register offset ${hex(offset)}: registers take aligned 32-bit accesses only (ignored${what === 'read' ? ', read as 0' : ''})`);
    return false;
  }

  private readRegister(offset: number): number {
    const q = this.queues[this.queueSel];
    const field = QUEUE_ADDRESS_REGISTERS.get(offset);
    if (field) return q ? q[field] : 0;
    switch (offset) {
      case R.MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
      case R.VERSION: return VIRTIO_MMIO_VERSION;
      case R.DEVICE_ID: return this.device.deviceId;
      case R.VENDOR_ID: return VIRTIO_MMIO_VENDOR_ID;
      case R.DEVICE_FEATURES: return this.featureWord(this.offeredFeatures, this.deviceFeaturesSel);
      case R.DEVICE_FEATURES_SEL: return this.deviceFeaturesSel;
      case R.DRIVER_FEATURES: return this.featureWord(this.driverFeatures, this.driverFeaturesSel);
      case R.DRIVER_FEATURES_SEL: return this.driverFeaturesSel;
      case R.QUEUE_SEL: return this.queueSel;
      case R.QUEUE_NUM_MAX: return q ? q.maxSize : 0;
      case R.QUEUE_NUM: return q ? q.size : 0;
      case R.QUEUE_READY: return q?.ready ? 1 : 0;
      case R.INTERRUPT_STATUS: return this.interruptStatus;
      case R.STATUS: return this.status;
      case R.SHM_SEL: return this.shmSel;
      // No shared memory regions: a region's length reads as -1 (§4.2.2).
      case R.SHM_LEN_LOW: case R.SHM_LEN_HIGH: case R.SHM_BASE_LOW: case R.SHM_BASE_HIGH: return 0xffffffff;
      case R.CONFIG_GENERATION: return this.configGeneration;
      case R.QUEUE_NOTIFY: case R.INTERRUPT_ACK:
        this.problems.report('read-write-only', `read of write-only register ${hex(offset)} (reads 0)`);
        return 0;
      default:
        this.problems.report('unknown-register', `read of undefined register offset ${hex(offset)} (reads 0)`);
        return 0;
    }
  }

  private writeRegister(offset: number, value: number): void {
    if (READ_ONLY_REGISTERS.has(offset)) {
      this.problems.report('write-read-only', `write of ${hex(value)} to read-only register ${hex(offset)} ignored`);
      return;
    }
    const field = QUEUE_ADDRESS_REGISTERS.get(offset);
    if (field) {
      this.setupQueue(offset, (q) => { q[field] = value; });
      return;
    }
    switch (offset) {
      case R.DEVICE_FEATURES_SEL: this.deviceFeaturesSel = value; return;
      case R.DRIVER_FEATURES: this.writeDriverFeatures(value); return;
      case R.DRIVER_FEATURES_SEL: this.driverFeaturesSel = value; return;
      case R.QUEUE_SEL: this.queueSel = value; return;
      case R.QUEUE_NUM: this.setupQueue(offset, (q) => this.setQueueSize(q, value)); return;
      case R.QUEUE_READY: this.setupQueue(offset, (q) => this.setQueueReady(q, value)); return;
      case R.QUEUE_NOTIFY: this.queueNotify(value); return;
      case R.INTERRUPT_ACK:
        Atomics.and(this.statusCell.cells, this.statusCell.index, ~value);
        this.updateLine();
        return;
      case R.STATUS: this.writeStatus(value); return;
      case R.SHM_SEL: this.shmSel = value; return;
      default:
        this.problems.report('unknown-register', `write of ${hex(value)} to undefined register offset ${hex(offset)} ignored`);
    }
  }

  private featureWord(features: bigint, sel: number): number {
    return sel > 1 ? 0 : Number((features >> BigInt(32 * sel)) & 0xffffffffn);
  }

  private writeDriverFeatures(value: number): void {
    if (this.status & S.FEATURES_OK) {
      this.problems.report('features-after-features-ok', `DriverFeatures written after FEATURES_OK (ignored)`);
      return;
    }
    if (this.driverFeaturesSel > 1) return; // bits ≥ 64 do not exist; the driver must write 0 there
    const shift = BigInt(32 * this.driverFeaturesSel);
    this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(value) << shift);
  }

  /** Queue registers apply to QueueSel's queue, and only during setup (§3.1.1, §4.2.2.2). */
  private setupQueue(offset: number, apply: (q: SplitVirtqueue) => void): void {
    const q = this.queues[this.queueSel];
    if (!q) {
      this.problems.report('no-such-queue', `queue register ${hex(offset)} written with QueueSel ${this.queueSel}, the device has ${this.queues.length} queue(s) (ignored)`);
    } else if (this.status & S.DRIVER_OK) {
      this.problems.report('queue-setup-after-driver-ok', `queue register ${hex(offset)} written after DRIVER_OK (ignored)`);
    } else if (q.ready && offset !== R.QUEUE_READY) {
      this.problems.report('queue-setup-while-ready', `queue register ${hex(offset)} of ${q.name} written while QueueReady is 1 (ignored)`);
    } else {
      apply(q);
    }
  }

  private setQueueSize(q: SplitVirtqueue, value: number): void {
    if (isPowerOfTwo(value) && value <= q.maxSize) {
      q.size = value;
      return;
    }
    q.size = 0;
    this.problems.report('bad-queue-size', `QueueNum ${value} for ${q.name} is not a power of two ≤ QueueNumMax ${q.maxSize}; the queue cannot be made ready until a valid size is written`);
  }

  private setQueueReady(q: SplitVirtqueue, value: number): void {
    if ((value & 1) === 0) {
      q.ready = false;
    } else if (q.size === 0) {
      this.problems.report('bad-queue-size', `QueueReady set for ${q.name} without a valid QueueNum (stays 0)`);
    } else {
      q.ready = true;
    }
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    // DEVICE_NEEDS_RESET belongs to the device; driver bits only accumulate until a reset.
    let next = (value & ~S.DEVICE_NEEDS_RESET & 0xff) | (old & S.DEVICE_NEEDS_RESET);
    const cleared = old & DRIVER_STATUS_BITS & ~next;
    if (cleared) {
      this.problems.report('status-cleared', `status bits ${hex(cleared)} cleared without a reset (kept; write 0 to reset)`);
      next |= cleared;
    }
    if (next & S.FEATURES_OK && !(old & S.FEATURES_OK) && !this.acceptFeatures()) next &= ~S.FEATURES_OK;
    if (next & S.DRIVER_OK && !(old & S.DRIVER_OK) && !(next & S.FEATURES_OK)) {
      this.problems.report('driver-ok-without-features-ok', `DRIVER_OK set without an accepted FEATURES_OK (stays clear)`);
      next &= ~S.DRIVER_OK;
    }
    this.status = next;
  }

  /** FEATURES_OK is refused unless the driver took VERSION_1 and nothing that was not offered (§2.2, §6.1). */
  private acceptFeatures(): boolean {
    const f = this.driverFeatures;
    if ((f & featureBit(VIRTIO_F_VERSION_1)) === 0n) {
      this.problems.report('features-refused', `FEATURES_OK refused: driver features ${featureHex(f)} lack VIRTIO_F_VERSION_1 (bit 32); this device is modern-only`);
      return false;
    }
    const unoffered = f & ~this.offeredFeatures;
    if (unoffered !== 0n) {
      this.problems.report('features-refused', `FEATURES_OK refused: driver accepted features ${featureHex(unoffered)} the device did not offer`);
      return false;
    }
    this.negotiated = f;
    for (const q of this.queues) {
      q.indirect = (f & featureBit(VIRTIO_F_INDIRECT_DESC)) !== 0n;
      q.eventIdx = (f & featureBit(VIRTIO_F_EVENT_IDX)) !== 0n;
    }
    return true;
  }

  private operational(): boolean {
    return (this.status & (S.DRIVER_OK | S.DEVICE_NEEDS_RESET | S.FAILED)) === S.DRIVER_OK;
  }

  /** Never let a device bug take the vCPU loop down: report it once and carry on. */
  private guarded<T>(what: string, fallback: T, action: () => T): T {
    try {
      return action();
    } catch (e) {
      this.problems.report('internal-error', `internal error ${what}: ${(e as Error).message}`);
      return fallback;
    }
  }

  private signalUsedBuffers(): boolean {
    let notify = false;
    for (const q of this.queues) if (q.takeNotification()) notify = true;
    if (notify) this.raise(VIRTIO_INT_USED_BUFFER);
    return notify;
  }

  /** A malformed ring: stop and ask for a reset (§2.1.2), with a config-change notification. */
  private fault(kind: string, message: string): void {
    this.problems.report(kind, `${message}; device needs reset`);
    if (this.status & S.DEVICE_NEEDS_RESET) return;
    this.status |= S.DEVICE_NEEDS_RESET;
    if (this.status & S.DRIVER_OK) this.raise(VIRTIO_INT_CONFIG_CHANGE);
  }

  private raise(bit: number): void {
    this.interrupts++;
    Atomics.or(this.statusCell.cells, this.statusCell.index, bit);
    // Every event reaches the line, even one that finds it high: where the status cell is shared,
    // the other thread may have acknowledged the earlier event already, and this one needs its own
    // interrupt (a line that is high already ignores it).
    this.lineLevel = true;
    this.irq.set(true);
  }

  private get interruptStatus(): number {
    return Atomics.load(this.statusCell.cells, this.statusCell.index) >>> 0;
  }

  /**
   * Re-reads InterruptStatus and moves the line to match: after the vCPU thread applied an
   * InterruptACK to a shared cell itself.
   */
  interruptStatusChanged(): void {
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.interruptStatus !== 0;
    if (level === this.lineLevel) return;
    this.lineLevel = level;
    this.irq.set(level);
  }

  private reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = this.shmSel = 0;
    this.driverFeatures = this.negotiated = 0n;
    Atomics.store(this.statusCell.cells, this.statusCell.index, 0);
    this.updateLine();
    for (const q of this.queues) q.reset();
    this.device.reset();
  }
}
