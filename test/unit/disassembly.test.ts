// Disassembly around a reference: exactly the asked count, instructions before the reference found
// from known boundaries (x86 cannot be decoded backwards), placeholders where memory ends.
import assert from 'node:assert/strict';
import { disassembleAround, DisassemblySource } from '../../debug-adapter/debugger/disassembly';

// At 0x1000: mov $0x12345678,%eax (5); nop (1); movabs $0x1122334455667788,%rbx (10); ret (1);
// then data bytes that decode as garbage, then at 0x1020: push %rbp (1); mov %rsp,%rbp (3); hlt (1).
const mem = new Uint8Array(0x2000);
mem.set([0xb8, 0x78, 0x56, 0x34, 0x12, 0x90, 0x48, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xc3], 0x1000);
mem.set([0xff, 0xff, 0x0f, 0x0f, 0xe8, 0xe8, 0xe8, 0xe8, 0x0f], 0x1011);
mem.set([0x55, 0x48, 0x89, 0xe5, 0xf4], 0x1020);

function source(boundaries: bigint[]): DisassemblySource {
  return {
    bitness: 64,
    syntax: 'att',
    read: (address, length) => mem.slice(Number(address), Math.min(Number(address) + length, mem.length)),
    boundaries,
  };
}

describe('disassembly around a reference', function () {
  it('returns the instructions before the reference from a known boundary, exactly as many as asked', function () {
    const list = disassembleAround(source([0x1000n, 0x1020n]), 0x1010n, -3, 6);
    assert.equal(list.length, 6);
    assert.deepEqual(list.slice(0, 4).map((i) => Number(i.address)), [0x1000, 0x1005, 0x1006, 0x1010]);
    assert.match(list[2].text, /movabs \$0x1122334455667788,%rbx/);
    assert.equal(list[3].text, 'ret');
  });
  it('never lands inside an instruction even when starting from a boundary further back', function () {
    const list = disassembleAround(source([0x1000n]), 0x1022n - 1n, -1, 3); // 0x1021 = mov %rsp,%rbp
    assert.equal(list[1].address, 0x1021n);
    assert.equal(list[0].address, 0x1020n);
    assert.equal(list[0].text, 'push %rbp');
  });
  it('pads with placeholders where memory ends, keeping the count', function () {
    const list = disassembleAround(source([]), 0x1ffen, 0, 5);
    assert.equal(list.length, 5);
    assert.ok(list.slice(-3).every((i) => i.placeholder));
    const before = disassembleAround(source([]), 0x2n, -10, 12);
    assert.equal(before.length, 12);
    assert.equal(before[10].address, 0x2n);
  });
  it('decodes forward with a positive offset', function () {
    const list = disassembleAround(source([]), 0x1000n, 2, 2);
    assert.deepEqual(list.map((i) => Number(i.address)), [0x1006, 0x1010]);
  });
});
