// An Intel 8254 programmable interval timer (the PC's PIT: ports 0x40–0x42 counters, 0x43 control)
// that knows no bus. The counters count down at 1.193182 MHz of host time. Counter 0's output is
// ISA IRQ 0, which the monitor wires to I/O APIC input 2 (the ISA-IRQ-0 override every PC firmware
// reports). Modes 0 (interrupt on terminal count), 2 (rate generator) and 3 (square wave) count and
// interrupt; the others are reported once and count like mode 0. BCD counting and the read-back
// command are reported and ignored.
import type { PortDevice } from './bus';

export const PIT_BASE = 0x40;
export const PIT_PORTS = 4;
/** Input clock of the 8254 on a PC, in Hz. */
export const PIT_HZ = 1_193_182;

interface Counter {
  mode: number;
  /** 1 lsb, 2 msb, 3 lsb then msb. */
  access: number;
  reload: number;
  /** Host time (ns) at which counting started from `reload`; undefined: not counting. */
  start: bigint | undefined;
  /** A latched count waiting to be read (both bytes), or undefined. */
  latched: number | undefined;
  readHigh: boolean;
  writeHigh: boolean;
  writeLow: number;
  /** Terminal counts already turned into interrupts (counter 0). */
  fired: bigint;
}

export interface PitInfo {
  counters: { mode: number; reload: number; counting: boolean; current: number }[];
  interrupts: number;
}

export class Pit8254 implements PortDevice {
  readonly name = '8254 PIT';
  private readonly counters: Counter[] = [0, 1, 2].map(() => ({
    mode: 0, access: 3, reload: 0x10000, start: undefined, latched: undefined, readHigh: false, writeHigh: false, writeLow: 0, fired: 0n,
  }));
  private interrupts = 0;

  constructor(
    /** Counter 0's output edge: ISA IRQ 0. */
    private readonly irq0: () => void,
    private readonly report: (message: string) => void,
    private readonly now: () => bigint = () => process.hrtime.bigint(),
  ) {}

  /** PIT ticks elapsed since `c` started counting. */
  private ticks(c: Counter): bigint {
    if (c.start === undefined) return 0n;
    return ((this.now() - c.start) * BigInt(PIT_HZ)) / 1_000_000_000n;
  }

  private periodic(c: Counter): boolean {
    return c.mode === 2 || c.mode === 3;
  }

  private current(c: Counter): number {
    if (c.start === undefined) return 0;
    const t = this.ticks(c);
    const reload = BigInt(c.reload);
    if (this.periodic(c)) return Number(reload - (t % reload));
    return t >= reload ? Number((0x10000n - ((t - reload) % 0x10000n)) % 0x10000n) : Number(reload - t);
  }

  /** Raises IRQ 0 for each terminal count of counter 0 that has passed (called as the CPU looks for interrupts). */
  tick(): void {
    const c = this.counters[0];
    if (c.start === undefined) return;
    const t = this.ticks(c);
    const reload = BigInt(c.reload);
    const due = this.periodic(c) ? t / reload : t >= reload ? 1n : 0n;
    if (due > c.fired) {
      // Several periods may have passed while the CPU was busy: one edge, as a real interrupt line
      // cannot queue edges either.
      c.fired = due;
      this.interrupts++;
      this.irq0();
    }
  }

  /** Nanoseconds until counter 0's next terminal count (undefined: none coming). */
  nanosecondsToNext(): bigint | undefined {
    const c = this.counters[0];
    if (c.start === undefined) return undefined;
    const reload = BigInt(c.reload);
    const next = this.periodic(c) ? c.fired + 1n : c.fired === 0n ? 1n : undefined;
    if (next === undefined) return undefined;
    const atTick = next * reload;
    const left = c.start + (atTick * 1_000_000_000n + BigInt(PIT_HZ) - 1n) / BigInt(PIT_HZ) - this.now();
    return left > 0n ? left : 0n;
  }

  ioRead(port: number, _size = 1): number {
    const i = port - PIT_BASE;
    if (i === 3) return 0xff; // the control word register cannot be read
    const c = this.counters[i];
    const value = c.latched ?? this.current(c);
    let byte: number;
    if (c.access === 1) byte = value & 0xff;
    else if (c.access === 2) byte = (value >> 8) & 0xff;
    else {
      byte = c.readHigh ? (value >> 8) & 0xff : value & 0xff;
      c.readHigh = !c.readHigh;
      if (c.readHigh) return byte; // the latch stays until both bytes are read
    }
    c.latched = undefined;
    return byte;
  }

  ioWrite(port: number, _size: number, value: number): void {
    const i = port - PIT_BASE;
    value &= 0xff;
    if (i === 3) return this.control(value);
    const c = this.counters[i];
    if (c.access === 3 && !c.writeHigh) {
      c.writeLow = value;
      c.writeHigh = true;
      return;
    }
    const count = c.access === 1 ? value : c.access === 2 ? value << 8 : c.writeLow | (value << 8);
    c.writeHigh = false;
    c.reload = count === 0 ? 0x10000 : count; // 0 counts 65536
    c.start = this.now();
    c.fired = 0n;
  }

  private control(value: number): void {
    const sc = value >> 6;
    if (sc === 3) {
      this.report('8254 PIT: read-back command ignored (not implemented)');
      return;
    }
    const c = this.counters[sc];
    const access = (value >> 4) & 3;
    if (access === 0) {
      c.latched = this.current(c); // counter latch command
      c.readHigh = false;
      return;
    }
    if (value & 1) this.report('8254 PIT: BCD counting is not implemented (counts in binary)');
    let mode = (value >> 1) & 7;
    if (mode > 5) mode -= 4; // modes 6 and 7 are 2 and 3
    if (mode !== 0 && mode !== 2 && mode !== 3) this.report(`8254 PIT: mode ${mode} counts like mode 0 here (modes 0, 2 and 3 are implemented)`);
    Object.assign(c, { mode, access, start: undefined, latched: undefined, readHigh: false, writeHigh: false, fired: 0n });
  }

  info(): PitInfo {
    return {
      counters: this.counters.map((c) => ({ mode: c.mode, reload: c.reload, counting: c.start !== undefined, current: this.current(c) })),
      interrupts: this.interrupts,
    };
  }
}
