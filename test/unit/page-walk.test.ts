// The page walker against hand-built page tables. Every expected translation and #PF error code is
// derived from the Intel SDM vol. 3 chapter 4 (sections cited per test), not from the walker.
import assert from 'node:assert/strict';
import { walk, walkSteps, pagingMode, isCanonical } from '../../debug-adapter/vmm/page-walk';
import { resetSRegs, type SRegs } from '../../debug-adapter/vmm/cpu-state';
import { writeModeTables, initialState } from '../../debug-adapter/vmm/cpu-modes';

const CR0_PE = 1n, CR0_WP = 1n << 16n, CR0_PG = 1n << 31n;
const CR4_PSE = 1n << 4n, CR4_PAE = 1n << 5n;
const EFER_LME = 1n << 8n, EFER_LMA = 1n << 10n, EFER_NXE = 1n << 11n;
const P = 1n, RW = 2n, US = 4n, PS = 0x80n, XD = 1n << 63n;

function ram(size = 4 << 20): { mem: Uint8Array; view: DataView } {
  const mem = new Uint8Array(size);
  return { mem, view: new DataView(mem.buffer) };
}

function sregs(over: Partial<SRegs>): SRegs {
  return { ...resetSRegs(), cr0: CR0_PE, ...over };
}

const phys = (r: ReturnType<typeof walk>): bigint => {
  if (!('physical' in r)) assert.fail(`expected a translation, got error code 0x${r.errorCode.toString(16)}`);
  return r.physical;
};
const code = (r: ReturnType<typeof walk>): number => {
  if (!('fault' in r)) assert.fail(`expected a fault, got physical 0x${r.physical.toString(16)}`);
  return r.errorCode;
};

describe('page walk: paging off and 32-bit paging', function () {
  it('maps linear to physical with CR0.PG = 0, truncated to 32 bits outside long mode', function () {
    const { mem } = ram();
    const s = sregs({});
    assert.equal(pagingMode(s), 'none');
    assert.equal(phys(walk(mem, s, 0x12345n)), 0x12345n);
    assert.equal(phys(walk(mem, s, 0x1_0000_1000n)), 0x1000n);
  });

  // SDM 4.3: CR3[31:12] → PD; PDE = PD + 4*lin[31:22]; PTE = PT + 4*lin[21:12]; phys = PTE[31:12] | lin[11:0].
  const PD = 0x10000, PT = 0x11000;
  function tables32(): { mem: Uint8Array; view: DataView } {
    const r = ram();
    r.view.setUint32(PD + 0 * 4, PT | 0x7, true); // P RW US
    r.view.setUint32(PT + 5 * 4, 0x200000 | 0x7, true); // linear 0x5000 → 0x200000, user RW
    r.view.setUint32(PT + 6 * 4, 0x201000 | 0x5, true); // linear 0x6000 → 0x201000, user read-only
    r.view.setUint32(PT + 7 * 4, 0x202000 | 0x3, true); // linear 0x7000 → 0x202000, supervisor RW
    r.view.setUint32(PD + 1 * 4, 0x00c00000 | 0x83, true); // 4 MiB page: linear 0x400000 → 0xC00000 (with PSE)
    r.view.setUint32(PD + 2 * 4, 0x00c00000 | 0x83 | (0x01 << 13), true); // PSE-36: PDE[20:13] = phys[39:32]
    r.view.setUint32(PD + 3 * 4, 0x00c00000 | 0x83 | (1 << 21), true); // bit 21 reserved (MAXPHYADDR 40)
    return r;
  }
  const s32 = (over: Partial<SRegs> = {}): SRegs => sregs({ cr0: CR0_PE | CR0_PG, cr3: BigInt(PD), ...over });

  it('translates 4 KiB pages (SDM 4.3, figure 4-2)', function () {
    const { mem } = tables32();
    assert.equal(pagingMode(s32()), '32-bit');
    assert.equal(phys(walk(mem, s32(), 0x5123n)), 0x200123n);
    assert.equal(phys(walk(mem, s32(), 0x6fffn, { user: true })), 0x201fffn);
  });

  it('translates 4 MiB pages only with CR4.PSE, with PSE-36 high bits (SDM 4.3, table 4-4)', function () {
    const { mem } = tables32();
    assert.equal(phys(walk(mem, s32({ cr4: CR4_PSE }), 0x412345n)), 0xc12345n);
    assert.equal(phys(walk(mem, s32({ cr4: CR4_PSE }), 0x812345n)), 0x1_00c12345n);
    // Without PSE, PS is ignored and the PDE points to a page table at 0xC00000 (all zero → not present).
    assert.equal(code(walk(mem, s32(), 0x412345n)), 0x0);
    // Bit 21 of a 4 MiB PDE is reserved: P=1, RSVD=1 (SDM 4.7) → 0x9.
    assert.equal(code(walk(mem, s32({ cr4: CR4_PSE }), 0xc00000n)), 0x9);
  });

  it('reports not-present faults with W/R and U/S from the access (SDM 4.7: P=0)', function () {
    const { mem } = tables32();
    assert.equal(code(walk(mem, s32(), 0x8000n)), 0x0); // supervisor read
    assert.equal(code(walk(mem, s32(), 0x8000n, { write: true })), 0x2);
    assert.equal(code(walk(mem, s32(), 0x8000n, { user: true })), 0x4);
    assert.equal(code(walk(mem, s32(), 0x8000n, { user: true, write: true })), 0x6);
    assert.equal(code(walk(mem, s32(), 0x1000000n)), 0x0); // PDE 4 not present
    // 32-bit paging has no I/D bit (only with PAE/4-level and NXE, or SMEP): a fetch → 0x0.
    assert.equal(code(walk(mem, s32({ efer: EFER_NXE }), 0x8000n, { fetch: true })), 0x0);
  });

  it('checks R/W with CR0.WP and U/S (SDM 4.6.1)', function () {
    const { mem } = tables32();
    // Supervisor write to a read-only page: allowed with WP=0, P|W = 0x3 with WP=1.
    assert.equal(phys(walk(mem, s32(), 0x6000n, { write: true })), 0x201000n);
    assert.equal(code(walk(mem, s32({ cr0: CR0_PE | CR0_PG | CR0_WP }), 0x6000n, { write: true })), 0x3);
    // User write to a read-only user page: P|W|U = 0x7 whatever WP.
    assert.equal(code(walk(mem, s32(), 0x6000n, { write: true, user: true })), 0x7);
    // User read of a supervisor page: P|U = 0x5.
    assert.equal(code(walk(mem, s32(), 0x7000n, { user: true })), 0x5);
  });

  it('treats paging-structure entries outside guest RAM as not present', function () {
    const { mem } = ram(1 << 20);
    assert.equal(code(walk(mem, sregs({ cr0: CR0_PE | CR0_PG, cr3: 0x200000n }), 0x1000n)), 0x0);
  });
});

describe('page walk: PAE', function () {
  // SDM 4.4: CR3[31:5] → 4 PDPTEs; PDE = PD + 8*lin[29:21]; PTE = PT + 8*lin[20:12].
  const PDPT = 0x10020, PD = 0x11000, PT = 0x12000;
  function tables(): Uint8Array {
    const { mem, view } = ram();
    view.setBigUint64(PDPT, BigInt(PD) | P, true);
    view.setBigUint64(PD + 0 * 8, BigInt(PT) | P | RW | US, true);
    view.setBigUint64(PD + 1 * 8, 0x600000n | P | RW | PS, true); // 2 MiB: linear 0x200000 → 0x600000
    view.setBigUint64(PT + 1 * 8, 0x300000n | P | RW | US, true);
    view.setBigUint64(PT + 2 * 8, 0x301000n | P | RW | US | XD, true);
    view.setBigUint64(PT + 3 * 8, 0x1_0000_0000_0000n | P | RW, true); // bit 48 ≥ MAXPHYADDR: reserved
    return mem;
  }
  const pae = (over: Partial<SRegs> = {}): SRegs => sregs({ cr0: CR0_PE | CR0_PG, cr3: BigInt(PDPT), cr4: CR4_PAE, ...over });

  it('translates 4 KiB and 2 MiB pages', function () {
    const mem = tables();
    assert.equal(pagingMode(pae()), 'pae');
    assert.equal(phys(walk(mem, pae(), 0x1abcn)), 0x300abcn);
    assert.equal(phys(walk(mem, pae(), 0x2fedcbn)), 0x6fedcbn);
  });

  it('execute-disable: fetch with NXE → P|I/D = 0x11; XD with NXE=0 is reserved → P|RSVD = 0x9 (SDM 4.4.2, 4.7)', function () {
    const mem = tables();
    assert.equal(code(walk(mem, pae({ efer: EFER_NXE }), 0x2000n, { fetch: true })), 0x11);
    assert.equal(phys(walk(mem, pae({ efer: EFER_NXE }), 0x2000n)), 0x301000n);
    assert.equal(code(walk(mem, pae(), 0x2000n)), 0x9);
    // Physical-address bits above MAXPHYADDR are reserved.
    assert.equal(code(walk(mem, pae(), 0x3000n, { write: true })), 0xb);
  });
});

describe('page walk: 4-level paging', function () {
  // SDM 4.5: PML4E = CR3 + 8*lin[47:39]; PDPTE = +8*lin[38:30]; PDE = +8*lin[29:21]; PTE = +8*lin[20:12].
  const PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
  function tables(): { mem: Uint8Array; view: DataView } {
    const r = ram();
    const { view } = r;
    view.setBigUint64(PML4, BigInt(PDPT) | P | RW | US, true);
    view.setBigUint64(PML4 + 8, 0x14000n | P | RW | PS, true); // PS in a PML4E is reserved
    view.setBigUint64(PDPT + 0 * 8, BigInt(PD) | P | RW | US, true);
    view.setBigUint64(PDPT + 1 * 8, 0x40000000n | P | RW | PS, true); // 1 GiB page at 1 GiB
    view.setBigUint64(PDPT + 2 * 8, 0x40000000n | P | RW | PS | 0x2000n, true); // bit 13 of a 1 GiB PDPTE: reserved
    view.setBigUint64(PD + 0 * 8, BigInt(PT) | P | RW | US, true);
    view.setBigUint64(PD + 1 * 8, 0x200000n | P | RW | PS, true); // 2 MiB, supervisor
    view.setBigUint64(PT + 0x10 * 8, 0x150000n | P | US, true); // read-only user page
    view.setBigUint64(PT + 0x11 * 8, 0x151000n | P | RW | US | XD, true);
    return r;
  }
  const lm = (over: Partial<SRegs> = {}): SRegs =>
    sregs({ cr0: CR0_PE | CR0_PG, cr3: BigInt(PML4), cr4: CR4_PAE, efer: EFER_LME | EFER_LMA, ...over });

  it('translates 1 GiB, 2 MiB and 4 KiB pages', function () {
    const { mem } = tables();
    assert.equal(pagingMode(lm()), '4-level');
    assert.equal(phys(walk(mem, lm(), 0x7654_3210n)), 0x7654_3210n); // 1 GiB page: 0x40000000 + 0x36543210
    assert.equal(phys(walk(mem, lm(), 0x2a_bcden)), 0x2a_bcden);
    assert.equal(phys(walk(mem, lm(), 0x10_123n)), 0x150_123n);
    const ex = walkSteps(mem, lm(), 0x10_123n);
    assert.deepEqual(ex.steps.map((st) => [st.level, st.entryAddress]), [
      ['PML4E', BigInt(PML4)], ['PDPTE', BigInt(PDPT)], ['PDE', BigInt(PD)], ['PTE', BigInt(PT + 0x10 * 8)],
    ]);
  });

  it('reports reserved bits (SDM 4.5.4 tables 4-15…4-20): PS in a PML4E, 1 GiB bits 29:13 → P|RSVD', function () {
    const { mem } = tables();
    assert.equal(code(walk(mem, lm(), 0x80_0000_0000n)), 0x9); // PML4E 1 has PS
    assert.equal(code(walk(mem, lm(), 0x8000_0000n, { write: true })), 0xb);
  });

  it('user write to a read-only user page from CPL 3 → P|W|U = 0x7; user access to a supervisor page → 0x5', function () {
    const { mem } = tables();
    assert.equal(code(walk(mem, lm(), 0x10_000n, { write: true, user: true })), 0x7);
    assert.equal(code(walk(mem, lm(), 0x20_0000n, { user: true })), 0x5);
  });

  it('fetch faults: I/D only with NXE (SDM 4.7)', function () {
    const { mem } = tables();
    assert.equal(code(walk(mem, lm({ efer: EFER_LME | EFER_LMA | EFER_NXE }), 0x11_000n, { fetch: true })), 0x11);
    assert.equal(code(walk(mem, lm({ efer: EFER_LME | EFER_LMA | EFER_NXE }), 0x12_000n, { fetch: true })), 0x10); // not present
    assert.equal(code(walk(mem, lm(), 0x12_000n, { fetch: true })), 0x0);
    assert.equal(code(walk(mem, lm(), 0x11_000n, { fetch: true, user: true })), 0xd); // XD with NXE=0 reserved: P|U|RSVD
  });

  it('walks the monitor\'s own long-mode identity map', function () {
    const { mem, view } = ram();
    writeModeTables(view, 'long');
    const st = initialState('long', { kind: 'linear', address: 0x100000 }, resetSRegs());
    assert.equal(phys(walk(mem, st.sregs as SRegs, 0x100000n)), 0x100000n);
    assert.equal(phys(walk(mem, st.sregs as SRegs, 0xfee0_0000n, { write: true })), 0xfee0_0000n);
    assert.equal(code(walk(mem, st.sregs as SRegs, 0x1_0000_0000n)), 0x0); // only 4 GiB mapped
  });

  it('canonical addresses', function () {
    assert.ok(isCanonical(0x7fff_ffff_ffffn));
    assert.ok(isCanonical(0xffff_8000_0000_0000n));
    assert.ok(!isCanonical(0x8000_0000_0000n));
  });
});
