// The local APIC of the only CPU (xAPIC MMIO interface at 0xFEE00000; Intel SDM vol. 3A, "Advanced
// Programmable Interrupt Controller"), as the interrupt source of both accelerators: it takes fixed
// interrupt messages from the I/O APIC (and its own timer) into IRR, hands the CPU the highest
// vector whose priority class beats the processor priority (PPR from TPR and ISR), moves it to ISR
// when the CPU takes it, and on EOI clears the highest ISR bit and tells the I/O APIC for
// level-triggered vectors. A software-disabled APIC (SVR bit 8 clear, the reset state) holds its
// interrupts, as the hardware does: guests must enable it.
//
// The timer counts in nanoseconds of host time divided by the Divide Configuration (a 1 GHz bus, as
// QEMU and KVM model it): one-shot and periodic modes; TSC-deadline is not offered.
import type { MmioDevice } from './bus';
import type { InterruptMessageSink } from './ioapic';

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_WINDOW = 0x1000;

/** Register offsets in the 4 KiB window (and in KVM's kvm_lapic_state page, which has the same layout). */
export const REG = {
  ID: 0x20, VERSION: 0x30, TPR: 0x80, APR: 0x90, PPR: 0xa0, EOI: 0xb0, RRD: 0xc0, LDR: 0xd0, DFR: 0xe0, SVR: 0xf0,
  ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, LVT_CMCI: 0x2f0, ICR_LOW: 0x300, ICR_HIGH: 0x310,
  LVT_TIMER: 0x320, LVT_THERMAL: 0x330, LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360, LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380, TIMER_CURRENT: 0x390, TIMER_DIVIDE: 0x3e0,
} as const;
/** Version 0x14 (integrated APIC), six LVT entries (Max LVT Entry = 5). */
const VERSION = 0x00050014;
export const SVR_ENABLE = 1 << 8;
export const LVT_MASKED = 1 << 16;
export const TIMER_PERIODIC = 1 << 17;

/** The Divide Configuration register's divisor (bits 0, 1 and 3; 0b1011 divides by 1). */
export function timerDivisor(dcr: number): number {
  const d = (dcr & 3) | ((dcr & 8) >> 1);
  return d === 7 ? 1 : 2 << d;
}
const ESR_RECEIVED_ILLEGAL_VECTOR = 1 << 6;
const LVT_REGS: number[] = [REG.LVT_CMCI, REG.LVT_TIMER, REG.LVT_THERMAL, REG.LVT_PERF, REG.LVT_LINT0, REG.LVT_LINT1, REG.LVT_ERROR];

class VectorSet {
  private readonly bits = new Uint32Array(8);
  has(v: number): boolean {
    return (this.bits[v >> 5] & (1 << (v & 31))) !== 0;
  }
  set(v: number, on: boolean): void {
    if (on) this.bits[v >> 5] |= 1 << (v & 31);
    else this.bits[v >> 5] &= ~(1 << (v & 31));
  }
  /** The highest vector in the set, or -1. */
  highest(): number {
    for (let i = 7; i >= 0; i--) if (this.bits[i]) return i * 32 + 31 - Math.clz32(this.bits[i]);
    return -1;
  }
  word(i: number): number {
    return this.bits[i] >>> 0;
  }
  list(): number[] {
    const out: number[] = [];
    for (let v = 0; v < 256; v++) if (this.has(v)) out.push(v);
    return out;
  }
}

export interface LocalApicInfo {
  enabled: boolean;
  id: number;
  tpr: number;
  ppr: number;
  irr: number[];
  isr: number[];
  /** `fired`, `accepted` and `eois` are the monitor's counts: KVM's in-kernel LAPIC keeps none. */
  timer: { mode: 'one-shot' | 'periodic'; masked: boolean; vector: number; initial: number; current: number; divide: number; fired?: number };
  /** Interrupts accepted per vector, and EOIs written. */
  accepted?: Record<number, number>;
  eois?: number;
}

export class LocalApic implements MmioDevice, InterruptMessageSink {
  readonly name = 'local APIC';
  private readonly irr = new VectorSet();
  private readonly isr = new VectorSet();
  private readonly tmr = new VectorSet();
  private tpr = 0;
  private svr = 0xff;
  private ldr = 0;
  private dfr = 0xffffffff;
  private esr = 0;
  private pendingEsr = 0;
  private icrHigh = 0;
  private icrLow = 0;
  private readonly lvt = new Map<number, number>(LVT_REGS.map((r) => [r, LVT_MASKED]));
  private timerInitial = 0;
  private timerDivide = 0;
  /** Host time (ns) at which the current count started from the initial count; undefined = stopped. */
  private timerStart: bigint | undefined;
  private timerFired = 0;
  private readonly accepted = new Map<number, number>();
  private eois = 0;

  constructor(
    /** The I/O APIC that must hear EOIs of level-triggered vectors. */
    private readonly eoiListener: { endOfInterrupt(vector: number): void },
    private readonly report: (message: string) => void,
    private readonly now: () => bigint = () => process.hrtime.bigint(),
  ) {}

  // --- interrupt messages ------------------------------------------------------------------------

  deliver(m: { vector: number; level: boolean; destination: number; logical: boolean; mode: number }): { accepted: true } | { accepted: false; why: string } {
    if (m.mode !== 0 && m.mode !== 1) return { accepted: false, why: `delivery mode ${m.mode} is not supported (fixed and lowest priority are)` };
    if (!this.addressed(m.destination, m.logical))
      return { accepted: false, why: `destination ${m.logical ? 'logical' : 'APIC ID'} 0x${m.destination.toString(16)} does not name the only CPU (APIC ID 0${m.logical ? `, LDR 0x${(this.ldr >>> 24).toString(16)}` : ''})` };
    this.accept(m.vector, m.level);
    return { accepted: true };
  }

  private addressed(destination: number, logical: boolean): boolean {
    if (!logical) return destination === 0 || destination === 0xff;
    if (destination === 0xff) return true;
    const ldr = this.ldr >>> 24;
    // Flat model (DFR 0xF…): a bit mask; cluster model: high nibble cluster, low nibble mask.
    return (this.dfr >>> 28) === 0xf ? (ldr & destination) !== 0 : (ldr >> 4) === (destination >> 4) && (ldr & destination & 0xf) !== 0;
  }

  private accept(vector: number, level: boolean): void {
    if (vector < 16) {
      this.pendingEsr |= ESR_RECEIVED_ILLEGAL_VECTOR;
      this.report(`local APIC: vector ${vector} received (vectors 0–15 are illegal; ESR bit 6 set)`);
      return;
    }
    this.irr.set(vector, true);
    this.tmr.set(vector, level);
    this.accepted.set(vector, (this.accepted.get(vector) ?? 0) + 1);
  }

  /** SVR bit 8: a software-disabled APIC holds its interrupts. */
  get enabled(): boolean {
    return (this.svr & SVR_ENABLE) !== 0;
  }

  /** PPR: TPR, or the class of the highest in-service vector when that is higher (SDM 10.8.3.1). */
  private ppr(): number {
    const isrv = Math.max(this.isr.highest(), 0);
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr & 0xff : isrv & 0xf0;
  }

  /** The vector the CPU would take now if IF allowed, or undefined. */
  pending(): number | undefined {
    this.tick();
    if (!this.enabled) return undefined;
    const v = this.irr.highest();
    if (v < 0 || (v & 0xf0) <= (this.ppr() & 0xf0)) return undefined;
    return v;
  }

  /** The CPU takes the pending vector (INTA): IRR → ISR. */
  acknowledge(): number | undefined {
    const v = this.pending();
    if (v === undefined) return undefined;
    this.irr.set(v, false);
    this.isr.set(v, true);
    return v;
  }

  private endOfInterrupt(): void {
    const v = this.isr.highest();
    this.eois++;
    if (v < 0) return;
    this.isr.set(v, false);
    if (this.tmr.has(v)) this.eoiListener.endOfInterrupt(v);
  }

  // --- timer -------------------------------------------------------------------------------------

  private divisor(): number {
    return timerDivisor(this.timerDivide);
  }

  private periodNs(): bigint {
    return BigInt(this.timerInitial) * BigInt(this.divisor());
  }

  /** Fires the timer if its count has run out (called whenever the CPU looks for interrupts). */
  tick(): void {
    if (this.timerStart === undefined || this.timerInitial === 0) return;
    const period = this.periodNs();
    const elapsed = this.now() - this.timerStart;
    if (elapsed < period) return;
    const lvt = this.lvt.get(REG.LVT_TIMER)!;
    if (lvt & TIMER_PERIODIC) this.timerStart += (elapsed / period) * period;
    else this.timerStart = undefined;
    this.timerFired++;
    if (!(lvt & LVT_MASKED)) this.accept(lvt & 0xff, false);
  }

  /** Nanoseconds until the timer fires (undefined: it will not), for a halted CPU's wait. */
  nanosecondsToTimer(): bigint | undefined {
    if (this.timerStart === undefined || this.timerInitial === 0) return undefined;
    if (this.lvt.get(REG.LVT_TIMER)! & LVT_MASKED) return undefined;
    const left = this.periodNs() - (this.now() - this.timerStart);
    return left > 0n ? left : 0n;
  }

  private currentCount(): number {
    if (this.timerStart === undefined) return 0;
    const left = this.periodNs() - (this.now() - this.timerStart);
    if (left <= 0n) return 0;
    return Number(left / BigInt(this.divisor()));
  }

  // --- registers ---------------------------------------------------------------------------------

  private readRegister(reg: number): number {
    if (reg >= REG.ISR && reg < REG.ISR + 0x80) return this.isr.word((reg - REG.ISR) >> 4);
    if (reg >= REG.TMR && reg < REG.TMR + 0x80) return this.tmr.word((reg - REG.TMR) >> 4);
    if (reg >= REG.IRR && reg < REG.IRR + 0x80) return this.irr.word((reg - REG.IRR) >> 4);
    if (this.lvt.has(reg)) return this.lvt.get(reg)!;
    switch (reg) {
      case REG.ID: return 0;
      case REG.VERSION: return VERSION;
      case REG.TPR: return this.tpr;
      case REG.PPR: return this.ppr();
      case REG.LDR: return this.ldr;
      case REG.DFR: return this.dfr;
      case REG.SVR: return this.svr;
      case REG.ESR: return this.esr;
      case REG.ICR_LOW: return this.icrLow;
      case REG.ICR_HIGH: return this.icrHigh;
      case REG.TIMER_INITIAL: return this.timerInitial;
      case REG.TIMER_CURRENT: return this.currentCount();
      case REG.TIMER_DIVIDE: return this.timerDivide;
      default: return 0;
    }
  }

  private writeRegister(reg: number, value: number): void {
    if (this.lvt.has(reg)) {
      // While software-disabled, LVT entries stay masked (SDM 10.4.7.2).
      const mask = reg === REG.LVT_TIMER ? 0x300ff | LVT_MASKED : 0x107ff | (1 << 15) | (1 << 13);
      this.lvt.set(reg, (value & mask) | (this.enabled ? 0 : LVT_MASKED));
      return;
    }
    switch (reg) {
      case REG.TPR: this.tpr = value & 0xff; return;
      case REG.EOI: this.endOfInterrupt(); return;
      case REG.LDR: this.ldr = value & 0xff000000; return;
      case REG.DFR: this.dfr = (value | 0x0fffffff) >>> 0; return;
      case REG.SVR:
        this.svr = value & 0x13ff;
        if (!this.enabled) for (const r of LVT_REGS) this.lvt.set(r, this.lvt.get(r)! | LVT_MASKED);
        return;
      case REG.ESR: this.esr = this.pendingEsr; this.pendingEsr = 0; return; // a write latches the errors
      case REG.ICR_HIGH: this.icrHigh = value & 0xff000000; return;
      case REG.ICR_LOW: this.sendIpi(value); return;
      case REG.TIMER_INITIAL:
        this.timerInitial = value >>> 0;
        this.timerStart = value === 0 ? undefined : this.now();
        return;
      case REG.TIMER_DIVIDE: this.timerDivide = value & 0xb; return;
      case REG.ID: case REG.VERSION: case REG.PPR: case REG.TIMER_CURRENT:
        this.report(`local APIC: write to read-only register 0x${reg.toString(16)}`);
        return;
      default:
        return;
    }
  }

  /** A self-IPI (fixed, to self or all-including-self) is accepted; anything else has no one to go to. */
  private sendIpi(low: number): void {
    this.icrLow = low & ~(1 << 12); // delivery status: idle at once
    const shorthand = (low >> 18) & 3;
    const mode = (low >> 8) & 7;
    if (mode === 0 && (shorthand === 1 || shorthand === 2 || (shorthand === 0 && this.addressed(this.icrHigh >>> 24, (low & (1 << 11)) !== 0))))
      this.accept(low & 0xff, (low & (1 << 15)) !== 0);
    else this.report(`local APIC: IPI 0x${low.toString(16)} has no other CPU to go to (this VM has one)`);
  }

  mmioRead(address: number, data: Uint8Array): void {
    const offset = address - LAPIC_BASE;
    const reg = offset & ~0xf;
    const value = (offset & 0xf) < 4 ? this.readRegister(reg) >>> ((offset & 3) * 8) : 0;
    for (let i = 0; i < data.length; i++) data[i] = i < 4 ? (value >>> (i * 8)) & 0xff : 0;
  }

  mmioWrite(address: number, data: Uint8Array): void {
    const offset = address - LAPIC_BASE;
    if ((offset & 0xf) !== 0 || data.length !== 4) {
      this.report(`local APIC: ${data.length}-byte write at offset 0x${offset.toString(16)} (registers are written as aligned dwords)`);
      if ((offset & 0xf) !== 0) return;
    }
    let value = 0;
    for (let i = Math.min(data.length, 4) - 1; i >= 0; i--) value = value * 256 + data[i];
    this.writeRegister(offset, value >>> 0);
  }

  // --- views -------------------------------------------------------------------------------------

  info(): LocalApicInfo {
    const lvt = this.lvt.get(REG.LVT_TIMER)!;
    return {
      enabled: this.enabled, id: 0, tpr: this.tpr, ppr: this.ppr(), irr: this.irr.list(), isr: this.isr.list(),
      timer: { mode: lvt & TIMER_PERIODIC ? 'periodic' : 'one-shot', masked: (lvt & LVT_MASKED) !== 0, vector: lvt & 0xff, initial: this.timerInitial, current: this.currentCount(), divide: this.divisor(), fired: this.timerFired },
      accepted: Object.fromEntries(this.accepted), eois: this.eois,
    };
  }
}
