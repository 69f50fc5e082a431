// Exit statistics, counted the same way on every accelerator: one IO exit per IN/OUT element (each
// iteration of `rep ins/outs` counts, however many arrive in one KVM exit), one MMIO exit per access
// outside RAM, and one each for HLT, SHUTDOWN, DEBUG, INTR…
import type { ExitStats } from './vcpu-protocol';

/** Exit reason names shown to users (KVM's, without the KVM_EXIT_ prefix). */
export type ExitName = 'IO' | 'MMIO' | 'HLT' | 'SHUTDOWN' | 'DEBUG' | 'INTR' | 'INTERNAL_ERROR' | 'FAIL_ENTRY' | 'EXCEPTION' | string;

export class ExitCounters {
  private readonly byName = new Map<string, number>();
  /** Per-port element counts (65536 entries each): hot, so typed arrays. */
  readonly portIn = new Uint32Array(0x10000);
  readonly portOut = new Uint32Array(0x10000);
  private readonly mmio = new Map<number, { read: number; write: number }>();
  private io = 0;

  /** `count` IN or OUT elements on `port`, each one exit. */
  portAccess(port: number, write: boolean, count = 1): void {
    if (write) this.portOut[port] += count;
    else this.portIn[port] += count;
    this.io += count;
  }

  mmioAccess(address: number, write: boolean): void {
    let c = this.mmio.get(address);
    if (!c) this.mmio.set(address, (c = { read: 0, write: 0 }));
    if (write) c.write++;
    else c.read++;
    this.add('MMIO');
  }

  add(name: ExitName, n = 1): void {
    this.byName.set(name, (this.byName.get(name) ?? 0) + n);
  }

  snapshot(): ExitStats {
    const exits: Record<string, number> = {};
    let total = 0;
    if (this.io > 0) {
      exits.IO = this.io;
      total += this.io;
    }
    for (const [name, n] of this.byName) {
      if (n > 0) {
        exits[name] = n;
        total += n;
      }
    }
    const ports: ExitStats['ports'] = {};
    for (let p = 0; p < 0x10000; p++) if (this.portIn[p] || this.portOut[p]) ports[p] = { in: this.portIn[p], out: this.portOut[p] };
    return { exits, ports, mmio: Object.fromEntries(this.mmio), total };
  }
}
