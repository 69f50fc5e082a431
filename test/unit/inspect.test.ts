// The pure inspection helpers behind the debug session: register aliasing, decoders for flags,
// control registers, segments, descriptors and page walks, and the expression language.
import assert from 'node:assert/strict';
import type { Regs, Segment, SRegs } from '../../debug-adapter/vmm/cpu-state';
import {
  isRegisterName, readRegister, registersForBitness, REGISTER_NAMES, resolveRegister, writeRegister,
} from '../../debug-adapter/inspect/register-names';
import {
  decodeCr0, decodeCr3, decodeCr4, decodeDescriptor, decodeEfer, decodeRflags, decodeSegment,
  decodeSystemDescriptor64, explainWalk, summarizeFlags, walkPages,
} from '../../debug-adapter/inspect/decode';
import {
  createEvalContext, evaluate, evaluateCondition, EvalContext, ExpressionError, formatValue, interpolate, parseExpression,
} from '../../debug-adapter/inspect/expression';

function makeRegs(over: Partial<Regs> = {}): Regs {
  return {
    rax: 0n, rbx: 0n, rcx: 0n, rdx: 0n, rsi: 0n, rdi: 0n, rsp: 0n, rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: 0n, rflags: 2n, ...over,
  };
}

function seg(over: Partial<Segment> = {}): Segment {
  return { base: 0n, limit: 0xffffffff, selector: 0x10, type: 0x3, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0, ...over };
}

function makeSRegs(over: Partial<SRegs> = {}): SRegs {
  return {
    cs: seg({ selector: 0x18, type: 0xb, l: 1, db: 0 }), ds: seg(), es: seg(), fs: seg({ base: 0x7000n }), gs: seg(), ss: seg(),
    tr: seg({ selector: 0x20, base: 0x90100n, limit: 0x67, type: 0xb, s: 0, db: 0, g: 0 }),
    ldt: seg({ selector: 0, type: 0x2, s: 0, unusable: 1 }),
    gdt: { base: 0x90000n, limit: 0x2f }, idt: { base: 0n, limit: 0 },
    cr0: 0x80000011n, cr2: 0n, cr3: 0x91000n, cr4: 0x620n, cr8: 0n, efer: 0x500n, apic_base: 0xfee00900n, ...over,
  };
}

describe('register names', function () {
  const regs = makeRegs({ rax: 0x1122334455667788n, r8: 0xdeadbeefcafebaben, rsi: 0x1234n, rsp: 0xa0000n, rflags: 0x246n, rip: 0x100000n });
  const sregs = makeSRegs();

  it('resolves every spelling, with or without %, in any case', function () {
    assert.deepEqual(resolveRegister('%R8D'), { name: 'r8d', storage: 'r8', shift: 0, bits: 32 });
    assert.deepEqual(resolveRegister('ah'), { name: 'ah', storage: 'rax', shift: 8, bits: 8 });
    assert.deepEqual(resolveRegister('%spl'), { name: 'spl', storage: 'rsp', shift: 0, bits: 8 });
    assert.deepEqual(resolveRegister('r15l'), { name: 'r15l', storage: 'r15', shift: 0, bits: 8 });
    assert.deepEqual(resolveRegister('EFLAGS'), { name: 'eflags', storage: 'rflags', shift: 0, bits: 32 });
    assert.deepEqual(resolveRegister('ip'), { name: 'ip', storage: 'rip', shift: 0, bits: 16 });
    assert.deepEqual(resolveRegister('%cs'), { name: 'cs', storage: 'cs', field: 'selector', shift: 0, bits: 16 });
    assert.deepEqual(resolveRegister('fs_base'), { name: 'fs.base', storage: 'fs', field: 'base', shift: 0, bits: 64 });
    assert.deepEqual(resolveRegister('CR3'), { name: 'cr3', storage: 'cr3', shift: 0, bits: 64 });
    assert.equal(resolveRegister('foo'), undefined);
    assert.equal(resolveRegister('r16'), undefined);
    for (const n of ['rax', 'eax', 'ax', 'al', 'ah', 'sil', 'dil', 'bpl', 'r8b', 'r8l', 'r15w', 'r9d', 'eip', 'flags', 'ss', 'efer', 'cr8', 'gdtr.base'])
      assert.ok(isRegisterName(n), n);
    assert.ok(REGISTER_NAMES.includes('r12d') && REGISTER_NAMES.includes('cs.base'));
  });

  it('reads sub-registers out of their 64-bit storage', function () {
    const r = (n: string): bigint | undefined => readRegister(n, regs, sregs);
    assert.equal(r('rax'), 0x1122334455667788n);
    assert.equal(r('%eax'), 0x55667788n);
    assert.equal(r('AX'), 0x7788n);
    assert.equal(r('al'), 0x88n);
    assert.equal(r('ah'), 0x77n);
    assert.equal(r('r8d'), 0xcafebaben);
    assert.equal(r('r8w'), 0xbaben);
    assert.equal(r('r8b'), 0xben);
    assert.equal(r('r8l'), 0xben);
    assert.equal(r('sil'), 0x34n);
    assert.equal(r('si'), 0x1234n);
    assert.equal(r('sp'), 0x0000n);
    assert.equal(r('esp'), 0xa0000n);
    assert.equal(r('flags'), 0x246n);
    assert.equal(r('eip'), 0x100000n);
    assert.equal(r('cs'), 0x18n);
    assert.equal(r('fs.base'), 0x7000n);
    assert.equal(r('tr.limit'), 0x67n);
    assert.equal(r('cs.l'), 1n);
    assert.equal(r('cr0'), 0x80000011n);
    assert.equal(r('%efer'), 0x500n);
    assert.equal(r('gdtr.base'), 0x90000n);
    assert.equal(r('idt.limit'), 0n);
    assert.equal(r('nope'), undefined);
    assert.equal(readRegister('cr3', regs), undefined, 'no sregs snapshot');
    assert.equal(readRegister('ebx', regs), 0n);
  });

  it('writes sub-registers into copies: only their bits, except 32-bit writes which zero-extend', function () {
    const w = (n: string, v: bigint) => writeRegister(n, v, regs, sregs);
    assert.equal(w('ah', 0xffn).regs.rax, 0x112233445566ff88n);
    assert.equal(w('al', 0x1ffn).regs.rax, 0x11223344556677ffn, 'truncated to 8 bits');
    assert.equal(w('ax', 0xabcdn).regs.rax, 0x112233445566abcdn);
    assert.equal(w('eax', 1n).regs.rax, 1n);
    assert.equal(w('%RAX', -1n).regs.rax, 0xffffffffffffffffn);
    assert.equal(w('r8b', 1n).regs.r8, 0xdeadbeefcafeba01n);
    assert.equal(w('r8l', 2n).regs.r8, 0xdeadbeefcafeba02n);
    assert.equal(w('r8w', 0x1111n).regs.r8, 0xdeadbeefcafe1111n);
    assert.equal(w('r8d', 0x12345678n).regs.r8, 0x12345678n);
    assert.equal(w('spl', 0x55n).regs.rsp, 0xa0055n);
    assert.equal(w('eflags', 0x202n).regs.rflags, 0x202n);
    assert.equal(regs.rax, 0x1122334455667788n, 'input untouched');
    assert.equal(regs.r8, 0xdeadbeefcafebaben);

    const cr = w('cr4', 0x20n);
    assert.equal(cr.sregs.cr4, 0x20n);
    assert.equal(sregs.cr4, 0x620n, 'input sregs untouched');
    assert.equal(cr.regs, regs);
    const fs = w('fs.base', 0x1234n);
    assert.equal(fs.sregs.fs.base, 0x1234n);
    assert.equal(sregs.fs.base, 0x7000n);
    assert.equal(w('cs.dpl', 3n).sregs.cs.dpl, 3);
    assert.equal(w('gdtr.limit', 0x37n).sregs.gdt.limit, 0x37);
    // Protected mode: only the selector; real mode: the base follows the selector.
    assert.deepEqual([w('ds', 0x28n).sregs.ds.selector, w('ds', 0x28n).sregs.ds.base], [0x28, 0n]);
    const real = writeRegister('ds', 0x1234n, regs, makeSRegs({ cr0: 0x10n }));
    assert.deepEqual([real.sregs.ds.selector, real.sregs.ds.base], [0x1234, 0x12340n]);
    assert.throws(() => w('foo', 1n), /unknown register 'foo'/);
    assert.throws(() => writeRegister('cr0', 1n, regs), /no special registers/);
  });

  it('lists the general registers of each code size', function () {
    assert.deepEqual(registersForBitness(16), ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'sp', 'bp', 'ip', 'flags']);
    assert.deepEqual(registersForBitness(32), ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'esp', 'ebp', 'eip', 'eflags']);
    assert.deepEqual(registersForBitness(64), [
      'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags',
    ]);
  });
});

describe('flag and control register decoders', function () {
  const set = (fields: { name: string; value: string }[]): string[] => fields.filter((f) => f.value !== '0').map((f) => f.name);

  it('decodes RFLAGS', function () {
    const f = decodeRflags(0x246n);
    assert.deepEqual(set(f), ['PF', 'ZF', 'IF']);
    assert.equal(summarizeFlags(f), 'PF ZF IF');
    assert.deepEqual(f.map((x) => x.name), ['CF', 'PF', 'AF', 'ZF', 'SF', 'TF', 'IF', 'DF', 'OF', 'IOPL', 'NT', 'RF', 'VM', 'AC', 'VIF', 'VIP', 'ID']);
    assert.match(f.find((x) => x.name === 'ZF')!.description, /zero/);
    assert.equal(summarizeFlags(decodeRflags(0x3a93n)), 'CF AF SF IF OF IOPL=3');
    assert.equal(summarizeFlags(decodeRflags(0x270000n | 0x2n)), 'RF VM AC ID');
    assert.ok(f.every((x) => x.description.length > 0));
  });

  it('decodes CR0, CR4, EFER and CR3', function () {
    assert.equal(summarizeFlags(decodeCr0(0x80000011n)), 'PE ET PG');
    assert.equal(summarizeFlags(decodeCr0(0x60050033n)), 'PE MP ET NE WP AM NW CD');
    assert.equal(decodeCr0(0n).length, 11);
    assert.equal(summarizeFlags(decodeCr4(0x620n)), 'PAE OSFXSR OSXMMEXCPT');
    assert.equal(summarizeFlags(decodeCr4(0xf77fffn)), 'VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT UMIP LA57 VMXE SMXE FSGSBASE PCIDE OSXSAVE SMEP SMAP PKE CET');
    assert.equal(summarizeFlags(decodeEfer(0x500n)), 'LME LMA');
    assert.equal(summarizeFlags(decodeEfer(0xfd01n)), 'SCE LME LMA NXE SVME LMSLE FFXSR TCE');
    assert.deepEqual(decodeCr3(0x91018n).map((f) => [f.name, f.value]), [['base', '0x91000'], ['PWT', '1'], ['PCD', '1']]);
    assert.deepEqual(decodeCr3(0x91005n, 1n << 17n).map((f) => [f.name, f.value]), [['base', '0x91000'], ['PCID', '5']]);
  });
});

describe('segment and descriptor decoders', function () {
  it('decodes KVM segment registers', function () {
    const cs = decodeSegment(seg({ selector: 0x18, type: 0xb, l: 1, db: 0 }));
    assert.equal(cs.kind, 'code');
    assert.equal(cs.bitness, 64);
    assert.equal(cs.typeName, 'code, execute/read, accessed');
    assert.equal(cs.summary, 'code 64-bit DPL0 present base 0x0 limit 0xffffffff');
    assert.equal(cs.fields.find((f) => f.name === 'selector')!.description, 'index 3, GDT, RPL 0');
    const ds = decodeSegment(seg({ selector: 0x2f, type: 0x7, dpl: 3 }));
    assert.equal(ds.typeName, 'data, read/write, expand-down, accessed');
    assert.equal(ds.summary, 'data 32-bit DPL3 present base 0x0 limit 0xffffffff');
    assert.equal(ds.fields[0].description, 'index 5, LDT, RPL 3');
    const real = decodeSegment(seg({ selector: 0xf000, base: 0xf0000n, limit: 0xffff, type: 0xb, db: 0, g: 0 }));
    assert.equal(real.summary, 'code 16-bit DPL0 present base 0xf0000 limit 0xffff');
    assert.equal(decodeSegment(seg({ type: 0xc, db: 1 })).typeName, 'code, execute-only, conforming');
    assert.equal(decodeSegment(seg({ type: 0x0, present: 0 })).summary, 'data 32-bit DPL0 not present base 0x0 limit 0xffffffff');
    const tr = seg({ selector: 0x20, base: 0x90100n, limit: 0x67, type: 0xb, s: 0, db: 0, g: 0 });
    assert.equal(decodeSegment(tr, { longMode: true }).summary, '64-bit TSS (busy) DPL0 present base 0x90100 limit 0x67');
    assert.equal(decodeSegment(tr).summary, '32-bit TSS (busy) DPL0 present base 0x90100 limit 0x67');
    assert.equal(decodeSegment(tr).kind, 'system');
    assert.equal(decodeSegment(seg({ selector: 0, unusable: 1 })).summary, 'unusable (selector 0x0)');
  });

  it('decodes raw 8-byte GDT descriptors', function () {
    const c64 = decodeDescriptor(0x00af9b000000ffffn);
    assert.equal(c64.summary, 'code 64-bit DPL0 present base 0x0 limit 0xfffff (4 KiB units)');
    assert.deepEqual(
      [c64.base, c64.limit, c64.effectiveLimit, c64.type, c64.s, c64.dpl, c64.present, c64.avl, c64.l, c64.db, c64.g],
      [0n, 0xfffff, 0xffffffff, 0xb, 1, 0, 1, 0, 1, 0, 1],
    );
    assert.equal(c64.typeName, 'code, execute/read, accessed');
    const c32 = decodeDescriptor(0x00cf9b000000ffffn);
    assert.equal(c32.summary, 'code 32-bit DPL0 present base 0x0 limit 0xfffff (4 KiB units)');
    const d = decodeDescriptor(0x00cff3000000ffffn);
    assert.equal(d.summary, 'data 32-bit DPL3 present base 0x0 limit 0xfffff (4 KiB units)');
    assert.equal(d.typeName, 'data, read/write, accessed');
    // Base and limit split across the descriptor: base 0x12345678, byte-granular limit 0x5432.
    const split = decodeDescriptor(0x12409a345678_5432n);
    assert.deepEqual([split.base, split.limit, split.effectiveLimit, split.g, split.db], [0x12345678n, 0x5432, 0x5432, 0, 1]);
    assert.equal(split.summary, 'code 32-bit DPL0 present base 0x12345678 limit 0x5432 (bytes)');
    const tss = decodeDescriptor(0x00008b0901000067n);
    assert.equal(tss.summary, '32-bit TSS (busy) DPL0 present base 0x90100 limit 0x67 (bytes)');
    assert.equal(decodeDescriptor(0x0000820000000000n).typeName, 'LDT');
    assert.equal(decodeDescriptor(0n).summary, 'reserved system type 0x0 DPL0 not present base 0x0 limit 0x0 (bytes)');
    // A 32-bit interrupt gate to 0x08:0x00101234.
    const gate = decodeDescriptor(0x00108e0000081234n);
    assert.equal(gate.summary, '32-bit interrupt gate → 0x8:0x101234 DPL0 present');
    assert.deepEqual([gate.selector, gate.offset], [8, 0x101234n]);
  });

  it('decodes 16-byte long-mode system descriptors', function () {
    const tss = decodeSystemDescriptor64(0x00008b0901000067n, 0x1n);
    assert.equal(tss.summary, '64-bit TSS (busy) DPL0 present base 0x100090100 limit 0x67 (bytes)');
    assert.equal(tss.base, 0x100090100n);
    const avail = decodeSystemDescriptor64(0x0000890901000067n, 0n);
    assert.equal(avail.typeName, '64-bit TSS (available)');
    const gate = decodeSystemDescriptor64(0x80108e0100181234n, 0xffffffffn);
    assert.equal(gate.summary, '64-bit interrupt gate → 0x18:0xffffffff80101234 DPL0 present');
    assert.equal(gate.fields.find((f) => f.name === 'IST')!.value, '1');
    assert.equal(decodeSystemDescriptor64(0x0000ef0000081000n, 0n).summary, '64-bit trap gate → 0x8:0x1000 DPL3 present');
  });
});

describe('page walks', function () {
  // 2 MiB of fake physical memory; reads beyond it fail like unmapped guest RAM.
  const mem = Buffer.alloc(0x200000);
  const r64 = (a: bigint): bigint | undefined => (a + 8n <= BigInt(mem.length) ? mem.readBigUInt64LE(Number(a)) : undefined);
  const r32 = (a: bigint): bigint | undefined => (a + 4n <= BigInt(mem.length) ? BigInt(mem.readUInt32LE(Number(a))) : undefined);
  const put64 = (a: number, v: bigint): void => void mem.writeBigUInt64LE(v, a);
  const put32 = (a: number, v: number): void => void mem.writeUInt32LE(v >>> 0, a);
  const NX = 1n << 63n;
  const CR0 = 0x80000011n;
  const long = (linear: bigint, efer = 0x500n) => walkPages(0x1000n, 0x20n, efer, CR0, linear, r64, r32);

  before(function () {
    // Long mode: PML4 0x1000, PDPT 0x2000, PD 0x3000 (2 MiB pages); a second chain for 4 KiB pages.
    put64(0x1000, 0x2003n);
    put64(0x2000, 0x3003n);
    put64(0x3000 + 2 * 8, 0x1200000n | 0x83n);
    put64(0x3000 + 3 * 8, 0x1200000n | 0x83n | (1n << 13n)); // reserved bit in a 2 MiB entry
    put64(0x3000 + 4 * 8, 0x1400000n | 0x83n | NX);
    put64(0x2000 + 1 * 8, 0x80000000n | 0x83n); // 1 GiB page
    put64(0x2000 + 2 * 8, 0x3fff000n | 0x3n); // next table outside memory
    put64(0x1000 + 5 * 8, 0x4000n | 0x7n);
    put64(0x4000 + 3 * 8, 0x5000n | 0x3n);
    put64(0x5000 + 7 * 8, 0x6000n | 0x23n);
    put64(0x6000 + 9 * 8, 0x1234000n | 0x63n | NX);
    put64(0x6000 + 10 * 8, 0n);
    // 32-bit paging: PD at 0x10000.
    put32(0x10000 + 1 * 4, 0x00c00083);
    put32(0x10000 + 2 * 4, 0x00400083 | (1 << 13)); // PSE-36: physical bit 32
    put32(0x10000 + 3 * 4, 0x7000 | 0x7);
    put32(0x7000 + 5 * 4, 0x00abc000 | 0x23);
    // PAE: PDPT at 0x11020 (32-byte aligned), PD at 0x12000, PT at 0x13000.
    put64(0x11020 + 2 * 8, 0x12000n | 0x1n);
    put64(0x11020 + 3 * 8, 0x12000n | 0x3n); // RW is reserved in a PAE PDPTE
    put64(0x12000 + 1 * 8, 0x600000n | 0x83n);
    put64(0x12000 + 3 * 8, 0x13000n | 0x3n);
    put64(0x13000 + 4 * 8, 0x12345000n | 0x3n | NX);
  });

  it('walks 4-level paging to a 2 MiB page', function () {
    const w = long(0x401234n);
    assert.equal(w.mode, '4-level');
    assert.equal(w.fault, undefined);
    assert.equal(w.physical, 0x1201234n);
    assert.equal(w.pageSize, 0x200000n);
    assert.deepEqual(
      w.steps.map((s) => [s.level, s.index, s.entryAddress, s.entry, s.flags.join(' '), s.leaf, s.next]),
      [
        ['PML4', 0, 0x1000n, 0x2003n, 'P RW', false, 0x2000n],
        ['PDPT', 0, 0x2000n, 0x3003n, 'P RW', false, 0x3000n],
        ['PD', 2, 0x3010n, 0x1200083n, 'P RW PS', true, 0x1200000n],
      ],
    );
    assert.deepEqual(w.access, { writable: true, user: false, executable: true });
    assert.deepEqual(explainWalk(w), [
      '4-level paging, linear 0x401234',
      'PML4[0] @0x1000 = 0x2003 P RW → table 0x2000',
      'PDPT[0] @0x2000 = 0x3003 P RW → table 0x3000',
      'PD[2] @0x3010 = 0x1200083 P RW PS → 2 MiB page 0x1200000',
      'physical 0x1201234 (writable, supervisor)',
    ]);
  });

  it('walks 4-level paging to a 4 KiB page with NX', function () {
    const linear = (5n << 39n) | (3n << 30n) | (7n << 21n) | (9n << 12n) | 0xabcn;
    const w = long(linear, 0xd00n);
    assert.equal(w.physical, 0x1234abcn);
    assert.equal(w.pageSize, 4096n);
    assert.deepEqual(w.steps.map((s) => [s.level, s.index]), [['PML4', 5], ['PDPT', 3], ['PD', 7], ['PT', 9]]);
    assert.deepEqual(w.steps.map((s) => s.flags.join(' ')), ['P RW US', 'P RW', 'P RW A', 'P RW A D NX']);
    assert.deepEqual(w.access, { writable: true, user: false, executable: false });
    assert.equal(w.steps[3].entryAddress, 0x6048n);
    // Without EFER.NXE bit 63 is reserved.
    assert.match(long(linear).fault!, /PT entry 9 has reserved bits set \(0x8000000000000000\)/);
    assert.equal(long(0x800000n).fault, 'PD entry 4 has reserved bits set (0x8000000000000000)');
    assert.equal(long(0x800000n, 0xd00n).physical, 0x1400000n);
  });

  it('walks to a 1 GiB page', function () {
    const w = long(0x40012345n);
    assert.equal(w.physical, 0x80012345n);
    assert.equal(w.pageSize, 1n << 30n);
    assert.deepEqual(w.steps.map((s) => [s.level, s.flags.join(' '), s.leaf]), [['PML4', 'P RW', false], ['PDPT', 'P RW PS', true]]);
    assert.match(explainWalk(w)[2], /1 GiB page 0x80000000$/);
  });

  it('stops at not-present, reserved, unreadable and non-canonical', function () {
    const np = long(1n << 39n);
    assert.equal(np.fault, 'PML4 entry 1 is not present');
    assert.equal(np.physical, undefined);
    assert.deepEqual(np.steps.map((s) => [s.level, s.entry]), [['PML4', 0n]]);
    assert.equal(explainWalk(np).at(-1), 'stop: PML4 entry 1 is not present');
    const linear = (5n << 39n) | (3n << 30n) | (7n << 21n) | (10n << 12n);
    assert.equal(long(linear, 0xd00n).fault, 'PT entry 10 is not present');
    assert.equal(long(0x600000n).fault, 'PD entry 3 has reserved bits set (0x2000)');
    assert.equal(long(0x80000000n).fault, 'cannot read the PD entry at 0x3fff000: not in guest memory');
    assert.match(long(0x0000800000000000n).fault!, /0x800000000000 is not canonical/);
    assert.equal(long(0xffff800000000000n).fault, 'PML4 entry 256 is not present', 'canonical high half walks');
    assert.match(walkPages(0x1000n, 0x20n, 0x500n, CR0, 0x401234n, r64, r32, { maxPhyAddr: 24 }).fault!, /PD entry 2 has reserved bits set \(0x1000000\)/);
  });

  it('walks 5-level paging with CR4.LA57, where a PML4 entry cannot map a page', function () {
    const w = walkPages(0x1000n, 0x1020n, 0x500n, CR0, 1n << 39n, r64, r32);
    assert.equal(w.mode, '5-level');
    assert.deepEqual(w.steps.map((s) => [s.level, s.index, s.entryAddress]), [['PML5', 0, 0x1000n], ['PML4', 1, 0x2008n]]);
    assert.equal(w.fault, 'PML4 entry 1 has reserved bits set (0x80)');
    assert.equal(walkPages(0x1000n, 0x1020n, 0x500n, CR0, 0x0000800000000000n, r64, r32).fault, 'PML4 entry 256 is not present', 'canonical with 57 bits');
    assert.match(walkPages(0x1000n, 0x1020n, 0x500n, CR0, 0x0100000000000000n, r64, r32).fault!, /not canonical: bits 63:56/);
  });

  it('walks 32-bit paging with 4 MiB (PSE, PSE-36) and 4 KiB pages', function () {
    const w = walkPages(0x10000n, 0x10n, 0n, CR0, 0x412345n, r64, r32);
    assert.equal(w.mode, '32-bit');
    assert.equal(w.physical, 0xc12345n);
    assert.equal(w.pageSize, 0x400000n);
    assert.deepEqual(w.steps.map((s) => [s.level, s.index, s.entryAddress, s.entry, s.flags.join(' ')]), [['PD', 1, 0x10004n, 0xc00083n, 'P RW PS']]);
    assert.equal(walkPages(0x10000n, 0x10n, 0n, CR0, 0x812345n, r64, r32).physical, 0x100412345n);
    const small = walkPages(0x10000n, 0x10n, 0n, CR0, 0xc05042n, r64, r32);
    assert.equal(small.physical, 0xabc042n);
    assert.deepEqual(small.steps.map((s) => [s.level, s.index, s.entryAddress, s.flags.join(' ')]), [['PD', 3, 0x1000cn, 'P RW US'], ['PT', 5, 0x7014n, 'P RW A']]);
    assert.deepEqual(small.access, { writable: true, user: false, executable: true }, 'the PTE lacks US');
    // Without CR4.PSE the PS bit is ignored: entry 1 points at a page table (outside memory).
    assert.equal(walkPages(0x10000n, 0n, 0n, CR0, 0x412345n, r64, r32).fault, 'cannot read the PT entry at 0xc00048: not in guest memory');
    assert.equal(walkPages(0x10000n, 0x10n, 0n, CR0, 0x1412345n, r64, r32).fault, 'PD entry 5 is not present');
  });

  it('walks PAE paging', function () {
    const big = walkPages(0x11020n, 0x20n, 0n, CR0, 0x80201234n, r64, r32);
    assert.equal(big.mode, 'PAE');
    assert.equal(big.physical, 0x601234n);
    assert.deepEqual(big.steps.map((s) => [s.level, s.index, s.entryAddress]), [['PDPT', 2, 0x11030n], ['PD', 1, 0x12008n]]);
    const small = walkPages(0x11020n, 0x20n, 0x800n, CR0, 0x80604567n, r64, r32);
    assert.equal(small.physical, 0x12345567n);
    assert.deepEqual(small.steps.map((s) => s.level), ['PDPT', 'PD', 'PT']);
    assert.equal(small.access!.executable, false);
    assert.equal(walkPages(0x11020n, 0x20n, 0n, CR0, 0xc0000000n, r64, r32).fault, 'PDPT entry 3 has reserved bits set (0x2)');
    assert.equal(walkPages(0x11020n, 0x20n, 0n, CR0, 0x1000n, r64, r32).fault, 'PDPT entry 0 is not present');
  });

  it('is the identity with paging off', function () {
    const w = walkPages(0n, 0n, 0n, 0x11n, 0xb8000n, r64, r32);
    assert.deepEqual([w.mode, w.physical, w.steps.length], ['none', 0xb8000n, 0]);
    assert.deepEqual(explainWalk(w), ['paging disabled: linear 0xb8000 is physical']);
  });
});

describe('expressions', function () {
  // Guest memory: 64 KiB at 0; beyond it nothing is mapped.
  const mem = Buffer.alloc(0x10000);
  mem.writeUInt32LE(0xdeadbeef, 0x400);
  mem.writeBigUInt64LE(0x400n, 0x1000);
  mem.writeBigUInt64LE(0x1122334455667788n, 0x1008);
  mem.writeBigUInt64LE(0xcafen, 0x1ff8);
  mem.write('hello\0', 0x500, 'latin1');
  const readMemory = (a: bigint, size: number): Uint8Array | undefined =>
    a + BigInt(size) <= BigInt(mem.length) ? new Uint8Array(mem.subarray(Number(a), Number(a) + size)) : undefined;
  const regs = makeRegs({ rax: 0x1000n, rbx: 2n, rcx: 42n, rsp: 0x1000n, rbp: 0x2000n, rip: 0x3f0n, r8: 0xffffffffn, rflags: 0x246n });
  const symbols = { table: 0x10n, counter: 0x400n, 'main.loop': 0x1234n };
  const ctx = (over: { bitness?: 16 | 32 | 64; regs?: Partial<Regs>; sregs?: SRegs | null } = {}): EvalContext =>
    createEvalContext({
      bitness: over.bitness ?? 64,
      regs: { ...regs, ...over.regs },
      sregs: over.sregs === null ? undefined : (over.sregs ?? makeSRegs()),
      symbols,
      readMemory,
    });
  const ev = (text: string, c = ctx()): bigint => evaluate(text, c).value;
  const err = (text: string, c = ctx()): ExpressionError => {
    try {
      evaluate(text, c);
    } catch (e) {
      assert.ok(e instanceof ExpressionError, `${text}: ${String(e)}`);
      return e;
    }
    assert.fail(`no error for ${text}`);
  };
  const MAX = 0xffffffffffffffffn;

  it('reads numbers in every notation', function () {
    assert.equal(ev('0x1F'), 31n);
    assert.equal(ev('0b101'), 5n);
    assert.equal(ev('0o17'), 15n);
    assert.equal(ev('017'), 17n, 'a leading zero is still decimal');
    assert.equal(ev('0fh'), 15n);
    assert.equal(ev('1Fh'), 31n);
    assert.equal(ev('0bh'), 11n);
    assert.equal(ev('0xffff_ffff'), 0xffffffffn);
    assert.equal(ev("'a'"), 97n);
    assert.equal(ev("'\\n'"), 10n);
    assert.equal(ev("'\\x41'"), 0x41n);
    assert.equal(ev("'\\''"), 39n);
    assert.equal(ev('18446744073709551615'), MAX);
    assert.equal(err('12abc').message, "invalid number '12abc' at column 1");
    assert.match(err('0x10000000000000000').message, /does not fit in 64 bits/);
    assert.equal(err("1 + 'ab'").message, 'unterminated or multi-character literal at column 5');
  });

  it('follows C precedence and associativity', function () {
    assert.equal(ev('1 + 2 * 3'), 7n);
    assert.equal(ev('(1 + 2) * 3'), 9n);
    assert.equal(ev('10 - 2 - 3'), 5n);
    assert.equal(ev('100 / 10 / 5'), 2n);
    assert.equal(ev('2 * 3 % 4'), 2n);
    assert.equal(ev('1 << 2 + 1'), 8n);
    assert.equal(ev('1 | 2 ^ 3 & 4'), 3n);
    assert.equal(ev('6 & 3 == 3'), 0n, '== binds tighter than &');
    assert.equal(ev('1 < 2 == 1'), 1n);
    assert.equal(ev('0 || 1 && 0'), 0n);
    assert.equal(ev('1 || 0 && 0'), 1n);
    assert.equal(ev('1 ? 2 : 3 ? 4 : 5'), 2n);
    assert.equal(ev('0 ? 2 : 0 ? 4 : 5'), 5n);
    assert.equal(ev('0 ? 1 : 2 + 3'), 5n);
    assert.equal(ev('-2 * 3'), MAX - 5n);
    assert.equal(ev('!0 + !5'), 1n);
    assert.equal(ev('~0'), MAX);
    assert.equal(ev('- - 3'), 3n);
    assert.equal(ev('0x10 >> 2 << 1'), 8n);
    assert.equal(ev('5 >= 5'), 1n);
    assert.equal(ev('5 > 5'), 0n);
    assert.equal(ev('4 <= 3'), 0n);
    assert.equal(ev('3 != 3'), 0n);
  });

  it('wraps unsigned 64-bit arithmetic', function () {
    assert.equal(ev('0xffffffffffffffff + 1'), 0n);
    assert.equal(ev('0 - 1'), MAX);
    assert.equal(ev('-1'), MAX);
    assert.equal(ev('0x8000000000000000 * 2'), 0n);
    assert.equal(ev('1 << 63'), 1n << 63n);
    assert.equal(ev('1 << 64'), 0n);
    assert.equal(ev('-1 >> 63'), 1n, '>> is logical on unsigned values');
    assert.equal(ev('-1 < 0'), 0n, 'comparisons are unsigned');
    assert.equal(ev('r8d + 1'), 0x100000000n, 'sub-registers widen to 64 bits');
    assert.equal(err('5 / 0').message, 'division by zero');
    assert.equal(err('5 % (1 - 1)').message, 'modulo by zero');
  });

  it('reads registers in any spelling, and symbols', function () {
    assert.deepEqual(evaluate('%eax', ctx()), { value: 0x1000n, size: 4, register: 'eax' });
    assert.deepEqual(evaluate('RAX', ctx()), { value: 0x1000n, size: 8, register: 'rax' });
    assert.equal(ev('ah'), 0x10n);
    assert.equal(ev('%r8b'), 0xffn);
    assert.equal(ev('r8w'), 0xffffn);
    assert.equal(ev('$rcx'), 42n);
    assert.equal(ev('rax %rbx'), 0n, "'%' after an operand is modulo");
    assert.equal(ev('rcx%rbx'), 0n);
    assert.equal(ev('rcx % 5'), 2n);
    assert.equal(ev('eflags & 0x40'), 0x40n);
    assert.equal(ev('cs'), 0x18n);
    assert.equal(ev('cs.base'), 0n);
    assert.equal(ev('fs.base'), 0x7000n);
    assert.equal(ev('%cr0 & 1'), 1n);
    assert.equal(ev('efer'), 0x500n);
    assert.equal(ev('table'), 0x10n);
    assert.equal(ev('main.loop + 1'), 0x1235n);
    assert.equal(err('foo + 1').message, "unknown register or symbol 'foo'");
    assert.equal(err('foo + 1').column, 1);
    assert.equal(err('%foo').message, "unknown register '%foo'");
    assert.equal(err('cr3', ctx({ sregs: null })).message, "register 'cr3' is not available");
  });

  it('casts with truncation and sign extension', function () {
    assert.deepEqual(evaluate('(u8)0x1234', ctx()), { value: 0x34n, size: 1 });
    assert.deepEqual(evaluate('(s8)0xff', ctx()), { value: MAX, size: 1, signed: true });
    assert.equal(ev('(uint16_t)0x12345'), 0x2345n);
    assert.equal(ev('(unsigned char)0x1ff'), 0xffn);
    assert.equal(ev('(char)0x80'), 0xffffffffffffff80n);
    assert.equal(ev('(short)0x8000'), 0xffffffffffff8000n);
    assert.equal(ev('(unsigned int)-1'), 0xffffffffn);
    assert.equal(evaluate('(long)-1', ctx()).size, 8);
    assert.equal(evaluate('(long)-1', ctx({ bitness: 32 })).value, MAX);
    assert.equal(evaluate('(unsigned long)-1', ctx({ bitness: 32 })).value, 0xffffffffn);
    assert.equal(ev('(unsigned long long)-1'), MAX);
    assert.equal(ev('(int)0xffffffff < 0'), 1n, 'signed operands compare signed');
    assert.equal(ev('0xffffffff < 0'), 0n);
    assert.equal(ev('(int)-8 / 2'), MAX - 3n);
    assert.equal(ev('(int)-7 % 2'), MAX, 'C remainder keeps the dividend sign');
    assert.equal(ev('(int)-8 >> 1'), MAX - 3n);
    assert.equal(ev('(u32)-8 >> 1'), 0x7ffffffcn);
    assert.equal(ev('(s64)-1 >> 70'), MAX);
    assert.equal(ev('(int)r8d'), MAX);
    assert.equal(err('(unsigned short long)1').message, "invalid type 'unsigned short long' at column 2");
    assert.equal(err('(u8 int)1').message, "invalid type 'u8 int' at column 2");
    assert.equal(err('int + 1').message, "unexpected type 'int' at column 1: casts need parentheses");
    assert.equal(err('(void)1').message, "cannot use a value of type 'void'");
  });

  it('dereferences C casts, plain * and Intel operands', function () {
    assert.deepEqual(evaluate('*(u32*)0x400', ctx()), { value: 0xdeadbeefn, size: 4, address: 0x400n });
    assert.equal(ev('*(u16*)0x400'), 0xbeefn);
    assert.equal(ev('*(uint8_t*)0x403'), 0xden);
    assert.equal(ev('*(u64*)(rsp + 8)'), 0x1122334455667788n);
    assert.equal(ev('*(u32*)rsp + 8'), 0x408n, 'a cast binds tighter than +');
    assert.deepEqual(evaluate('*(int*)0x400', ctx()), { value: 0xffffffffdeadbeefn, size: 4, signed: true, address: 0x400n });
    assert.equal(ev('*(long*)0x1008', ctx({ bitness: 32 })), 0x55667788n);
    assert.equal(ev('*(char*)0x400'), 0xffffffffffffffefn);
    assert.deepEqual(evaluate('*0x1008', ctx()), { value: 0x1122334455667788n, size: 8, address: 0x1008n });
    assert.equal(ev('*0x1008', ctx({ bitness: 32 })), 0x55667788n);
    assert.equal(ev('*0x1008', ctx({ bitness: 16 })), 0x7788n);
    assert.equal(ev('**(u32**)rsp'), 0xdeadbeefn, 'pointer to pointer');
    assert.equal(ev('*(u32*)*(u64*)rsp'), 0xdeadbeefn);
    assert.equal(ev('*(u8*)counter'), 0xefn);
    assert.equal(ev('[0x400]'), 0xdeadbeefn);
    assert.deepEqual(evaluate('dword ptr [rsp+8]', ctx()), { value: 0x55667788n, size: 4, address: 0x1008n });
    assert.equal(ev('QWORD PTR [rax + rbx*4]'), 0x1122334455667788n);
    assert.equal(ev('word [0x400]'), 0xbeefn);
    assert.equal(ev('byte ptr [counter + 3]'), 0xden);
    assert.equal(ev('&[rsp + 8]'), 0x1008n);
    assert.equal(ev('&table'), 0x10n);
    assert.equal(err('&rax').message, 'cannot take the address of a value that is not in memory');
    assert.equal(err('*(void*)0x400').message, 'cannot dereference a void pointer');
    assert.equal(err('dword ptr rax').message, "expected a memory operand after 'dword' at column 11");
  });

  it('reads AT&T memory operands', function () {
    assert.deepEqual(evaluate('8(%rsp)', ctx()), { value: 0x1122334455667788n, size: 8, address: 0x1008n });
    assert.equal(ev('(%rax,%rbx,4)'), 0x1122334455667788n);
    assert.equal(ev('-8(%rbp)'), 0xcafen);
    assert.equal(ev('0x1000(,%rbx,4)'), 0x1122334455667788n);
    assert.equal(evaluate('(,%rbx,4)', ctx()).address, 8n);
    assert.equal(ev('(%rsp)'), 0x400n, '(%reg) is memory');
    assert.equal(ev('(rsp)'), 0x1000n, 'without % it is a parenthesised value');
    assert.equal(ev('4(%rsp, %rbx)'), 0x3344556677880000n);
    assert.equal(ev('dword ptr 8(%rsp)'), 0x55667788n);
    assert.equal(ev('table(%rip)'), 0xdeadbeefn, 'symbol displacement');
    assert.equal(ev('&8(%rsp)'), 0x1008n);
    assert.equal(ev('8(%rsp) == 0x1122334455667788'), 1n);
    assert.equal(ev('rbp - 8(%rsp)'), 0x2000n - 0x1122334455667788n + (1n << 64n));
    const e = err('(%rax,%rbx,3)');
    assert.equal(e.message, 'scale must be 1, 2, 4 or 8 at column 12');
    assert.equal(e.column, 12);
    assert.equal(err('8(%rax,)').message, "unexpected ')' at column 8");
  });

  it('reports syntax errors with columns', function () {
    const e = err('1 + 2 )');
    assert.equal(e.message, "unexpected ')' at column 7");
    assert.equal(e.column, 7);
    assert.equal(err('(1 + 2').message, 'unexpected end of expression at column 7');
    assert.equal(err('1 +').message, 'unexpected end of expression at column 4');
    assert.equal(err('*(u32*)').message, 'unexpected end of expression at column 8');
    assert.equal(err('rax = 1').message, "unexpected '=' at column 5 (use == to compare)");
    assert.equal(err('1 # 2').message, "unexpected character '#' at column 3");
    assert.equal(err('[rsp').message, 'unexpected end of expression at column 5');
    assert.equal(err('1 ? 2').message, 'unexpected end of expression at column 6');
    assert.equal(err('rax rbx').message, "unexpected 'rbx' at column 5");
    assert.equal(err('  ').message, 'empty expression');
    assert.throws(() => parseExpression('(u33)1'), /unexpected '1' at column 6/);
  });

  it('reports unmapped memory', function () {
    const e = err('*(u32*)0x20000');
    assert.equal(e.message, 'cannot read 4 bytes at 0x20000: not mapped');
    assert.equal(e.column, 1);
    assert.equal(err('*(u32*)0xfffe').message, 'cannot read 4 bytes at 0xfffe: not mapped', 'straddles the end');
    assert.equal(err('byte ptr [0x10000]').message, 'cannot read 1 byte at 0x10000: not mapped');
  });

  it('evaluates breakpoint conditions with short-circuit', function () {
    const c = ctx({ regs: { rax: 42n } });
    assert.equal(evaluateCondition('rax == 42 && *(u32*)0x400 != 0', c), true);
    assert.equal(evaluateCondition('rax == 42 && *(u32*)0x400 == 0', c), false);
    assert.equal(evaluateCondition('rax != 42 && *(u32*)0x999999 == 1', c), false, 'right side not read');
    assert.equal(evaluateCondition('rax == 42 || *(u32*)0x999999', c), true);
    assert.equal(evaluateCondition('rax > 41 ? 1 : *(u8*)0x999999', c), true);
    assert.throws(() => evaluateCondition('rax == 42 && *(u32*)0x999999', c), /not mapped/);
    // A parsed AST can be reused.
    const ast = parseExpression('eax == 42');
    assert.equal(evaluateCondition(ast, c), true);
    assert.equal(evaluateCondition(ast, ctx()), false);
  });

  it('formats values', function () {
    assert.equal(formatValue(0x246n, { hex: true, size: 8 }), '0x0000000000000246');
    assert.equal(formatValue(0x246n, { hex: true }), '0x246');
    assert.equal(formatValue(-1n, { hex: true, size: 2 }), '0xffff');
    assert.equal(formatValue(MAX, { hex: false, size: 4, signed: true }), '-1');
    assert.equal(formatValue(MAX, { hex: false }), '18446744073709551615');
    assert.equal(formatValue(0x1ffn, { hex: false, size: 1 }), '255');
  });

  it('interpolates logpoint templates', function () {
    const c = ctx({ regs: { rax: 42n } });
    assert.equal(interpolate('rax={rax} at {*(u32*)0x400}', c), 'rax=0x2a at 0xdeadbeef');
    assert.equal(interpolate('rax={rax,d} {rax, u} {(int)-5,d} {(int)-5}', c), 'rax=42 42 -5 0xfffffffb');
    assert.equal(interpolate('{0x500,s}!', c), 'hello!');
    assert.equal(interpolate("{'}',c}{'A',c}", c), '}A');
    assert.equal(interpolate('{{literal}} {rcx}', c), '{literal} 0x2a');
    assert.equal(interpolate('x={foo}', c), "x={error: unknown register or symbol 'foo'}");
    assert.equal(interpolate('{*(u32*)0x20000}', c), '{error: cannot read 4 bytes at 0x20000: not mapped}');
    assert.equal(interpolate('{1 +}', c), '{error: unexpected end of expression at column 4}');
    assert.equal(interpolate('{8(%rsp),x}', c), '0x1122334455667788');
    assert.equal(interpolate('open {rax', c), 'open {rax');
    assert.equal(interpolate('{rax} {(int)-5}', c, { hex: false }), '42 -5');
    assert.equal(interpolate('no braces', c), 'no braces');
  });
});
