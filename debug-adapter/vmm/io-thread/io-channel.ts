// The vCPU thread's synchronous line to the device thread (../io-worker.ts). A guest's access to a
// virtio register exits to the vCPU thread, which must answer before KVM resumes the guest: the
// request goes over a MessagePort, an eventfd wakes the device thread out of poll(), and the
// vCPU thread sleeps on a shared flag until the answer is in the port.
import { MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import * as libc from '../libc';
import type { MmioDevice } from '../devices/bus';
import type { RedirectionInfo } from '../devices/ioapic';
import type { DevicesSnapshot } from '../vcpu-protocol';

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
  | { op: 'read'; address: number; length: number }
  | { op: 'write'; address: number; data: Uint8Array }
  | { op: 'snapshot' }
  | { op: 'exit' };

export type IoReply = { ok: true; value?: unknown } | { ok: false; message: string };

/** What both ends are given: the port, the answer flag and the eventfd that wakes the device thread. */
export interface IoChannelInit {
  port: MessagePort;
  flag: SharedArrayBuffer;
  requestFd: number;
}

/** How long the vCPU thread waits for an answer before calling the device thread lost. */
const ANSWER_MS = 10000;

export class IoClient {
  private readonly flag: Int32Array;

  constructor(private readonly c: IoChannelInit) {
    this.flag = new Int32Array(c.flag);
  }

  call<T = void>(req: IoRequest): T {
    this.c.port.postMessage(req);
    libc.signalEventfd(this.c.requestFd);
    if (Atomics.wait(this.flag, 0, 0, ANSWER_MS) === 'timed-out') throw new Error(`the device thread did not answer ${req.op} within ${ANSWER_MS / 1000} s`);
    Atomics.store(this.flag, 0, 0);
    const m = receiveMessageOnPort(this.c.port);
    if (!m) throw new Error(`the device thread answered ${req.op} with nothing`);
    const reply = m.message as IoReply;
    if (!reply.ok) throw new Error(reply.message);
    return reply.value as T;
  }
}

/** The device thread's end: takes every waiting request and answers each. */
export class IoServer {
  private readonly flag: Int32Array;

  constructor(private readonly c: IoChannelInit) {
    this.flag = new Int32Array(c.flag);
  }

  get requestFd(): number {
    return this.c.requestFd;
  }

  serve(handle: (req: IoRequest) => unknown): void {
    libc.drainEventfd(this.c.requestFd);
    for (let m = receiveMessageOnPort(this.c.port); m; m = receiveMessageOnPort(this.c.port)) {
      let reply: IoReply;
      try {
        reply = { ok: true, value: handle(m.message as IoRequest) };
      } catch (e) {
        reply = { ok: false, message: e instanceof Error ? e.message : String(e) };
      }
      this.c.port.postMessage(reply);
      Atomics.store(this.flag, 0, 1);
      Atomics.notify(this.flag, 0);
    }
  }
}

/** A virtio window on the vCPU thread's MMIO bus whose device lives in the device thread. */
export class RemoteMmioWindow implements MmioDevice {
  constructor(readonly name: string, private readonly client: IoClient) {}

  mmioRead(address: number, data: Uint8Array): void {
    data.set(this.client.call<Uint8Array>({ op: 'read', address, length: data.length }));
  }

  mmioWrite(address: number, data: Uint8Array): void {
    this.client.call({ op: 'write', address, data: Uint8Array.from(data) });
  }
}
