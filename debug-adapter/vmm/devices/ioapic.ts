// An I/O APIC (Intel 82093AA register set, version 0x11, 24 inputs) that knows no bus: the monitor
// maps its 0x20-byte window (IOREGSEL at +0x00, IOWIN at +0x10) and wires its inputs to devices and
// its output to the local APIC. Behaviour follows the datasheet: entries start masked; an edge input
// is delivered on its rising edge while unmasked (lost while masked); a level input is delivered
// while asserted, unmasked and Remote IRR is clear, sets Remote IRR, and is delivered again after
// the local APIC's EOI for its vector if still asserted.
import type { MmioDevice } from './bus';

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_WINDOW = 0x20;
export const IOAPIC_PINS = 24;
const IOREGSEL = 0x00;
const IOWIN = 0x10;
const REG_ID = 0x00, REG_VER = 0x01, REG_ARB = 0x02, REG_REDIR = 0x10;
const VERSION = 0x11;

// Redirection entry bits (low dword).
const VECTOR = 0xff;
const DELIVERY_MODE_SHIFT = 8;
const DEST_LOGICAL = 1 << 11;
const DELIVERY_STATUS = 1 << 12;
const POLARITY_LOW = 1 << 13;
const REMOTE_IRR = 1 << 14;
const TRIGGER_LEVEL = 1 << 15;
const MASKED = 1 << 16;
/** Bits the guest may write: Delivery Status and Remote IRR are read-only. */
const WRITABLE_LOW = 0x1ffff & ~(DELIVERY_STATUS | REMOTE_IRR);

export const DELIVERY_MODES = ['fixed', 'lowest priority', 'SMI', 'reserved', 'NMI', 'INIT', 'reserved', 'ExtINT'] as const;

/** Where the I/O APIC sends an interrupt message (the local APIC of the only CPU). */
export interface InterruptMessageSink {
  /** Returns false when the message was not accepted (no such destination, unsupported mode…), with why. */
  deliver(message: { vector: number; level: boolean; destination: number; logical: boolean; mode: number }): { accepted: true } | { accepted: false; why: string };
}

export interface RedirectionInfo {
  pin: number;
  vector: number;
  deliveryMode: string;
  destination: number;
  logical: boolean;
  activeLow: boolean;
  level: boolean;
  masked: boolean;
  remoteIrr: boolean;
  /** The input as the device drives it now. */
  asserted: boolean;
  /** Rising edges (edge) or assertions (level) seen on the input. */
  raised: number;
  /** Messages accepted by the local APIC (the monitor's I/O APIC only: KVM's does not count). */
  delivered?: number;
  /** What is connected to the input, if anything. */
  source?: string;
}

export class IoApic implements MmioDevice {
  readonly name = 'I/O APIC';
  private select = 0;
  private id = 0;
  private readonly low = new Uint32Array(IOAPIC_PINS).fill(MASKED);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  private readonly asserted: boolean[] = new Array(IOAPIC_PINS).fill(false);
  private readonly raised = new Uint32Array(IOAPIC_PINS);
  private readonly delivered = new Uint32Array(IOAPIC_PINS);
  private readonly sources = new Map<number, string>();

  constructor(
    readonly base: number,
    private readonly sink: InterruptMessageSink,
    /** A guest mistake worth telling once (a message the local APIC refused, an odd access). */
    private readonly report: (message: string) => void,
  ) {}

  /** Names what drives input `pin` (for the views and the start_info device map). */
  connect(pin: number, source: string): void {
    if (pin < 0 || pin >= IOAPIC_PINS) throw new RangeError(`I/O APIC input ${pin} does not exist (0–${IOAPIC_PINS - 1})`);
    this.sources.set(pin, source);
  }

  /** The device drives input `pin` to `asserted` (active, whatever the configured polarity). */
  setInput(pin: number, asserted: boolean): void {
    const was = this.asserted[pin];
    this.asserted[pin] = asserted;
    // Only a rising edge starts something; a level held asserted is sent again after the EOI.
    if (!asserted || was) return;
    this.raised[pin]++;
    this.service(pin);
  }

  /** The local APIC's EOI for `vector`: clears Remote IRR of level entries with that vector. */
  endOfInterrupt(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.low[pin];
      if ((e & VECTOR) !== vector || !(e & TRIGGER_LEVEL) || !(e & REMOTE_IRR)) continue;
      this.low[pin] = e & ~REMOTE_IRR;
      if (this.asserted[pin]) this.service(pin);
    }
  }

  /** Whether an unmasked input has something connected that may raise it. */
  hasUnmaskedSource(pins: Iterable<number>): boolean {
    for (const pin of pins) if (!(this.low[pin] & MASKED)) return true;
    return false;
  }

  /** Sends the message for `pin` if its state allows (unmasked; level: Remote IRR clear). */
  private service(pin: number): void {
    const e = this.low[pin];
    if (e & MASKED) return;
    const level = (e & TRIGGER_LEVEL) !== 0;
    if (level && e & REMOTE_IRR) return;
    if (!level && !this.asserted[pin]) return;
    const r = this.sink.deliver({
      vector: e & VECTOR, level, destination: this.high[pin] >>> 24, logical: (e & DEST_LOGICAL) !== 0, mode: (e >> DELIVERY_MODE_SHIFT) & 7,
    });
    if (!r.accepted) {
      this.report(`I/O APIC input ${pin} (vector ${e & VECTOR}): ${r.why}`);
      return;
    }
    this.delivered[pin]++;
    if (level) this.low[pin] = e | REMOTE_IRR;
  }

  // --- registers ---------------------------------------------------------------------------------

  private readRegister(index: number): number {
    if (index === REG_ID || index === REG_ARB) return (this.id & 0xf) << 24;
    if (index === REG_VER) return ((IOAPIC_PINS - 1) << 16) | VERSION;
    const pin = (index - REG_REDIR) >> 1;
    if (index >= REG_REDIR && pin < IOAPIC_PINS) return index & 1 ? this.high[pin] : this.low[pin];
    return 0; // reserved registers read as 0
  }

  private writeRegister(index: number, value: number): void {
    if (index === REG_ID) {
      this.id = (value >>> 24) & 0xf;
      return;
    }
    const pin = (index - REG_REDIR) >> 1;
    if (index < REG_REDIR || pin >= IOAPIC_PINS) return; // read-only or reserved
    if (index & 1) {
      this.high[pin] = value & 0xff000000;
      return;
    }
    const before = this.low[pin];
    let next = (before & ~WRITABLE_LOW) | (value & WRITABLE_LOW);
    if (!(next & TRIGGER_LEVEL)) next &= ~REMOTE_IRR; // Remote IRR is undefined for edge entries: keep it clear
    this.low[pin] = next >>> 0;
    // Unmasking a level input that is held asserted sends it now (the device is still waiting).
    if (before & MASKED && !(next & MASKED) && next & TRIGGER_LEVEL && this.asserted[pin]) this.service(pin);
  }

  mmioRead(address: number, data: Uint8Array): void {
    const offset = address - this.base;
    let value = 0;
    if (offset >= IOREGSEL && offset < IOREGSEL + 4) value = this.select >>> ((offset - IOREGSEL) * 8);
    else if (offset >= IOWIN && offset < IOWIN + 4) value = this.readRegister(this.select) >>> ((offset - IOWIN) * 8);
    for (let i = 0; i < data.length; i++) data[i] = i < 4 ? (value >>> (i * 8)) & 0xff : 0;
  }

  mmioWrite(address: number, data: Uint8Array): void {
    const offset = address - this.base;
    let value = 0;
    for (let i = Math.min(data.length, 4) - 1; i >= 0; i--) value = value * 256 + data[i];
    if (offset === IOREGSEL) this.select = value & 0xff;
    else if (offset === IOWIN) {
      if (data.length !== 4) this.report(`I/O APIC: ${data.length}-byte write to IOWIN (the register is written as a dword)`);
      this.writeRegister(this.select, value >>> 0);
    } else this.report(`I/O APIC: write to offset 0x${offset.toString(16)} (only IOREGSEL 0x00 and IOWIN 0x10 are writable)`);
  }

  // --- views -------------------------------------------------------------------------------------

  entries(): RedirectionInfo[] {
    const out: RedirectionInfo[] = [];
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.low[pin];
      if (!this.sources.has(pin) && this.raised[pin] === 0 && !redirectionProgrammed(e)) continue;
      out.push({
        ...decodeRedirection(pin, e, this.high[pin]), asserted: this.asserted[pin],
        raised: this.raised[pin], delivered: this.delivered[pin], source: this.sources.get(pin),
      });
    }
    return out;
  }
}

/** The fields of a redirection entry (low and high dwords) that the entry itself holds. */
export type RedirectionFields = Omit<RedirectionInfo, 'asserted' | 'raised' | 'delivered' | 'source'>;

/** A redirection entry as the views show it: the monitor's I/O APIC's and KVM's in-kernel one's alike. */
export function decodeRedirection(pin: number, low: number, high: number): RedirectionFields {
  return {
    pin, vector: low & VECTOR, deliveryMode: DELIVERY_MODES[(low >> DELIVERY_MODE_SHIFT) & 7], destination: high >>> 24,
    logical: (low & DEST_LOGICAL) !== 0, activeLow: (low & POLARITY_LOW) !== 0, level: (low & TRIGGER_LEVEL) !== 0,
    masked: (low & MASKED) !== 0, remoteIrr: (low & REMOTE_IRR) !== 0,
  };
}

/** Whether the guest has touched an entry: unmasked, or something written beside the mask (entries reset masked, all else 0). */
export function redirectionProgrammed(low: number): boolean {
  return !(low & MASKED) || (low & ~MASKED) !== 0;
}
