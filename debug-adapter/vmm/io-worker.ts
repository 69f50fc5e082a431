// The device thread of a KVM machine with the in-kernel irqchip (firecracker and cloud-hypervisor
// run their devices the same way). It owns the virtio devices and waits in poll() on:
// - one ioeventfd per virtio queue: KVM signals it when the guest writes that queue's index to
//   QueueNotify, and the vCPU never leaves the kernel for the notification;
// - each device's resample fd (the guest's EOI lowered its irqfd input, see io-thread/kernel-irq-line.ts);
// - the request eventfd of the vCPU thread, which forwards the other virtio register accesses;
// and, every few milliseconds, on the typed input of a console and on the vCPU's halt statistics:
// a HLT never reaches user space with the in-kernel LAPIC, so a vCPU that sleeps on the same HLT
// for a while is kicked once to let the monitor see whether it halted with interrupts off (the end).
import { parentPort } from 'node:worker_threads';
import * as libc from './libc';
import * as L from './guest-layout';
import { ByteRing } from './byte-ring';
import { assignIoeventfd } from './kvm/kernel-irqchip';
import { VcpuStats } from './kvm/vcpu-stats';
import { kickVcpu } from './kvm/vcpu-kick';
import { attachVirtioDevices, VirtioSlot, virtioSnapshots } from './devices/virtio-slots';
import { VIRTIO_MMIO } from './devices/virtio';
import type { SpontaneousSource } from './devices/interrupt-platform';
import type { VirtioDeviceKind } from './vcpu-protocol';
import { EventfdStats, IoChannelInit, IoRequest, IoServer, IoSnapshot, MmioAccess, statusCell } from './io-thread/io-channel';
import { KernelIrqLine } from './io-thread/kernel-irq-line';

export interface IoWorkerInit {
  vmFd: number;
  memAddress: bigint;
  memSize: number;
  devices: VirtioDeviceKind[];
  /** irqfd and ioeventfd (else KVM_IRQ_LINE and MMIO exits for notifications). */
  eventfds: boolean;
  channel: IoChannelInit;
  /** The serial output ring, shared with the vCPU thread (one stream, in the guest's order), and the console's own input ring. */
  output: SharedArrayBuffer;
  input: SharedArrayBuffer;
  /** Whether the console's output is forwarded (kvmGuest.serial / outputDevices). */
  consoleOutput: boolean;
}

export type IoWorkerMessage =
  /** `fds`: the eventfds it made; the main thread closes them once the thread is gone, however it ended. */
  | { type: 'ready'; fds: number[] }
  | { type: 'device-event'; message: string }
  | { type: 'error'; message: string };

/** How long poll() waits when nothing happens: the pace of console input and halt checks. */
const TICK_MS = 5;
/**
 * After any work the device thread keeps polling without sleeping for this long: the guest's next
 * step (its handler reading InterruptStatus, the next notification) usually comes within tens of
 * microseconds, and a wake-up from poll() costs more than that on a busy host.
 */
const BUSY_POLL_NS = 100_000n;
/** A vCPU sleeping this long on one HLT is kicked to check whether it halted for good. */
const HALT_CHECK_NS = 2_000_000n;

const port = parentPort!;
const post = (m: IoWorkerMessage): void => port.postMessage(m);

port.once('message', (init: IoWorkerInit) => {
  try {
    serve(init);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});

interface Notifier {
  fd: number;
  slot: VirtioSlot;
  queue: number;
}

function serve(init: IoWorkerInit): void {
  const memory = new Uint8Array(libc.viewAt(init.memAddress, init.memSize));
  const outRing = new ByteRing(init.output);
  const inRing = new ByteRing(init.input);
  const stats: EventfdStats = { ioeventfdNotifications: 0, irqfdInjections: 0, irqLineCalls: 0, haltChecks: 0 };
  const reported = new Set<string>();
  const lines: KernelIrqLine[] = [];
  const sources: SpontaneousSource[] = [];
  const slots = attachVirtioDevices(init.devices, {
    ram: memory,
    consoleOut: {
      write(b: number) {
        if (!init.consoleOutput) return;
        while (!outRing.writeByte(b)) outRing.waitForSpace(50);
      },
    },
    consoleIn: { read: () => inRing.readByte(), available: () => inRing.pending() > 0 },
    report(message) {
      if (reported.has(message)) return;
      reported.add(message);
      post({ type: 'device-event', message });
    },
    line(pin, label) {
      const line = new KernelIrqLine(init.vmFd, pin, label, stats, init.eventfds);
      lines.push(line);
      return line;
    },
    addSpontaneousSource: (s) => sources.push(s),
    statusCell: (device) => statusCell(init.channel.mailbox, device),
  });

  // One ioeventfd per queue, matching the queue index the driver writes to QueueNotify.
  const notifiers: Notifier[] = [];
  if (init.eventfds)
    for (const slot of slots)
      for (const q of slot.transport.snapshot().queues) {
        const fd = libc.eventfd(`ioeventfd for ${slot.kind} queue ${q.index}`);
        assignIoeventfd(init.vmFd, fd, slot.base + VIRTIO_MMIO.QUEUE_NOTIFY, 4, q.index);
        notifiers.push({ fd, slot, queue: q.index });
      }

  const slotAt = (address: number): VirtioSlot => {
    const s = slots.find((d) => address >= d.base && address < d.base + L.VIRTIO_MMIO_WINDOW);
    if (!s) throw new Error(`no virtio device at ${L.hex(address)}`);
    return s;
  };

  let vcpu: { tid: number; run: Uint8Array; stats?: VcpuStats } | undefined;
  /** The HLT being watched: its count and when the vCPU was first seen sleeping on it. */
  let watched: { haltExits: bigint; since: bigint; kicked: boolean } | undefined;
  let running = true;

  const handle = (req: IoRequest): unknown => {
    switch (req.op) {
      case 'attach':
        vcpu = {
          tid: req.tid,
          run: new Uint8Array(libc.viewAt(req.runAddress, 4096)),
          stats: req.statsFd === undefined ? undefined : VcpuStats.adopt(req.statsFd),
        };
        return undefined;
      case 'snapshot': {
        const snap: IoSnapshot = {
          virtio: virtioSnapshots(slots),
          lines: lines.map((l) => ({ pin: l.pin, source: l.source, raised: l.raised, asserted: l.asserted })),
          eventfds: { ...stats },
        };
        return snap;
      }
      case 'exit':
        running = false;
        return undefined;
    }
  };

  const server = new IoServer(init.channel);
  const applyAccess = (a: MmioAccess): void => {
    const t = slotAt(a.address).transport;
    if (a.write) t.mmioWrite(a.address, a.data);
    else t.mmioRead(a.address, a.data);
  };
  const resampled = lines.filter((l) => l.irqfd);
  const poller = new libc.FdPoller([server.requestFd, ...notifiers.map((n) => n.fd), ...resampled.map((l) => l.irqfd!.resampleFd)]);
  const ready = poller.ready;
  post({ type: 'ready', fds: [...notifiers.map((n) => n.fd), ...lines.flatMap((l) => (l.irqfd ? [l.irqfd.fd, l.irqfd.resampleFd] : []))] });

  let busyUntil = 0n;
  while (running) {
    if (poller.wait(process.hrtime.bigint() < busyUntil ? 0 : TICK_MS)) busyUntil = process.hrtime.bigint() + BUSY_POLL_NS;
    // The guest's register writes before its notifications (program order: the queue is set up,
    // then notified), and a notification before the register reads that follow it.
    server.applyWrites(applyAccess);
    notifiers.forEach((n, i) => {
      if (!ready[1 + i]) return;
      const count = Number(libc.drainEventfd(n.fd));
      if (count === 0) return;
      stats.ioeventfdNotifications += count;
      n.slot.transport.mmioWrite(n.slot.base + VIRTIO_MMIO.QUEUE_NOTIFY, u32(n.queue));
    });
    resampled.forEach((l, i) => {
      if (ready[1 + notifiers.length + i]) l.resampled();
    });
    if (ready[0]) server.serve(applyAccess, handle);
    server.applyWrites(applyAccess); // an acknowledgement the guest made before new input raises the line again
    for (const s of sources) s.poll();
    if (vcpu?.stats) watchHalt(vcpu as Required<typeof vcpu>);
  }

  function watchHalt(v: Required<NonNullable<typeof vcpu>>): void {
    const h = v.stats.halt();
    if (!h.blocking) {
      watched = undefined;
      return;
    }
    const now = process.hrtime.bigint();
    if (!watched || watched.haltExits !== h.haltExits) watched = { haltExits: h.haltExits, since: now, kicked: false };
    else if (!watched.kicked && now - watched.since >= HALT_CHECK_NS) {
      watched.kicked = true;
      stats.haltChecks++;
      kickVcpu(v.run, v.tid);
    }
  }
}

function u32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value, true);
  return b;
}
