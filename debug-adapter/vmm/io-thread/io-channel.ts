// The vCPU thread's synchronous line to the device thread (../io-worker.ts). A guest's access to a
// virtio register exits to the vCPU thread, which must answer before KVM resumes the guest: the
// request goes over a MessagePort, an eventfd wakes the device thread out of poll(), and the
// vCPU thread sleeps on a shared flag until the answer is in the port.
import { MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import * as libc from '../libc';
import type { MmioDevice } from '../devices/bus';
import type { RedirectionInfo } from '../devices/ioapic';
import type { DevicesSnapshot } from '../vcpu-protocol';
import type { StatusCell } from '../devices/virtio/mmio-transport';

/** What the device thread counts: the work done without the vCPU leaving the kernel. */
export interface EventfdStats {
  /** Queue notifications KVM signalled through an ioeventfd (each would have been an MMIO exit). */
  ioeventfdNotifications: number;
  /** Interrupts asserted through an irqfd. */
  irqfdInjections: number;
  /** Input changes made with KVM_IRQ_LINE (without irqfd). */
  irqLineCalls: number;
  /** Times the device thread kicked a halted vCPU to see whether it halted for good. */
  haltChecks: number;
}

export interface IoSnapshot {
  virtio: DevicesSnapshot['virtio'];
  /** Per I/O APIC input the devices drive: what drives it and how often it was raised. */
  lines: Pick<RedirectionInfo, 'pin' | 'source' | 'raised' | 'asserted'>[];
  eventfds: EventfdStats;
}

export type IoRequest =
  | { op: 'attach'; tid: number; runAddress: bigint; statsFd?: number }
  | { op: 'snapshot' }
  | { op: 'exit' };

/** An MMIO access the device thread serves: data is read into, or written from, `data`. */
export interface MmioAccess {
  address: number;
  write: boolean;
  data: Uint8Array;
}

export type IoReply = { ok: true; value?: unknown } | { ok: false; message: string };

/** What both ends are given: the port, the shared mailbox (with the write ring) and the eventfd that wakes the device thread. */
export interface IoChannelInit {
  port: MessagePort;
  /** Int32 slots, see MAILBOX, then the write ring. */
  mailbox: SharedArrayBuffer;
  requestFd: number;
}

/**
 * The mailbox's Int32 slots. STATE: IDLE → the vCPU posts ACCESS or MESSAGE → the device thread
 * answers DONE or FAILED. STATUS + i: device i's InterruptStatus. HEAD/TAIL: writes queued / applied.
 */
const MAILBOX = { STATE: 0, ADDRESS: 1, LENGTH: 2, WRITE: 3, DATA: 4, HEAD: 6, TAIL: 7, STATUS: 8, SIZE: 16 } as const;
const STATE = { IDLE: 0, ACCESS: 1, MESSAGE: 2, DONE: 3, FAILED: 4 } as const;
/** Queued writes: [address, length, data low, data high] each. */
const RING_ENTRIES = 256;
const ENTRY = 4;
/** virtio-mmio InterruptStatus and InterruptACK (register offsets in each device's window). */
const INTERRUPT_STATUS = 0x060;
const INTERRUPT_ACK = 0x064;

export function newMailbox(): SharedArrayBuffer {
  return new SharedArrayBuffer((MAILBOX.SIZE + RING_ENTRIES * ENTRY) * 4);
}

/** Device i's InterruptStatus register, shared by both threads. */
export function statusCell(mailbox: SharedArrayBuffer, device: number): StatusCell {
  return { cells: new Int32Array(mailbox), index: MAILBOX.STATUS + device };
}

/** How long the vCPU thread waits for an answer before calling the device thread lost. */
const ANSWER_MS = 10000;
/** Polls of the answer before sleeping on it (a few microseconds). */
const SPINS = 2000;

/** Both ends' views of the mailbox: its slots, its data bytes, the write ring. */
class MailboxViews {
  protected readonly box: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly ring: Int32Array;
  protected readonly ringBytes: Uint8Array;

  constructor(protected readonly c: IoChannelInit) {
    this.box = new Int32Array(c.mailbox);
    this.bytes = new Uint8Array(c.mailbox, MAILBOX.DATA * 4, 8);
    this.ring = new Int32Array(c.mailbox, MAILBOX.SIZE * 4);
    this.ringBytes = new Uint8Array(c.mailbox, MAILBOX.SIZE * 4);
  }
}

export class IoClient extends MailboxViews {
  /** Queues a write (at most 8 bytes) and goes on; waits only while the ring is full. */
  post(address: number, data: Uint8Array): void {
    const head = Atomics.load(this.box, MAILBOX.HEAD);
    for (;;) {
      const tail = Atomics.load(this.box, MAILBOX.TAIL);
      if (head - tail < RING_ENTRIES) break;
      libc.signalEventfd(this.c.requestFd);
      if (Atomics.wait(this.box, MAILBOX.TAIL, tail, ANSWER_MS) === 'timed-out') throw new Error(`the device thread took no queued write within ${ANSWER_MS / 1000} s`);
    }
    const at = (head % RING_ENTRIES) * ENTRY;
    this.ring[at] = address | 0;
    this.ring[at + 1] = Math.min(data.length, 8);
    this.ringBytes.fill(0, (at + 2) * 4, (at + 4) * 4);
    this.ringBytes.set(data.subarray(0, 8), (at + 2) * 4);
    Atomics.store(this.box, MAILBOX.HEAD, head + 1);
    libc.signalEventfd(this.c.requestFd);
  }

  /** InterruptStatus of device i without asking, when no queued write could still change it. */
  interruptStatus(device: number): number | undefined {
    if (Atomics.load(this.box, MAILBOX.HEAD) !== Atomics.load(this.box, MAILBOX.TAIL)) return undefined;
    return Atomics.load(this.box, MAILBOX.STATUS + device) >>> 0;
  }

  /** InterruptACK of device i, applied to the shared register at once. */
  acknowledge(device: number, bits: number): void {
    Atomics.and(this.box, MAILBOX.STATUS + device, ~bits);
  }

  /** Posts `state` and waits for the answer; returns it (DONE or FAILED). */
  private exchange(state: number, what: string): number {
    Atomics.store(this.box, MAILBOX.STATE, state);
    libc.signalEventfd(this.c.requestFd);
    for (let i = 0; i < SPINS; i++) {
      const s = Atomics.load(this.box, MAILBOX.STATE);
      if (s === STATE.DONE || s === STATE.FAILED) return this.take();
    }
    for (;;) {
      const s = Atomics.load(this.box, MAILBOX.STATE);
      if (s === STATE.DONE || s === STATE.FAILED) return this.take();
      if (Atomics.wait(this.box, MAILBOX.STATE, s, ANSWER_MS) === 'timed-out') throw new Error(`the device thread did not answer ${what} within ${ANSWER_MS / 1000} s`);
    }
  }

  private take(): number {
    return Atomics.exchange(this.box, MAILBOX.STATE, STATE.IDLE);
  }

  /** One MMIO access, served synchronously (at most 8 bytes). */
  access(address: number, write: boolean, data: Uint8Array): void {
    Atomics.store(this.box, MAILBOX.ADDRESS, address | 0);
    Atomics.store(this.box, MAILBOX.LENGTH, data.length);
    Atomics.store(this.box, MAILBOX.WRITE, write ? 1 : 0);
    if (write) this.bytes.set(data);
    if (this.exchange(STATE.ACCESS, 'an MMIO access') === STATE.FAILED) throw new Error(`the device thread failed an MMIO access at 0x${(address >>> 0).toString(16)}`);
    if (!write) data.set(this.bytes.subarray(0, data.length));
  }

  call<T = void>(req: IoRequest): T {
    this.c.port.postMessage(req);
    this.exchange(STATE.MESSAGE, req.op);
    const m = receiveMessageOnPort(this.c.port);
    if (!m) throw new Error(`the device thread answered ${req.op} with nothing`);
    const reply = m.message as IoReply;
    if (!reply.ok) throw new Error(reply.message);
    return reply.value as T;
  }
}

/** The device thread's end: applies the queued writes, then answers what waits in the mailbox (and the port). */
export class IoServer extends MailboxViews {
  get requestFd(): number {
    return this.c.requestFd;
  }

  /** Applies every queued write, in order. */
  applyWrites(onAccess: (a: MmioAccess) => void): void {
    const head = Atomics.load(this.box, MAILBOX.HEAD);
    for (let tail = Atomics.load(this.box, MAILBOX.TAIL); tail !== head; tail++) {
      const at = (tail % RING_ENTRIES) * ENTRY;
      const data = this.ringBytes.slice((at + 2) * 4, (at + 2) * 4 + this.ring[at + 1]);
      try {
        onAccess({ address: this.ring[at] >>> 0, write: true, data });
      } catch {
        /* the transport reports guest mistakes itself; a host fault must not stop the ring */
      }
      Atomics.store(this.box, MAILBOX.TAIL, tail + 1);
    }
    Atomics.notify(this.box, MAILBOX.TAIL);
  }

  serve(onAccess: (a: MmioAccess) => void, onMessage: (req: IoRequest) => unknown): void {
    libc.drainEventfd(this.c.requestFd);
    // The state first: every write the vCPU queued before posting this request is then in the ring.
    const state = Atomics.load(this.box, MAILBOX.STATE);
    this.applyWrites(onAccess);
    if (state === STATE.ACCESS) {
      const length = Math.min(Atomics.load(this.box, MAILBOX.LENGTH), 8);
      const data = this.bytes.subarray(0, length);
      let ok = true;
      try {
        onAccess({ address: Atomics.load(this.box, MAILBOX.ADDRESS) >>> 0, write: Atomics.load(this.box, MAILBOX.WRITE) === 1, data });
      } catch {
        ok = false;
      }
      this.answer(ok ? STATE.DONE : STATE.FAILED);
    } else if (state === STATE.MESSAGE) {
      for (let m = receiveMessageOnPort(this.c.port); m; m = receiveMessageOnPort(this.c.port)) {
        let reply: IoReply;
        try {
          reply = { ok: true, value: onMessage(m.message as IoRequest) };
        } catch (e) {
          reply = { ok: false, message: e instanceof Error ? e.message : String(e) };
        }
        this.c.port.postMessage(reply);
      }
      this.answer(STATE.DONE);
    }
  }

  private answer(state: number): void {
    Atomics.store(this.box, MAILBOX.STATE, state);
    Atomics.notify(this.box, MAILBOX.STATE);
  }
}

/** Virtio window `device` (at `base`) on the vCPU thread's MMIO bus; the device lives in the device thread. */
export class RemoteMmioWindow implements MmioDevice {
  constructor(readonly name: string, private readonly client: IoClient, private readonly device: number, private readonly base: number) {}

  mmioRead(address: number, data: Uint8Array): void {
    if (address - this.base === INTERRUPT_STATUS && data.length === 4) {
      const status = this.client.interruptStatus(this.device);
      if (status !== undefined) {
        new DataView(data.buffer, data.byteOffset, 4).setUint32(0, status, true);
        return;
      }
    }
    this.client.access(address, false, data);
  }

  mmioWrite(address: number, data: Uint8Array): void {
    if (address - this.base === INTERRUPT_ACK && data.length === 4) {
      this.client.acknowledge(this.device, new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true));
      this.client.post(address, new Uint8Array(4)); // ACK of nothing: the device thread re-reads the status and lowers the line
      return;
    }
    this.client.post(address, data);
  }
}
