// CpuState ↔ Unicorn, in one place.
//
// Why not only uc_reg_read/uc_reg_write: an engine opened in UC_MODE_64 (the only mode in which all
// 64-bit registers are readable and a guest may go real → protected → long) writes only the
// *selector* of CS/DS/ES/SS (no descriptor load, base and limit untouched) and cannot read any
// segment base, limit or attribute. So the hidden segment state lives in QEMU's CPUX86State, which
// uc_context_save/restore copy verbatim (CPUX86State up to end_reset_fields). We patch segments,
// EFER and the derived `hflags` there, KVM_SET_SREGS-style, and read them back the same way, so the
// state after a guest's own mode switch is what the guest loaded. The layout (QEMU 5.0 as built in
// Unicorn 2.0.x for x86-64 hosts) is checked against API writes when the engine opens; a mismatch
// refuses the engine instead of corrupting it.
import koffi from 'koffi';
import { REG_NAMES, Regs, Segment, SegmentName, SRegs, CpuState } from '../cpu-state';
import { check, MMR, MSR, SoftwareCpuUnavailable, UcEngine, UnicornLib, X86 } from './unicorn-lib';

/** uc_context header: size_t context_size, uc_mode mode, uc_arch arch, then the CPUX86State copy. */
const CTX_MODE = 8;
const CTX_ARCH = 12;
const ENV = 16;
/** Offsets in CPUX86State (QEMU 5.0, TARGET_X86_64). */
const E = {
  REGS: 0, // target_ulong regs[16]: EAX ECX EDX EBX ESP EBP ESI EDI R8..R15
  EIP: 128,
  HFLAGS: 176,
  SEGS: 184, // SegmentCache[6] in the order ES CS SS DS FS GS; 24 bytes each
  LDT: 328,
  TR: 352,
  GDT: 376,
  IDT: 400,
  CR: 424, // target_ulong cr[5]
  EFER: 560,
} as const;
/** SegmentCache {u32 selector; target_ulong base; u32 limit; u32 flags}. */
const SC = { SELECTOR: 0, BASE: 8, LIMIT: 16, FLAGS: 20, SIZE: 24 } as const;
const SEG_INDEX: Record<Exclude<SegmentName, 'tr' | 'ldt'>, number> = { es: 0, cs: 1, ss: 2, ds: 3, fs: 4, gs: 5 };

/** QEMU's hflags bits we derive (target/i386/cpu.h). */
const HF = {
  CPL: 3, CS32: 1 << 4, SS32: 1 << 5, ADDSEG: 1 << 6, PE: 1 << 7, MP: 1 << 9, EM: 1 << 10, TS: 1 << 11,
  LMA: 1 << 14, CS64: 1 << 15, OSFXSR: 1 << 22, SMAP: 1 << 23,
} as const;

/** kvm_regs order → QEMU regs[] index. */
const GPR_INDEX: Partial<Record<(typeof REG_NAMES)[number], number>> = {
  rax: 0, rcx: 1, rdx: 2, rbx: 3, rsp: 4, rbp: 5, rsi: 6, rdi: 7,
  r8: 8, r9: 9, r10: 10, r11: 11, r12: 12, r13: 13, r14: 14, r15: 15,
};

const MSR_EFER = 0xc0000080;
const EFER_LMA = 1n << 10n;

/** A segment's attributes as QEMU keeps them: the descriptor's high dword, base/limit bits aside. */
export function segmentFlags(s: Segment): number {
  return ((s.type & 0xf) << 8) | ((s.s & 1) << 12) | ((s.dpl & 3) << 13) | ((s.present & 1) << 15) |
    ((s.avl & 1) << 20) | ((s.l & 1) << 21) | ((s.db & 1) << 22) | ((s.g & 1) << 23);
}

export function segmentFromCache(selector: number, base: bigint, limit: number, flags: number, system = false): Segment {
  const present = (flags >> 15) & 1;
  return {
    base, limit, selector,
    type: (flags >> 8) & 0xf, present, dpl: (flags >> 13) & 3, db: (flags >> 22) & 1,
    s: (flags >> 12) & 1, l: (flags >> 21) & 1, g: (flags >> 23) & 1, avl: (flags >> 20) & 1,
    // QEMU has no "unusable" bit: a null selector loads a non-present cache. KVM reports it unusable.
    unusable: present || system ? 0 : 1,
  };
}

/** The hflags bits that follow from CR0/CR4/EFER and the segment caches (QEMU cpu_x86_load_seg_cache). */
export function deriveHflags(old: number, s: SRegs, eflagsVm: boolean): number {
  let h = old & ~(HF.CPL | HF.CS32 | HF.SS32 | HF.ADDSEG | HF.PE | HF.MP | HF.EM | HF.TS | HF.LMA | HF.CS64 | HF.OSFXSR | HF.SMAP);
  const pe = (s.cr0 & 1n) !== 0n;
  const lma = (s.efer & EFER_LMA) !== 0n;
  if (pe) h |= HF.PE;
  h |= Number((s.cr0 << 8n) & BigInt(HF.MP | HF.EM | HF.TS)); // CR0.MP/EM/TS (bits 1–3) → hflags 9–11
  if (s.cr4 & (1n << 9n)) h |= HF.OSFXSR;
  if (s.cr4 & (1n << 21n)) h |= HF.SMAP;
  if (lma) h |= HF.LMA;
  if (pe && !eflagsVm) h |= s.ss.dpl & 3;
  if (lma && s.cs.l) h |= HF.CS32 | HF.SS32 | HF.CS64;
  else {
    if (s.cs.db) h |= HF.CS32;
    if (s.ss.db) h |= HF.SS32;
  }
  if (!(h & HF.CS64)) {
    if (!pe || eflagsVm || !(h & HF.CS32)) h |= HF.ADDSEG;
    else if ((s.ds.base | s.es.base | s.ss.base) !== 0n) h |= HF.ADDSEG;
  }
  return h >>> 0;
}

export class UnicornState {
  private readonly ctx: unknown;
  /** A live view of the context buffer (koffi.view: no copy). */
  private readonly view: DataView;
  private readonly buf8 = Buffer.alloc(8);
  private readonly mmr = Buffer.alloc(MMR.SIZE);
  private readonly msr = Buffer.alloc(MSR.SIZE);
  /** IA32_APIC_BASE: Unicorn has no local APIC; we keep what the monitor set. */
  private apicBase = 0xfee00900n;

  constructor(private readonly lib: UnicornLib, private readonly uc: UcEngine) {
    const out: unknown[] = [null];
    check(lib.uc_context_alloc(uc, out), 'uc_context_alloc');
    this.ctx = out[0];
    const size = Number(lib.uc_context_size(uc));
    this.view = new DataView(koffi.view(this.ctx as never, size));
    this.verifyLayout(size);
  }

  /** Checks the offsets above against values written through the API (see the file comment). */
  private verifyLayout(size: number): void {
    const probeRip = 0x1234567n;
    const probeRax = 0x1122334455667788n;
    this.writeReg(X86.RAX, probeRax);
    this.writeReg(X86.RIP, probeRip);
    this.mmr.fill(0);
    this.mmr.writeBigUInt64LE(0x9abcdn, MMR.BASE);
    this.mmr.writeUInt32LE(0x2f, MMR.LIMIT);
    check(this.lib.uc_reg_write(this.uc, X86.GDTR, this.mmr), 'uc_reg_write(GDTR)');
    this.save();
    const v = this.view;
    const ok = size >= ENV + E.EFER + 8 && v.getUint32(CTX_MODE, true) === 8 && v.getUint32(CTX_ARCH, true) === 4 &&
      v.getBigUint64(ENV + E.REGS, true) === probeRax && v.getBigUint64(ENV + E.EIP, true) === probeRip &&
      v.getBigUint64(ENV + E.GDT + SC.BASE, true) === 0x9abcdn && v.getUint32(ENV + E.GDT + SC.LIMIT, true) === 0x2f &&
      (v.getBigUint64(ENV + E.EFER, true) & EFER_LMA) !== 0n; // a UC_MODE_64 engine starts with LMA
    if (!ok) throw new SoftwareCpuUnavailable(`this Unicorn build keeps the CPU state in an unknown layout (context size ${size}); only Unicorn 2.0.x for x86-64 hosts is supported`);
    this.writeReg(X86.RAX, 0n);
  }

  close(): void {
    this.lib.uc_context_free(this.ctx);
  }

  private save(): void {
    check(this.lib.uc_context_save(this.uc, this.ctx), 'uc_context_save');
  }

  readReg(id: number): bigint {
    this.buf8.writeBigUInt64LE(0n);
    check(this.lib.uc_reg_read(this.uc, id, this.buf8), `uc_reg_read(${id})`);
    return this.buf8.readBigUInt64LE();
  }

  writeReg(id: number, value: bigint): void {
    this.buf8.writeBigUInt64LE(BigInt.asUintN(64, value));
    check(this.lib.uc_reg_write(this.uc, id, this.buf8), `uc_reg_write(${id})`);
  }

  private readMsr(rid: number): bigint {
    this.msr.fill(0);
    this.msr.writeUInt32LE(rid, MSR.RID);
    check(this.lib.uc_reg_read(this.uc, X86.MSR, this.msr), 'uc_reg_read(MSR)');
    return this.msr.readBigUInt64LE(MSR.VALUE);
  }

  private writeMsr(rid: number, value: bigint): void {
    this.msr.fill(0);
    this.msr.writeUInt32LE(rid, MSR.RID);
    this.msr.writeBigUInt64LE(value, MSR.VALUE);
    check(this.lib.uc_reg_write(this.uc, X86.MSR, this.msr), 'uc_reg_write(MSR)');
  }

  private writeTable(id: number, base: bigint, limit: number): void {
    this.mmr.fill(0);
    this.mmr.writeBigUInt64LE(base, MMR.BASE);
    this.mmr.writeUInt32LE(limit, MMR.LIMIT);
    check(this.lib.uc_reg_write(this.uc, id, this.mmr), 'uc_reg_write(descriptor table)');
  }

  private readCache(offset: number, system = false): Segment {
    const v = this.view;
    const o = ENV + offset;
    return segmentFromCache(v.getUint32(o + SC.SELECTOR, true) & 0xffff, v.getBigUint64(o + SC.BASE, true),
      v.getUint32(o + SC.LIMIT, true), v.getUint32(o + SC.FLAGS, true), system);
  }

  private writeCache(offset: number, s: Segment): void {
    const v = this.view;
    const o = ENV + offset;
    v.setUint32(o + SC.SELECTOR, s.selector & 0xffff, true);
    v.setBigUint64(o + SC.BASE, BigInt.asUintN(64, s.base), true);
    v.setUint32(o + SC.LIMIT, s.limit >>> 0, true);
    v.setUint32(o + SC.FLAGS, segmentFlags(s), true);
  }

  /** The whole state. */
  read(): CpuState {
    this.save();
    const v = this.view;
    const regs = {} as Regs;
    for (const name of REG_NAMES) {
      const i = GPR_INDEX[name];
      if (i !== undefined) regs[name] = v.getBigUint64(ENV + E.REGS + i * 8, true);
    }
    regs.rip = v.getBigUint64(ENV + E.EIP, true);
    regs.rflags = this.readReg(X86.RFLAGS); // QEMU keeps the arithmetic flags lazily: let it compute them
    const cr = (n: number): bigint => v.getBigUint64(ENV + E.CR + n * 8, true);
    const table = (offset: number) => ({ base: v.getBigUint64(ENV + offset + SC.BASE, true), limit: v.getUint32(ENV + offset + SC.LIMIT, true) & 0xffff });
    const sregs: SRegs = {
      cs: this.readCache(E.SEGS + SEG_INDEX.cs * SC.SIZE),
      ds: this.readCache(E.SEGS + SEG_INDEX.ds * SC.SIZE),
      es: this.readCache(E.SEGS + SEG_INDEX.es * SC.SIZE),
      fs: this.readCache(E.SEGS + SEG_INDEX.fs * SC.SIZE),
      gs: this.readCache(E.SEGS + SEG_INDEX.gs * SC.SIZE),
      ss: this.readCache(E.SEGS + SEG_INDEX.ss * SC.SIZE),
      tr: this.readCache(E.TR, true),
      ldt: this.readCache(E.LDT, true),
      gdt: table(E.GDT),
      idt: table(E.IDT),
      cr0: cr(0), cr2: cr(2), cr3: cr(3), cr4: cr(4),
      cr8: this.readReg(X86.CR8),
      efer: v.getBigUint64(ENV + E.EFER, true),
      apic_base: this.apicBase,
    };
    return { regs, sregs };
  }

  /**
   * Writes `sregs` then `regs`. Control registers go through the API (so QEMU flushes its TLB and
   * updates what follows from them), in the order GDTR, IDTR, CR3, CR4, EFER, CR0; then the segment
   * caches, the exact EFER and the derived hflags are patched in the context and restored.
   */
  /**
   * `previous`: the state `sregs` was derived from (e.g. by an interrupt delivery); the control
   * registers and tables equal to it are not written again — a CR3 write flushes the emulated TLB,
   * which would cost every delivered interrupt its translations.
   */
  write(regs?: Regs, sregs?: SRegs, previous?: SRegs): void {
    if (sregs) {
      const p = previous;
      if (!p || p.gdt.base !== sregs.gdt.base || p.gdt.limit !== sregs.gdt.limit) this.writeTable(X86.GDTR, sregs.gdt.base, sregs.gdt.limit);
      if (!p || p.idt.base !== sregs.idt.base || p.idt.limit !== sregs.idt.limit) this.writeTable(X86.IDTR, sregs.idt.base, sregs.idt.limit);
      if (!p || p.cr3 !== sregs.cr3) this.writeReg(X86.CR3, sregs.cr3);
      if (!p || p.cr4 !== sregs.cr4) this.writeReg(X86.CR4, sregs.cr4);
      if (!p || p.efer !== sregs.efer) this.writeMsr(MSR_EFER, sregs.efer);
      if (!p || p.cr0 !== sregs.cr0) this.writeReg(X86.CR0, sregs.cr0);
      if (!p || p.cr2 !== sregs.cr2) this.writeReg(X86.CR2, sregs.cr2);
      if (!p || p.cr8 !== sregs.cr8) this.writeReg(X86.CR8, sregs.cr8);
      this.apicBase = sregs.apic_base;
    }
    if (!sregs && !regs) return;
    this.save();
    const v = this.view;
    if (sregs) {
      for (const name of ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const) this.writeCache(E.SEGS + SEG_INDEX[name] * SC.SIZE, sregs[name]);
      this.writeCache(E.TR, sregs.tr);
      this.writeCache(E.LDT, sregs.ldt);
      v.setBigUint64(ENV + E.EFER, sregs.efer, true);
      const vm = ((regs?.rflags ?? this.readReg(X86.RFLAGS)) & (1n << 17n)) !== 0n;
      v.setUint32(ENV + E.HFLAGS, deriveHflags(v.getUint32(ENV + E.HFLAGS, true), sregs, vm), true);
    }
    if (regs) {
      for (const name of REG_NAMES) {
        const i = GPR_INDEX[name];
        if (i !== undefined) v.setBigUint64(ENV + E.REGS + i * 8, BigInt.asUintN(64, regs[name]), true);
      }
      v.setBigUint64(ENV + E.EIP, BigInt.asUintN(64, regs.rip), true);
    }
    check(this.lib.uc_context_restore(this.uc, this.ctx), 'uc_context_restore');
    if (regs) this.writeReg(X86.RFLAGS, regs.rflags);
  }

  /** RIP (the offset in CS) and CS.base, from one context copy. */
  ripAndCsBase(): { rip: bigint; csBase: bigint } {
    this.save();
    return {
      rip: this.view.getBigUint64(ENV + E.EIP, true),
      csBase: this.view.getBigUint64(ENV + E.SEGS + SEG_INDEX.cs * SC.SIZE + SC.BASE, true),
    };
  }

  rip(): bigint {
    return this.readReg(X86.RIP);
  }

  rsp(): bigint {
    return this.readReg(X86.RSP);
  }

  cr2(): bigint {
    return this.readReg(X86.CR2);
  }

  /** EFER as the guest's WRMSR left it (for diagnostics). */
  eferFromMsr(): bigint {
    return this.readMsr(MSR_EFER);
  }
}
