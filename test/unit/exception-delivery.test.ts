// Exception and interrupt delivery against hand-built IVT/IDT/GDT/TSS/page tables. Every expected
// frame, state and error code below is written out from the Intel SDM (vol. 2 "INT n/INTO/INT3/INT1"
// pseudocode; vol. 3 chapter 6, sections cited per test), not taken from the implementation.
import assert from 'node:assert/strict';
import { deliverEvent, faultErrorCode, pageFaultInfo, exceptionKind, EXCEPTION_NAMES, type DeliveryResult } from '../../debug-adapter/vmm/tcg/exception-delivery';
import { resetSRegs, zeroRegs, type CpuState, type Segment, type SRegs } from '../../debug-adapter/vmm/cpu-state';
import { initialState, writeModeTables } from '../../debug-adapter/vmm/cpu-modes';

const CR0_PE = 1n, CR0_ET = 0x10n, CR0_PG = 1n << 31n;
const CR4_PAE = 1n << 5n;
const EFER_LME = 1n << 8n, EFER_LMA = 1n << 10n, EFER_NXE = 1n << 11n;

const IDT = 0x1000, GDT = 0x2000, TSS = 0x3000;
const PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;

function ram(): { mem: Uint8Array; view: DataView } {
  const mem = new Uint8Array(4 << 20);
  return { mem, view: new DataView(mem.buffer) };
}

/** A segment descriptor per SDM vol. 3, 3.4.5 (figure 3-8). */
function desc(base: number, limit: number, type: number, dpl: number, o: { s?: number; l?: number; db?: number; g?: number; p?: number } = {}): bigint {
  const s = o.s ?? 1, p = o.p ?? 1, l = o.l ?? 0, db = o.db ?? 1, g = o.g ?? 1;
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | (g << 23) | (db << 22) | (l << 21) | (limit & 0xf0000) | (p << 15) | (dpl << 13) | (s << 12) | (type << 8) | ((base >>> 16) & 0xff);
  return BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);
}

/** Our test GDT. */
const SEL = { code0: 0x08, data0: 0x10, code3: 0x18, data3: 0x20, tss: 0x28, code64_0: 0x38, code64_3: 0x40, data64_3: 0x48 };
function writeGdt(view: DataView): void {
  const e: [number, bigint][] = [
    [SEL.code0, desc(0, 0xfffff, 0xa, 0)], // execute/read, not accessed
    [SEL.data0, desc(0, 0xfffff, 0x2, 0)],
    [SEL.code3, desc(0, 0xfffff, 0xa, 3)],
    [SEL.data3, desc(0, 0xfffff, 0x2, 3)],
    [SEL.tss, desc(TSS, 0x67, 0xb, 0, { s: 0, db: 0, g: 0 })],
    [SEL.code64_0, desc(0, 0xfffff, 0xa, 0, { l: 1, db: 0 })],
    [SEL.code64_3, desc(0, 0xfffff, 0xa, 3, { l: 1, db: 0 })],
    [SEL.data64_3, desc(0, 0xfffff, 0x2, 3)],
  ];
  for (const [sel, d] of e) view.setBigUint64(GDT + sel, d, true);
}

/** A 32-bit IDT gate (SDM vol. 3, figure 6-2). type: 0xE interrupt, 0xF trap, 0x6/0x7 16-bit, 0x5 task. */
function gate32(view: DataView, vector: number, offset: number, selector: number, type: number, dpl = 0, present = 1): void {
  view.setUint32(IDT + vector * 8, ((selector << 16) | (offset & 0xffff)) >>> 0, true);
  view.setUint32(IDT + vector * 8 + 4, ((offset & 0xffff0000) | (present << 15) | (dpl << 13) | (type << 8)) >>> 0, true);
}

/** A 64-bit IDT gate (SDM vol. 3, figure 6-8). */
function gate64(view: DataView, vector: number, offset: bigint, selector: number, type: number, dpl = 0, ist = 0, present = 1): void {
  const at = IDT + vector * 16;
  view.setUint32(at, ((selector << 16) | Number(offset & 0xffffn)) >>> 0, true);
  view.setUint32(at + 4, (Number(offset & 0xffff0000n) | (present << 15) | (dpl << 13) | (type << 8) | ist) >>> 0, true);
  view.setBigUint64(at + 8, offset >> 32n, true);
}

function seg(selector: number, dpl: number, code: boolean, o: { l?: number; db?: number } = {}): Segment {
  return {
    base: 0n, limit: 0xffffffff, selector, type: code ? 0xb : 0x3, present: 1, dpl, db: o.db ?? 1, s: 1,
    l: o.l ?? 0, g: 1, avl: 0, unusable: 0,
  };
}

function protectedState(over: { cpl?: number } = {}): CpuState {
  const cpl = over.cpl ?? 0;
  const regs = zeroRegs();
  regs.rflags = 0x202n;
  const sregs: SRegs = {
    ...resetSRegs(),
    cs: seg(cpl ? SEL.code3 | 3 : SEL.code0, cpl, true),
    ss: seg(cpl ? SEL.data3 | 3 : SEL.data0, cpl, false),
    ds: seg(SEL.data0, 0, false), es: seg(SEL.data0, 0, false), fs: seg(SEL.data0, 0, false), gs: seg(SEL.data0, 0, false),
    tr: { base: BigInt(TSS), limit: 0x67, selector: SEL.tss, type: 0xb, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0 },
    gdt: { base: BigInt(GDT), limit: 0x4f },
    idt: { base: BigInt(IDT), limit: 0x7ff },
    cr0: CR0_PE | CR0_ET, cr3: 0n, cr4: 0n, efer: 0n,
  };
  return { regs, sregs };
}

/** Long mode with our own tables: 4 KiB identity pages for 0–2 MiB (user, writable), 2 MiB pages up to 4 MiB. */
function writeLongTables(view: DataView, notPresent: number[] = [], readOnly: number[] = []): void {
  view.setBigUint64(PML4, BigInt(PDPT) | 7n, true);
  view.setBigUint64(PDPT, BigInt(PD) | 7n, true);
  view.setBigUint64(PD, BigInt(PT) | 7n, true);
  view.setBigUint64(PD + 8, 0x200000n | 0x87n, true);
  for (let i = 0; i < 512; i++) {
    const page = i * 0x1000;
    const flags = notPresent.includes(page) ? 0n : readOnly.includes(page) ? 5n : 7n;
    view.setBigUint64(PT + i * 8, BigInt(page) | flags, true);
  }
}

function longState(over: { cpl?: number; nxe?: boolean } = {}): CpuState {
  const s = protectedState();
  const cpl = over.cpl ?? 0;
  s.sregs.cs = seg(cpl ? SEL.code64_3 | 3 : SEL.code64_0, cpl, true, { l: 1, db: 0 });
  s.sregs.ss = seg(cpl ? SEL.data64_3 | 3 : SEL.data0, cpl, false);
  s.sregs.idt = { base: BigInt(IDT), limit: 0xfff };
  s.sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
  s.sregs.cr3 = BigInt(PML4);
  s.sregs.cr4 = CR4_PAE;
  s.sregs.efer = EFER_LME | EFER_LMA | (over.nxe ? EFER_NXE : 0n);
  return s;
}

function delivered(r: DeliveryResult): CpuState {
  assert.equal(r.kind, 'delivered', r.kind === 'triple-fault' ? r.message : '');
  return (r as { state: CpuState }).state;
}
const u16 = (v: DataView, a: number): number => v.getUint16(a, true);
const u32 = (v: DataView, a: number): number => v.getUint32(a, true);
const u64 = (v: DataView, a: number): bigint => v.getBigUint64(a, true);

describe('exception delivery: real mode (SDM vol. 2 INT n REAL-ADDRESS-MODE; vol. 3 20.1.4)', function () {
  function realState(): CpuState {
    const regs = zeroRegs();
    const rs = (sel: number): Segment => ({ base: BigInt(sel) << 4n, limit: 0xffff, selector: sel, type: 3, present: 1, dpl: 0, db: 0, s: 1, l: 0, g: 0, avl: 0, unusable: 0 });
    const sregs: SRegs = { ...resetSRegs(), cs: { ...rs(0x1000), type: 0xb }, ss: rs(0x9800), ds: rs(0), es: rs(0), cr0: CR0_ET, idt: { base: 0n, limit: 0x3ff } };
    regs.rip = 0x0102n; // after a 2-byte `int $0x10` at 1000:0100
    regs.rsp = 0x8000n;
    regs.rflags = 0x40302n; // AC, IF, TF
    return { regs, sregs };
  }

  it('int 0x10: pushes FLAGS, CS, IP; clears IF, TF, AC; CS:IP from IVT[0x10]', function () {
    const { mem, view } = ram();
    view.setUint16(0x10 * 4, 0x1234, true); // offset
    view.setUint16(0x10 * 4 + 2, 0xc000, true); // segment
    const s = delivered(deliverEvent(realState(), { vector: 0x10, kind: 'software' }, mem));
    // Push(FLAGS) at SS:7FFE, Push(CS) at 7FFC, Push(IP) at 7FFA; SS base 0x98000.
    assert.equal(u16(view, 0x9fffe), 0x0302);
    assert.equal(u16(view, 0x9fffc), 0x1000);
    assert.equal(u16(view, 0x9fffa), 0x0102);
    assert.equal(s.regs.rsp, 0x7ffan);
    assert.equal(s.regs.rflags, 0x2n); // IF ← 0; TF ← 0; AC ← 0
    assert.equal(s.sregs.cs.selector, 0xc000);
    assert.equal(s.sregs.cs.base, 0xc0000n);
    assert.equal(s.regs.rip, 0x1234n);
  });

  it('SP wraps inside the 64 KiB stack segment', function () {
    const { mem, view } = ram();
    const st = realState();
    st.regs.rsp = 0x0002n;
    const s = delivered(deliverEvent(st, { vector: 0x10, kind: 'software' }, mem));
    assert.equal(s.regs.rsp, 0xfffcn);
    assert.equal(u16(view, 0x98000), 0x0302);
    assert.equal(u16(view, 0x98000 + 0xfffe), 0x1000);
    assert.equal(u16(view, 0x98000 + 0xfffc), 0x0102);
  });

  it('a vector beyond the IVT limit raises #GP (delivered through IVT[13], IP at the INT); then #DF, then shutdown', function () {
    const { mem, view } = ram();
    view.setUint16(13 * 4, 0x5678, true);
    view.setUint16(13 * 4 + 2, 0x2000, true);
    const st = realState();
    st.sregs.idt.limit = 0x3f; // vectors 0–15
    const s = delivered(deliverEvent(st, { vector: 0x42, kind: 'software' }, mem));
    assert.equal(s.sregs.cs.selector, 0x2000);
    assert.equal(s.regs.rip, 0x5678n);
    assert.equal(u16(view, 0x9fffa), 0x0100); // #GP is a fault of the INT instruction: its own IP
    st.sregs.idt.limit = 0x1f; // vectors 0–7: #GP (13) and #DF (8) have no entry either
    const r = deliverEvent(st, { vector: 0x42, kind: 'software' }, mem);
    assert.equal(r.kind, 'triple-fault');
    assert.match((r as { message: string }).message, /^int 0x42 at 0x10100: the IVT \(base 0x0, limit 0x1f\) has no entry for vector 66 → #GP → #DF → triple fault/);
  });
});

describe('exception delivery: 32-bit protected mode (SDM vol. 3 6.12)', function () {
  function setup(): { mem: Uint8Array; view: DataView } {
    const r = ram();
    writeGdt(r.view);
    return r;
  }

  it('interrupt gate clears IF, trap gate keeps it; frame EFLAGS, CS, EIP (figure 6-4, no privilege change)', function () {
    const { mem, view } = setup();
    gate32(view, 0x80, 0x00102000, SEL.code0, 0xe, 3);
    gate32(view, 0x81, 0x00103000, SEL.code0, 0xf, 3);
    const st = protectedState();
    st.regs.rsp = 0x9f000n;
    st.regs.rip = 0x101002n;
    const s = delivered(deliverEvent(st, { vector: 0x80, kind: 'software' }, mem));
    assert.equal(s.regs.rsp, 0x9eff4n);
    assert.equal(u32(view, 0x9effc), 0x202); // EFLAGS (software: RF not set)
    assert.equal(u32(view, 0x9eff8), SEL.code0);
    assert.equal(u32(view, 0x9eff4), 0x101002);
    assert.equal(s.regs.rflags, 0x002n); // interrupt gate: IF ← 0
    assert.equal(s.regs.rip, 0x102000n);
    assert.equal(s.sregs.cs.selector, SEL.code0);
    assert.equal(s.sregs.cs.base, 0n);
    assert.equal(s.sregs.cs.limit, 0xffffffff);
    assert.equal(s.sregs.cs.type, 0xb); // loading sets the accessed bit
    assert.equal(s.sregs.cs.db, 1);
    assert.equal(view.getUint8(GDT + SEL.code0 + 5) & 1, 1); // …in the descriptor too
    const t = delivered(deliverEvent(st, { vector: 0x81, kind: 'software' }, mem));
    assert.equal(t.regs.rflags, 0x202n); // trap gate: IF unchanged
    assert.equal(t.regs.rip, 0x103000n);
  });

  it('#GP pushes its error code after EIP, and RF = 1 in the EFLAGS image of a fault (6.13, 17.3.1.1)', function () {
    const { mem, view } = setup();
    gate32(view, 13, 0x00104000, SEL.code0, 0xe);
    const st = protectedState();
    st.regs.rsp = 0x9f000n;
    st.regs.rip = 0x101000n; // the faulting instruction
    st.regs.rflags = 0x302n; // IF, TF
    const s = delivered(deliverEvent(st, { vector: 13, kind: 'fault', errorCode: 0x18 }, mem));
    assert.equal(s.regs.rsp, 0x9eff0n);
    assert.equal(u32(view, 0x9effc), 0x10302);
    assert.equal(u32(view, 0x9eff8), SEL.code0);
    assert.equal(u32(view, 0x9eff4), 0x101000);
    assert.equal(u32(view, 0x9eff0), 0x18);
    assert.equal(s.regs.rflags, 0x002n); // TF, IF cleared (also NT, RF, VM)
  });

  it('16-bit interrupt gate pushes a 16-bit frame (6.12.1)', function () {
    const { mem, view } = setup();
    gate32(view, 0x30, 0x00005000, SEL.code0, 0x6);
    const st = protectedState();
    st.regs.rsp = 0x9f000n;
    st.regs.rip = 0x1234n;
    const s = delivered(deliverEvent(st, { vector: 0x30, kind: 'trap' }, mem));
    assert.equal(s.regs.rsp, 0x9effan);
    assert.equal(u16(view, 0x9effe), 0x202);
    assert.equal(u16(view, 0x9effc), SEL.code0);
    assert.equal(u16(view, 0x9effa), 0x1234);
    assert.equal(s.regs.rip, 0x5000n);
  });

  it('privilege change from CPL 3: SS0:ESP0 from the TSS, pushes SS, ESP, EFLAGS, CS, EIP (6.12.1, figure 6-4)', function () {
    const { mem, view } = setup();
    gate32(view, 0x80, 0x00102000, SEL.code0, 0xe, 3);
    view.setUint32(TSS + 4, 0x8f000, true); // ESP0
    view.setUint16(TSS + 8, SEL.data0, true); // SS0
    const st = protectedState({ cpl: 3 });
    st.regs.rsp = 0x7000n;
    st.regs.rip = 0x40102n;
    const s = delivered(deliverEvent(st, { vector: 0x80, kind: 'software' }, mem));
    assert.equal(u32(view, 0x8effc), SEL.data3 | 3); // old SS
    assert.equal(u32(view, 0x8eff8), 0x7000); // old ESP
    assert.equal(u32(view, 0x8eff4), 0x202);
    assert.equal(u32(view, 0x8eff0), SEL.code3 | 3);
    assert.equal(u32(view, 0x8efec), 0x40102);
    assert.equal(s.regs.rsp, 0x8efecn);
    assert.equal(s.sregs.ss.selector, SEL.data0);
    assert.equal(s.sregs.ss.dpl, 0);
    assert.equal(s.sregs.cs.selector, SEL.code0);
    assert.equal(s.sregs.cs.dpl, 0);
    assert.equal(s.regs.rip, 0x102000n);
  });

  it('int n from CPL 3 through a DPL 0 gate → #GP(vector·8+2), EIP of the INT (vol. 2 INT n)', function () {
    const { mem, view } = setup();
    gate32(view, 0x80, 0x00102000, SEL.code0, 0xe, 0);
    gate32(view, 13, 0x00104000, SEL.code0, 0xe, 0); // exceptions ignore the gate DPL
    view.setUint32(TSS + 4, 0x8f000, true);
    view.setUint16(TSS + 8, SEL.data0, true);
    const st = protectedState({ cpl: 3 });
    st.regs.rsp = 0x7000n;
    st.regs.rip = 0x40102n; // after `int $0x80` at 0x40100
    const s = delivered(deliverEvent(st, { vector: 0x80, kind: 'software' }, mem));
    assert.equal(s.regs.rip, 0x104000n);
    assert.equal(s.regs.rsp, 0x8efe8n); // SS, ESP, EFLAGS, CS, EIP, error code
    assert.equal(u32(view, 0x8efec), 0x40100);
    assert.equal(u32(view, 0x8efe8), 0x80 * 8 + 2); // IDT bit set, EXT = 0
    assert.equal(u32(view, 0x8eff4), 0x10202); // a fault: RF = 1
  });

  it('not-present gate → #NP(vector·8+2+EXT); a second contributory fault → #DF with error code 0 (6.15, table 6-5)', function () {
    const { mem, view } = setup();
    gate32(view, 6, 0x00106000, SEL.code0, 0xe, 0, 0); // #UD gate not present
    gate32(view, 11, 0x00111000, SEL.code0, 0xe);
    gate32(view, 8, 0x00108000, SEL.code0, 0xe);
    const st = protectedState();
    st.regs.rsp = 0x9f000n;
    st.regs.rip = 0x100004n;
    const s = delivered(deliverEvent(st, { vector: 6, kind: 'fault' }, mem));
    assert.equal(s.regs.rip, 0x111000n); // benign #UD then contributory #NP: #NP delivered
    assert.equal(u32(view, 0x9eff0), 6 * 8 + 2 + 1);
    assert.equal(u32(view, 0x9eff4), 0x100004);
    gate32(view, 11, 0x00111000, SEL.code0, 0xe, 0, 0); // #NP gate not present either
    mem.fill(0, 0x9e000, 0x9f000);
    const d = deliverEvent(st, { vector: 6, kind: 'fault' }, mem);
    const ds = delivered(d);
    assert.equal(ds.regs.rip, 0x108000n); // #NP then #NP: contributory + contributory → #DF
    assert.equal(u32(view, 0x9eff0), 0); // #DF error code is 0
    assert.equal(ds.regs.rsp, 0x9eff0n);
    assert.match((d as { note?: string }).note ?? '', /#NP → #DF/);
  });

  it('empty IDT (the monitor\'s initial protected-mode state): any exception triple-faults', function () {
    const { mem, view } = ram();
    writeModeTables(view, 'protected');
    const st = initialState('protected', { kind: 'linear', address: 0x100000 }, resetSRegs()) as CpuState;
    st.regs.rip = 0x100004n;
    const r = deliverEvent(st, { vector: 6, kind: 'fault' }, mem);
    assert.equal(r.kind, 'triple-fault');
    // #UD (benign) → #GP(6·8+2+1) → #GP contributory + #GP contributory → #DF → fault in #DF → shutdown (6.15).
    assert.match((r as { message: string }).message,
      /^#UD \(vector 6\) at 0x100004: the IDT \(base 0x0, limit 0x0\) has no entry for vector 6 → #GP → #DF → triple fault/);
  });

  it('a task gate is reported (not pretended)', function () {
    const { mem, view } = setup();
    gate32(view, 8, 0, SEL.tss, 0x5);
    gate32(view, 13, 0, SEL.tss, 0x5);
    const r = deliverEvent(protectedState(), { vector: 13, kind: 'fault', errorCode: 0 }, mem);
    assert.equal(r.kind, 'triple-fault');
    assert.match((r as { message: string }).message, /task gate/);
  });
});

describe('exception delivery: IA-32e mode (SDM vol. 3 6.14)', function () {
  function setup(notPresent: number[] = [], readOnly: number[] = []): { mem: Uint8Array; view: DataView } {
    const r = ram();
    writeGdt(r.view);
    writeLongTables(r.view, notPresent, readOnly);
    return r;
  }
  const HANDLER = 0xffff_8000_0010_5000n;

  it('#PF: CR2, error code, 16-byte aligned 64-bit frame with SS:RSP always pushed (6.14.2, figure 6-9)', function () {
    const { mem, view } = setup();
    gate64(view, 14, HANDLER, SEL.code64_0, 0xe);
    const st = longState();
    st.regs.rsp = 0x9f008n;
    st.regs.rip = 0x100010n;
    const s = delivered(deliverEvent(st, { vector: 14, kind: 'fault', errorCode: 0x2, cr2: 0x1_2345_6000n }, mem));
    // RSP aligned to 0x9F000, then SS, RSP, RFLAGS, CS, RIP, error code (8 bytes each).
    assert.equal(u64(view, 0x9eff8), BigInt(SEL.data0));
    assert.equal(u64(view, 0x9eff0), 0x9f008n);
    assert.equal(u64(view, 0x9efe8), 0x10202n); // RF = 1 for a fault
    assert.equal(u64(view, 0x9efe0), BigInt(SEL.code64_0));
    assert.equal(u64(view, 0x9efd8), 0x100010n);
    assert.equal(u64(view, 0x9efd0), 0x2n);
    assert.equal(s.regs.rsp, 0x9efd0n);
    assert.equal(s.regs.rip, HANDLER);
    assert.equal(s.sregs.cr2, 0x1_2345_6000n);
    assert.equal(s.sregs.ss.selector, SEL.data0); // no privilege change: SS unchanged
    assert.equal(s.regs.rflags, 0x2n);
    assert.equal(s.sregs.cs.l, 1);
  });

  it('IST: RSP from the TSS IST slot (IST1 at +0x24), aligned to 16 (6.14.5)', function () {
    const { mem, view } = setup();
    gate64(view, 14, HANDLER, SEL.code64_0, 0xe, 0, 1);
    view.setBigUint64(TSS + 0x24, 0x80008n, true);
    const st = longState();
    st.regs.rsp = 0x9f008n;
    const s = delivered(deliverEvent(st, { vector: 14, kind: 'fault', errorCode: 0, cr2: 0n }, mem));
    assert.equal(s.regs.rsp, 0x7ffd0n);
    assert.equal(u64(view, 0x7fff0), 0x9f008n); // the old RSP
  });

  it('privilege change from CPL 3: RSP0 from the TSS (+4), SS ← null selector with RPL 0 (6.14.4)', function () {
    const { mem, view } = setup();
    gate64(view, 0x80, HANDLER, SEL.code64_0, 0xe, 3);
    view.setBigUint64(TSS + 4, 0x90000n, true);
    const st = longState({ cpl: 3 });
    st.regs.rsp = 0x50000n;
    st.regs.rip = 0x40102n;
    const s = delivered(deliverEvent(st, { vector: 0x80, kind: 'software' }, mem));
    assert.equal(u64(view, 0x8fff8), BigInt(SEL.data64_3 | 3));
    assert.equal(u64(view, 0x8fff0), 0x50000n);
    assert.equal(u64(view, 0x8ffe8), 0x202n);
    assert.equal(u64(view, 0x8ffe0), BigInt(SEL.code64_3 | 3));
    assert.equal(u64(view, 0x8ffd8), 0x40102n);
    assert.equal(s.regs.rsp, 0x8ffd8n);
    assert.equal(s.sregs.ss.selector, 0);
    assert.equal(s.sregs.cs.selector, SEL.code64_0);
  });

  it('#PF while pushing the #PF frame → #DF (page fault + page fault, table 6-5), CR2 = the stack address', function () {
    const { mem, view } = setup([0x7f000]);
    gate64(view, 14, HANDLER, SEL.code64_0, 0xe);
    gate64(view, 8, HANDLER + 0x800n, SEL.code64_0, 0xe, 0, 1);
    view.setBigUint64(TSS + 0x24, 0x70000n, true); // IST1 for #DF
    const st = longState();
    st.regs.rsp = 0x80000n; // the first push goes to 0x7FFF8, in the not-present page
    const d = deliverEvent(st, { vector: 14, kind: 'fault', errorCode: 0, cr2: 0x4000_0000n }, mem);
    const s = delivered(d);
    assert.equal(s.regs.rip, HANDLER + 0x800n);
    assert.equal(s.regs.rsp, 0x6ffd0n);
    assert.equal(u64(view, 0x6ffd0), 0n); // #DF error code
    assert.equal(s.sregs.cr2, 0x7fff8n);
    assert.match((d as { note?: string }).note ?? '', /^#PF \(vector 14\) at 0x0: pushing SS at 0x7fff8 page-faulted \(error code 0x2\) → #DF$/);
  });

  it('#GP whose frame page-faults delivers the #PF (contributory then #PF: serially); its frame faults too → #DF', function () {
    const { mem, view } = setup([0x7f000]);
    gate64(view, 13, HANDLER, SEL.code64_0, 0xe);
    gate64(view, 14, HANDLER + 0x400n, SEL.code64_0, 0xe);
    gate64(view, 8, HANDLER + 0x800n, SEL.code64_0, 0xe, 0, 1);
    view.setBigUint64(TSS + 0x24, 0x70000n, true);
    const st = longState();
    st.regs.rsp = 0x80000n;
    const d = deliverEvent(st, { vector: 13, kind: 'fault', errorCode: 0 }, mem);
    assert.equal(delivered(d).regs.rip, HANDLER + 0x800n);
    assert.match((d as { note?: string }).note ?? '', /#PF → #DF/);
  });

  it('a fault while delivering #DF → triple fault', function () {
    const { mem, view } = setup([0x7f000]);
    gate64(view, 14, HANDLER, SEL.code64_0, 0xe);
    gate64(view, 8, HANDLER + 0x800n, SEL.code64_0, 0xe); // no IST: same broken stack
    const st = longState();
    st.regs.rsp = 0x80000n;
    st.regs.rip = 0x100010n;
    const r = deliverEvent(st, { vector: 14, kind: 'fault', errorCode: 0, cr2: 0x4000_0000n }, mem);
    assert.equal(r.kind, 'triple-fault');
    assert.match((r as { message: string }).message, /^#PF \(vector 14\) at 0x100010: pushing .* at 0x7fff8 page-faulted \(error code 0x2\) → #DF → triple fault/);
  });

  it('empty IDT in the monitor\'s long-mode state → triple fault', function () {
    const { mem, view } = ram();
    writeModeTables(view, 'long');
    const st = initialState('long', { kind: 'linear', address: 0x100000 }, resetSRegs()) as CpuState;
    const r = deliverEvent(st, { vector: 3, kind: 'software' }, mem);
    assert.equal(r.kind, 'triple-fault');
    assert.match((r as { message: string }).message, /no entry for vector 3 → #GP → #DF → triple fault/);
  });
});

describe('fault error codes (SDM vol. 3 4.7, 6.13)', function () {
  function setup(notPresent: number[] = [], readOnly: number[] = []): { mem: Uint8Array; view: DataView } {
    const r = ram();
    writeGdt(r.view);
    writeLongTables(r.view, notPresent, readOnly);
    return r;
  }

  it('write to a read-only user page from CPL 3 → P|W|U = 0x7', function () {
    const { mem } = setup([], [0x60000]);
    const st = longState({ cpl: 3 });
    st.regs.rip = 0x40000n;
    st.regs.rbx = 0x60010n;
    st.sregs.cr2 = 0x60010n;
    assert.equal(faultErrorCode(14, st, mem, Uint8Array.from([0x89, 0x03])), 0x7); // mov %eax,(%rbx)
  });

  it('read from a not-present page at CPL 0 → 0x0; a push to one → W = 0x2', function () {
    const { mem } = setup([0x7f000]);
    const st = longState();
    st.regs.rip = 0x40000n;
    st.regs.rbx = 0x7f100n;
    st.sregs.cr2 = 0x7f100n;
    assert.equal(faultErrorCode(14, st, mem, Uint8Array.from([0x8b, 0x03])), 0x0); // mov (%rbx),%eax
    st.regs.rsp = 0x80000n;
    st.sregs.cr2 = 0x7fff8n;
    assert.equal(faultErrorCode(14, st, mem, Uint8Array.from([0x50])), 0x2); // push %rax
  });

  it('fetch from a not-present page: I/D only with EFER.NXE (4.7)', function () {
    const { mem, view } = setup([0x7f000]);
    const st = longState();
    st.regs.rip = 0x7f000n;
    st.sregs.cr2 = 0x7f000n;
    assert.equal(faultErrorCode(14, st, mem, new Uint8Array(0)), 0x0);
    const nx = longState({ nxe: true });
    nx.regs.rip = 0x7f000n;
    assert.equal(faultErrorCode(14, nx, mem, new Uint8Array(0)), 0x10);
    const user = longState({ nxe: true, cpl: 3 });
    user.regs.rip = 0x7f000n;
    assert.equal(faultErrorCode(14, user, mem, new Uint8Array(0)), 0x14);
    // An instruction that starts on a mapped page and continues into the missing one: a fetch fault.
    view.setUint8(0x7efff, 0x8b); // mov (%rbx),%eax, second byte on the next page
    nx.regs.rip = 0x7efffn;
    nx.regs.rbx = 0x1000n;
    assert.equal(faultErrorCode(14, nx, mem, new Uint8Array(0)), 0x10);
  });

  it('#GP from a segment load: the selector with RPL cleared; other #GP: 0; #DF/#AC: 0; no error code: undefined', function () {
    const { mem } = setup();
    const st = protectedState();
    st.regs.rax = 0x2bn;
    assert.equal(faultErrorCode(13, st, mem, Uint8Array.from([0x8e, 0xd8])), 0x28); // mov %ax,%ds
    assert.equal(faultErrorCode(11, st, mem, Uint8Array.from([0xea, 0, 0x10, 0, 0, 0x33, 0])), 0x30); // ljmp $0x33,$0x1000
    assert.equal(faultErrorCode(13, st, mem, Uint8Array.from([0x0f, 0x22, 0xd8])), 0); // mov %eax,%cr3 at CPL 0
    assert.equal(faultErrorCode(8, st, mem, new Uint8Array(0)), 0);
    assert.equal(faultErrorCode(17, st, mem, new Uint8Array(0)), 0);
    assert.equal(faultErrorCode(6, st, mem, Uint8Array.from([0x0f, 0x0b])), undefined);
    assert.equal(faultErrorCode(0, st, mem, new Uint8Array(0)), undefined);
  });

  it('names and kinds (SDM table 6-1)', function () {
    assert.equal(EXCEPTION_NAMES[13], '#GP');
    assert.equal(EXCEPTION_NAMES[21], '#CP');
    assert.equal(exceptionKind(14), 'fault');
    assert.equal(exceptionKind(6), 'fault');
    assert.equal(exceptionKind(3), 'software');
    assert.equal(exceptionKind(8), 'abort');
    assert.equal(exceptionKind(1), 'trap');
    assert.equal(exceptionKind(0x40), 'trap');
  });
});

describe('pageFaultInfo (the faulting address when the CPU\'s CR2 is not trustworthy)', function () {
  it('finds the store\'s address and error code without CR2', function () {
    const mem = new Uint8Array(4 << 20);
    writeLongTables(new DataView(mem.buffer), [0x180000]);
    const st = longState();
    st.regs.rip = 0x40000n;
    st.regs.rbx = 0x180123n;
    st.sregs.cr2 = 0xfffffffffffffffen; // garbage
    // movl %eax,(%rbx): a supervisor write to a not-present page → W = 0x2, CR2 = 0x180123 (SDM 4.7, 6.15 #PF).
    assert.deepEqual(pageFaultInfo(st, mem, Uint8Array.from([0x89, 0x03])), { errorCode: 0x2, address: 0x180123n });
    // A 8-byte store at 0x17fffc crosses into the missing page: the fault is at the page's first byte.
    st.regs.rbx = 0x17fffcn;
    assert.deepEqual(pageFaultInfo(st, mem, Uint8Array.from([0x48, 0x89, 0x03])), { errorCode: 0x2, address: 0x180000n });
  });
});
