// Puts the chosen virtio devices on the machine: device i gets the virtio-mmio window and the I/O
// APIC input guest-layout.ts assigns it (the same ones start_info lists), its interrupt line wired
// to that input, and, for the console, the serial streams. Who serves the window and what the line
// drives is the caller's: the vCPU thread's MMIO bus and the monitor's I/O APIC, or the device
// thread with KVM's in-kernel I/O APIC (io-thread/).
import * as L from '../guest-layout';
import type { DevicesSnapshot, VirtioDeviceKind } from '../vcpu-protocol';
import type { SpontaneousSource } from './interrupt-platform';
import type { ByteSink, ByteSource } from './uart16550';
import { InterruptLine, VirtioConsole, VirtioMmioTransport, VirtioRng } from './virtio';
import type { StatusCell } from './virtio/mmio-transport';

export interface VirtioWiring {
  ram: Uint8Array;
  /** Where a console's output goes, and where its input comes from. */
  consoleOut: ByteSink;
  consoleIn: ByteSource;
  report(message: string): void;
  /** The line of I/O APIC input `pin`; `label` says what drives it, for the views. */
  line(pin: number, label: string): InterruptLine;
  /** A device that can raise its line on outside input (a console's typed bytes). */
  addSpontaneousSource(s: SpontaneousSource): void;
  /** Where device i keeps InterruptStatus when another thread shares it (default: its own). */
  statusCell?(device: number): StatusCell;
}

export interface VirtioSlot {
  kind: VirtioDeviceKind;
  base: number;
  pin: number;
  transport: VirtioMmioTransport;
}

export function attachVirtioDevices(kinds: readonly VirtioDeviceKind[], w: VirtioWiring): VirtioSlot[] {
  if (kinds.length > L.VIRTIO_MAX_DEVICES) throw new RangeError(`at most ${L.VIRTIO_MAX_DEVICES} virtio devices fit the machine's layout (${kinds.length} asked for)`);
  return kinds.map((kind, i) => {
    const base = L.virtioWindow(i);
    const pin = L.VIRTIO_FIRST_IRQ + i;
    const device = kind === 'virtio-rng' ? new VirtioRng() : new VirtioConsole(w.consoleOut, w.consoleIn);
    const transport = new VirtioMmioTransport(base, device, w.ram, w.line(pin, `${kind} at ${L.hex(base)}`), { report: w.report }, w.statusCell?.(i));
    if (kind === 'virtio-console') {
      // Typed input arrives whenever it is typed: once the driver has its receive queue up, the
      // console is polled for it — while the guest sleeps in HLT, between the software CPU's
      // counted pieces, and every few milliseconds in the device thread.
      w.addSpontaneousSource({
        pin,
        poll: () => void transport.poll(),
        mayRaise: () => transport.snapshot().queues[0]?.ready === true,
      });
    }
    return { kind, base, pin, transport };
  });
}

/** Descriptor-table entries per queue in each stop's device snapshot. */
const DESCRIPTORS_SHOWN = 16;

/** The devices as the views show them: registers, queues, and the first entries of each descriptor table as the guest wrote them. */
export function virtioSnapshots(slots: readonly VirtioSlot[]): DevicesSnapshot['virtio'] {
  return slots.map(({ transport: t }) => {
    const snap = t.snapshot();
    return { ...snap, descriptorTables: snap.queues.map((q) => t.descriptorTable(q.index, Math.min(q.size, DESCRIPTORS_SHOWN))) };
  });
}
