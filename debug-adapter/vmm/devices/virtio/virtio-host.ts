// What a virtio-mmio transport needs from the monitor: an interrupt line to drive and a place to
// report guest mistakes. Both are tiny so the lead can wire them to an IOAPIC input, irqfd or a
// test double.

/**
 * A device's interrupt line. The transport holds it asserted while InterruptStatus != 0 (level), and
 * calls set(true) for every new event even while it is high (a line whose InterruptStatus another
 * thread acknowledges needs to hear of each).
 */
export interface InterruptLine {
  set(level: boolean): void;
}

/** Guest mistakes, each kind reported once per device; the run goes on. */
export interface VirtioEvents {
  report(message: string): void;
}

/** Reports each kind of problem once and remembers the messages for snapshot(). */
export class ProblemLog {
  private readonly kinds = new Set<string>();
  readonly messages: string[] = [];

  constructor(private readonly prefix: string, private readonly events: VirtioEvents) {}

  report(kind: string, message: string): void {
    if (this.kinds.has(kind)) return;
    this.kinds.add(kind);
    const text = `${this.prefix}: ${message}`;
    this.messages.push(text);
    this.events.report(text);
  }
}
