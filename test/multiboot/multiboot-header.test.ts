// Multiboot header recognition on synthetic images laid out by the specifications (Multiboot 0.6.96
// §3.1; Multiboot2 §3.1): what a loader must find, accept and refuse.
import assert from 'node:assert/strict';
import { findMultibootHeader } from '../../debug-adapter/program/multiboot-header';
import { loadMultibootImage } from '../../debug-adapter/program/multiboot-loader';

/** A Multiboot2 header at `at` with the given tags (type, flags, body words), end tag added. */
function mb2(at: number, tags: [number, number, number[]][], size = 0x2000): Buffer {
  const b = Buffer.alloc(size);
  let t = at + 16;
  for (const [type, flags, words] of tags) {
    b.writeUInt16LE(type, t);
    b.writeUInt16LE(flags, t + 2);
    b.writeUInt32LE(8 + words.length * 4, t + 4);
    words.forEach((w, i) => b.writeUInt32LE(w >>> 0, t + 8 + i * 4));
    t += (8 + words.length * 4 + 7) & ~7;
  }
  b.writeUInt32LE(8, t + 4); // end tag: type 0, flags 0, size 8
  const length = t + 8 - at;
  b.writeUInt32LE(0xe85250d6, at);
  b.writeUInt32LE(0, at + 4);
  b.writeUInt32LE(length, at + 8);
  b.writeUInt32LE((0x100000000 - ((0xe85250d6 + length) % 0x100000000)) >>> 0, at + 12);
  return b;
}

function mb1(at: number, flags: number, fields: number[] = [], size = 0x2000): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(0x1badb002, at);
  b.writeUInt32LE(flags >>> 0, at + 4);
  b.writeUInt32LE((-(0x1badb002 + flags)) >>> 0, at + 8);
  fields.forEach((f, i) => b.writeUInt32LE(f >>> 0, at + 12 + i * 4));
  return b;
}

describe('Multiboot headers (synthetic images)', function () {
  it('v1: found 4-byte aligned within the first 8192 bytes; not beyond, not unaligned', function () {
    assert.equal(findMultibootHeader(mb1(8188 - 8, 0, [], 0x3000), 'a')?.offset, 8180);
    assert.equal(findMultibootHeader(mb1(8192, 0, [], 0x3000), 'b'), undefined, 'the header must lie in the first 8192 bytes');
    assert.equal(findMultibootHeader(mb1(0x102, 0), 'c'), undefined, 'a header must be 32-bit aligned');
  });

  it('v1: flag 16 gives the address fields; a.out kludge placement loads to load_end_addr and zeroes to bss_end_addr', function () {
    // header at file offset 0x40, to be loaded at 0x200040: the text starts at file offset 0 → 0x200000.
    const img = mb1(0x40, 0x10000, [0x200040, 0x200000, 0x200100, 0x200400, 0x200060]);
    const h = findMultibootHeader(img, 'k')!;
    assert.deepEqual(h.kludge, { headerAddr: 0x200040, loadAddr: 0x200000, loadEndAddr: 0x200100, bssEndAddr: 0x200400, entryAddr: 0x200060 });
    const { image, format } = loadMultibootImage(img, 'k', h);
    assert.equal(format, 'aout-kludge');
    assert.equal(image.entry, 0x200060);
    assert.deepEqual(image.segments.map((s) => [s.address, s.data.length, s.memSize]), [[0x200000, 0x100, 0x400]]);
  });

  it('v1: requirements it cannot meet (flag 2: video mode) are refused; a non-ELF without flag 16 is refused', function () {
    assert.throws(() => findMultibootHeader(mb1(0, 4), 'v'), /requires a video mode table \(flag 2\)/);
    const h = findMultibootHeader(mb1(0, 3), 'n')!;
    assert.throws(() => loadMultibootImage(mb1(0, 3), 'n', h), /not an ELF file and gives no load addresses/);
  });

  it('v2: found 8-byte aligned within 32768 bytes, preferred over a v1 header in the same file', function () {
    const img = mb2(0x1000, []);
    mb1(0, 0).copy(img, 0, 0, 12);
    const h = findMultibootHeader(img, 'both')!;
    assert.equal(h.version, 2);
    assert.equal(h.offset, 0x1000);
    assert.equal(findMultibootHeader(mb2(0x1004, []), 'unaligned'), undefined);
  });

  it('v2: address and entry tags give the placement; an information request for what is provided is accepted', function () {
    const h = findMultibootHeader(mb2(0, [[1, 0, [1, 2, 3, 4, 6]], [2, 0, [0x300000, 0x300000, 0, 0x300800]], [3, 0, [0x300020]]]), 'k2')!;
    assert.deepEqual(h.requested?.map((r) => r.type), [1, 2, 3, 4, 6]);
    assert.deepEqual(h.kludge, { headerAddr: 0x300000, loadAddr: 0x300000, loadEndAddr: 0, bssEndAddr: 0x300800, entryAddr: 0x300020 });
  });

  it('v2: a required framebuffer tag or a required request for a tag not given is refused; optional ones are ignored', function () {
    assert.throws(() => findMultibootHeader(mb2(0, [[5, 0, [1024, 768, 32]]]), 'fb'), /requires header tag 5/);
    assert.equal(findMultibootHeader(mb2(0, [[5, 1, [1024, 768, 32]]]), 'fb-optional')?.version, 2);
    assert.throws(() => findMultibootHeader(mb2(0, [[1, 0, [8]]]), 'req'), /requires boot information tag 8/);
    assert.equal(findMultibootHeader(mb2(0, [[1, 1, [8]]]), 'req-optional')?.version, 2);
  });
});
