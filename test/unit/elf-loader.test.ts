// ELF and flat-image loading: segments at p_paddr with bss, and a specific error for every kind of
// broken file.
import assert from 'node:assert/strict';
import { loadElf, loadFlat } from '../../debug-adapter/program/elf-loader';

/** A minimal ELF32 or ELF64 executable with one PT_LOAD segment. */
export function makeElf(opts: { cls: 32 | 64; paddr: number; code: number[]; memsz?: number; machine?: number; entry?: number }): Buffer {
  const is64 = opts.cls === 64;
  const ehsize = is64 ? 64 : 52;
  const phsize = is64 ? 56 : 32;
  const off = ehsize + phsize;
  const b = Buffer.alloc(off + opts.code.length);
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1], 0);
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(opts.machine ?? (is64 ? 62 : 3), 18);
  b.writeUInt32LE(1, 20);
  const entry = opts.entry ?? opts.paddr;
  if (is64) {
    b.writeBigUInt64LE(BigInt(entry), 24);
    b.writeBigUInt64LE(BigInt(ehsize), 32);
    b.writeUInt16LE(ehsize, 52);
    b.writeUInt16LE(phsize, 54);
    b.writeUInt16LE(1, 56);
    b.writeUInt32LE(1, ehsize);
    b.writeUInt32LE(5, ehsize + 4);
    b.writeBigUInt64LE(BigInt(off), ehsize + 8);
    b.writeBigUInt64LE(BigInt(opts.paddr), ehsize + 16);
    b.writeBigUInt64LE(BigInt(opts.paddr), ehsize + 24);
    b.writeBigUInt64LE(BigInt(opts.code.length), ehsize + 32);
    b.writeBigUInt64LE(BigInt(opts.memsz ?? opts.code.length), ehsize + 40);
  } else {
    b.writeUInt32LE(entry, 24);
    b.writeUInt32LE(ehsize, 28);
    b.writeUInt16LE(ehsize, 40);
    b.writeUInt16LE(phsize, 42);
    b.writeUInt16LE(1, 44);
    b.writeUInt32LE(1, ehsize);
    b.writeUInt32LE(off, ehsize + 4);
    b.writeUInt32LE(opts.paddr, ehsize + 8);
    b.writeUInt32LE(opts.paddr, ehsize + 12);
    b.writeUInt32LE(opts.code.length, ehsize + 16);
    b.writeUInt32LE(opts.memsz ?? opts.code.length, ehsize + 20);
    b.writeUInt32LE(5, ehsize + 24);
  }
  b.set(opts.code, off);
  return b;
}

describe('ELF loader', function () {
  it('loads ELF32 and ELF64 PT_LOAD segments at p_paddr with their bss size and entry', function () {
    const e32 = loadElf(makeElf({ cls: 32, paddr: 0x100000, code: [0xf4], memsz: 0x2000, entry: 0x100000 }), 'a.elf');
    assert.equal(e32.kind, 'elf32');
    assert.equal(e32.entry, 0x100000);
    assert.deepEqual(e32.segments.map((s) => [s.address, s.data.length, s.memSize]), [[0x100000, 1, 0x2000]]);
    const e64 = loadElf(makeElf({ cls: 64, paddr: 0x200000, code: [0x90, 0xf4] }), 'b.elf');
    assert.equal(e64.kind, 'elf64');
    assert.equal(e64.segments[0].address, 0x200000);
  });
  it('names what is wrong with broken files', function () {
    const good = makeElf({ cls: 64, paddr: 0x100000, code: [0xf4, 0xf4, 0xf4, 0xf4] });
    assert.throws(() => loadElf(good.subarray(0, 40), 'x.elf'), /x\.elf: truncated ELF: the file is 40 bytes but an ELF64 header needs 64/);
    assert.throws(() => loadElf(good.subarray(0, 80), 'x.elf'), /truncated ELF: 1 program headers at 0x40 need the file to reach 0x78, but it ends at 0x50/);
    assert.throws(() => loadElf(good.subarray(0, good.length - 2), 'x.elf'), /truncated ELF: segment 0 \(PT_LOAD at 0x100000\) needs file bytes/);
    assert.throws(() => loadElf(makeElf({ cls: 32, paddr: 0, code: [1], machine: 40 }), 'arm.elf'), /unsupported ELF machine 40/);
    const badClass = Buffer.from(good);
    badClass[4] = 9;
    assert.throws(() => loadElf(badClass, 'c.elf'), /unknown class 9/);
    assert.throws(() => loadElf(makeElf({ cls: 32, paddr: 0, code: [1, 2, 3], memsz: 1 }), 'm.elf'), /p_filesz 0x3 larger than p_memsz 0x1/);
    assert.throws(() => loadElf(Buffer.from('not an elf'), 'n.bin'), /not an ELF file/);
  });
  it('refuses an empty flat binary', function () {
    assert.throws(() => loadFlat(new Uint8Array(0), 'empty.bin', 0x100000), /empty\.bin: the binary is empty/);
    assert.equal(loadFlat(new Uint8Array([0xf4]), 'h.bin', 0x7c00).segments[0].address, 0x7c00);
  });
});
