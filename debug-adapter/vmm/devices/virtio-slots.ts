// Puts the chosen virtio devices on the machine: device i gets the virtio-mmio window and the I/O
// APIC input guest-layout.ts assigns it (the same ones start_info lists), its interrupt line wired
// to that input, and, for the console, the serial streams.
import * as L from '../guest-layout';
import type { VirtioDeviceKind } from '../vcpu-protocol';
import type { MmioBus } from './bus';
import type { InterruptPlatform } from './interrupt-platform';
import type { ByteSink, ByteSource } from './uart16550';
import { VirtioConsole, VirtioMmioTransport, VirtioRng } from './virtio';
import { VIRTIO_MMIO_WINDOW } from './virtio/virtio-abi';

export interface VirtioWiring {
  ram: Uint8Array;
  mmio: MmioBus;
  interrupts: InterruptPlatform;
  /** Where a console's output goes, and where its input comes from. */
  consoleOut: ByteSink;
  consoleIn: ByteSource;
  report(message: string): void;
}

export function attachVirtioDevices(kinds: readonly VirtioDeviceKind[], w: VirtioWiring): VirtioMmioTransport[] {
  w.interrupts.devicesAttached = kinds.length > 0;
  if (kinds.length > L.VIRTIO_MAX_DEVICES) throw new RangeError(`at most ${L.VIRTIO_MAX_DEVICES} virtio devices fit the machine's layout (${kinds.length} asked for)`);
  return kinds.map((kind, i) => {
    const base = L.VIRTIO_MMIO_BASE + i * L.VIRTIO_MMIO_STRIDE;
    const pin = L.VIRTIO_FIRST_IRQ + i;
    const device = kind === 'virtio-rng' ? new VirtioRng() : new VirtioConsole(w.consoleOut, w.consoleIn);
    const line = { set: (level: boolean) => w.interrupts.ioapic.setInput(pin, level) };
    const transport = new VirtioMmioTransport(base, device, w.ram, line, { report: w.report });
    w.mmio.register(transport, base, VIRTIO_MMIO_WINDOW);
    w.interrupts.ioapic.connect(pin, `${kind} at ${L.hex(base)}`);
    if (kind === 'virtio-console') {
      // Typed input can arrive while the guest sleeps in HLT: once the driver has its receive
      // queue up, the console is polled for it (a guest waiting for input waits, as on QEMU).
      w.interrupts.addSpontaneousSource({
        pin,
        poll: () => void transport.poll(),
        mayRaise: () => transport.snapshot().queues[0]?.ready === true,
      });
    }
    return transport;
  });
}

