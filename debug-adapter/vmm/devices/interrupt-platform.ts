// The VM's interrupt controllers as one source of interrupts for the vCPU: the I/O APIC (device
// lines in) wired to the local APIC (vectors out), plus the inputs that take outside input on their
// own (a console with receive buffers waiting for typed input), polled while the CPU is halted and,
// on the software CPU, between the pieces it runs the guest in. Both accelerators deliver
// from here, so a guest sees the same controllers, vectors and counts on KVM and on the software CPU.
import type { InterruptSource } from '../accelerator';
import { CTL } from '../vcpu-protocol';
import { IoApic, IOAPIC_BASE } from './ioapic';
import { LocalApic } from './local-apic';
import { Pit8254 } from './pit8254';

/** The I/O APIC input of ISA IRQ 0 (the PIT), as PC firmware overrides it. */
export const PIT_IOAPIC_INPUT = 2;

/** A device that may raise its line on its own (not only in answer to a guest's request). */
export interface SpontaneousSource {
  /** The I/O APIC input it drives. */
  pin: number;
  /** Takes outside input (e.g. typed bytes) and raises the line if the guest asked for it. */
  poll(): void;
  /** Whether poll() could raise the line now (e.g. receive buffers are posted). */
  mayRaise(): boolean;
}

/** How often a halted CPU looks at outside input, at most (milliseconds). */
const POLL_MS = 5;

export class InterruptPlatform implements InterruptSource {
  readonly ioapic: IoApic;
  readonly lapic: LocalApic;
  readonly pit: Pit8254;
  private readonly sources: SpontaneousSource[] = [];
  /** Vectors the CPU took, and how often. */
  readonly taken = new Map<number, number>();

  constructor(report: (message: string) => void) {
    let lapic: LocalApic | undefined;
    this.ioapic = new IoApic(IOAPIC_BASE, { deliver: (m) => lapic!.deliver(m) }, report);
    this.lapic = lapic = new LocalApic(this.ioapic, report);
    // The PIT's output is an edge on ISA IRQ 0.
    this.pit = new Pit8254(() => {
      this.ioapic.setInput(PIT_IOAPIC_INPUT, true);
      this.ioapic.setInput(PIT_IOAPIC_INPUT, false);
    }, report);
    this.ioapic.connect(PIT_IOAPIC_INPUT, '8254 PIT counter 0 (ISA IRQ 0)');
  }

  /** The next time a timer (local APIC timer, PIT counter 0) fires, in nanoseconds from now. */
  private nanosecondsToTimers(): bigint | undefined {
    const a = this.lapic.nanosecondsToTimer();
    // The PIT counts whatever the I/O APIC does with its line: it matters only while that input is unmasked.
    const b = this.ioapic.hasUnmaskedSource([PIT_IOAPIC_INPUT]) ? this.pit.nanosecondsToNext() : undefined;
    return a === undefined ? b : b === undefined || a < b ? a : b;
  }

  /** Set by the owner: whether devices that raise interrupts are attached. */
  devicesAttached = false;

  /** Devices attached, an armed timer or an interrupt already waiting (an enabled APIC alone is not). */
  live(): boolean {
    return this.devicesAttached || this.nanosecondsToTimers() !== undefined || this.pending() !== undefined;
  }

  addSpontaneousSource(s: SpontaneousSource): void {
    this.sources.push(s);
  }

  pending(): number | undefined {
    this.pit.tick();
    return this.lapic.pending();
  }

  acknowledge(): number | undefined {
    const v = this.lapic.acknowledge();
    if (v !== undefined) this.taken.set(v, (this.taken.get(v) ?? 0) + 1);
    return v;
  }

  /** The inputs take what arrived (InterruptSource.poll: the software CPU calls it between pieces). */
  poll(): void {
    for (const s of this.sources) s.poll();
  }

  /** Polls the inputs; returns whether one of them could raise an interrupt the CPU would take. */
  private pollInputs(): boolean {
    this.poll();
    return this.sources.some((s) => s.mayRaise() && this.ioapic.hasUnmaskedSource([s.pin]));
  }

  idle(ctl: Int32Array): 'pending' | 'kicked' | 'never' {
    for (;;) {
      const live = this.pollInputs();
      if (this.pending() !== undefined) return 'pending';
      if (Atomics.load(ctl, CTL.STOP) !== 0) return 'kicked';
      if (!this.lapic.enabled) return 'never'; // held interrupts stay held while the CPU sleeps
      const timer = this.nanosecondsToTimers();
      if (timer === undefined && !live) return 'never';
      const ms = timer === undefined ? POLL_MS : Math.min(POLL_MS, Number(timer) / 1e6);
      Atomics.wait(ctl, CTL.STOP, 0, Math.max(ms, 0.01));
    }
  }
}
