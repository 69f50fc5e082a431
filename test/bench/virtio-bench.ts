// virtio figures for `npm run bench`: virtio-rng throughput (a guest reading 1 MiB in 4 KiB requests)
// and the interrupt round trip (a 1-byte request: notify → device → I/O APIC → local APIC → IDT
// handler → InterruptACK + EOI → the guest wakes from HLT), per accelerator, by the guest in
// test/bench/guests/virtio-rng-bench.c. Each figure is the run time of the requests minus the run
// time of the same guest making no request, measured in the same shuffled rounds. On KVM twice: with
// the monitor's interrupt controllers (every notification, APIC access and HLT an exit to user
// space) and with KVM's in-kernel irqchip, the devices in the device thread behind ioeventfd and
// irqfd — the ratio between the two is what the eventfds save.
import path from 'node:path';
import { prepareGuest } from '../../debug-adapter/guest-setup';
import { Machine } from '../../debug-adapter/vmm/machine';
import type { AcceleratorInfo, InterruptControllers } from '../../debug-adapter/vmm/accelerator';
import type { Figure } from './run';

const GUEST = path.join(__dirname, '..', '..', '..', 'test', 'bench', 'guests', 'virtio-rng-bench.c');
const PARAMS = 0x8000;
const MIB = 1 << 20;
const CHUNK = 4096;
const ROUND_TRIPS = 2000;

export interface BenchKit {
  report(f: Figure): void;
  interleaved<R extends Record<string, () => unknown>>(rounds: number, runners: R): Promise<{ [K in keyof R]: Awaited<ReturnType<R[K]>>[] }>;
  spread(xs: number[]): { value: number; min: number; max: number; rounds: number };
  rounds: number;
}

export async function virtioBenchmarks(kit: BenchKit, accelerators: AcceleratorInfo[]): Promise<void> {
  const prepared = await prepareGuest({ file: GUEST });
  for (const accel of accelerators) {
    /** One run of the guest making `requests` requests of `bytes`: milliseconds of machine.run(). */
    const run = async (irqchip: InterruptControllers, requests: number, bytes: number): Promise<number> => {
      const m = await Machine.create({ ...prepared.machine, outputDevices: [], accelerator: accel, irqchip });
      try {
        m.memory.view.setUint32(PARAMS, requests, true);
        m.memory.view.setUint32(PARAMS + 4, bytes, true);
        const t0 = performance.now();
        const stop = await m.run(60000);
        const ms = performance.now() - t0;
        const received = m.memory.view.getUint32(PARAMS + 8, true);
        const interrupts = m.memory.view.getUint32(PARAMS + 12, true);
        if (stop.reason !== 'halted' || received !== requests * bytes || interrupts !== requests)
          throw new Error(`virtio bench guest on ${accel.name} (${irqchip} irqchip): ${stop.reason}, ${received} bytes, ${interrupts} interrupts (expected ${requests * bytes}, ${requests})`);
        return ms;
      } finally {
        await m.destroy();
      }
    };
    // The software CPU has the monitor's controllers only; KVM both, measured in the same rounds.
    const chips: InterruptControllers[] = accel.name === 'kvm' ? ['monitor', 'kernel'] : ['monitor'];
    const runners: Record<string, () => Promise<number>> = {};
    for (const c of chips) {
      runners[`${c}:none`] = () => run(c, 0, CHUNK);
      runners[`${c}:mib`] = () => run(c, MIB / CHUNK, CHUNK);
      runners[`${c}:trips`] = () => run(c, ROUND_TRIPS, 1);
    }
    const r = await kit.interleaved(kit.rounds, runners);
    const trips: Record<string, number[]> = {};
    for (const c of chips) {
      const label = accel.name === 'kvm' ? `kvm, ${c === 'kernel' ? 'in-kernel irqchip + eventfds' : 'monitor\'s APICs'}` : accel.name;
      const none = r[`${c}:none`];
      const throughput = r[`${c}:mib`].map((ms, i) => MIB / (1024 * 1024) / (Math.max(ms - none[i], 0.001) / 1000));
      trips[c] = r[`${c}:trips`].map((ms, i) => ((ms - none[i]) * 1000) / ROUND_TRIPS);
      kit.report({ name: `virtio-rng throughput, 4 KiB requests (${label})`, unit: 'MiB/s', ...kit.spread(throughput) });
      kit.report({ name: `virtio interrupt round trip (${label})`, unit: 'µs', ...kit.spread(trips[c]) });
    }
    if (trips.kernel)
      kit.report({ name: 'KVM round trip: in-kernel irqchip + eventfds / monitor\'s', unit: '×', ...kit.spread(trips.kernel.map((v, i) => v / trips.monitor[i])) });
  }
}
