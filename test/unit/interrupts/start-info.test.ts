// start_info as the LSE slides define it: five uint32 fields, then the memory map, then the device map.
import assert from 'node:assert/strict';
import { memoryMap, readStartInfo, writeStartInfo, MEMORY_USE } from '../../../debug-adapter/vmm/start-info';
import { startInfoFor } from '../../../debug-adapter/vmm/machine';
import type { GuestImage } from '../../../debug-adapter/program/guest-image';

const image = (segments: { address: number; memSize: number }[]): GuestImage =>
  ({ path: 'g.elf', kind: 'elf32', entry: 0x100000, segments: segments.map((s) => ({ ...s, data: new Uint8Array(0) })) }) as unknown as GuestImage;

describe('start_info (the LSE machine description)', function () {
  it('the memory map covers RAM exactly once, in order: kernel pages, the monitor region (init), the rest free', function () {
    const size = 2 << 20;
    const map = memoryMap(size, image([{ address: 0x100000, memSize: 0x1800 }, { address: 0x102000, memSize: 0x100 }]));
    let at = 0;
    for (const e of map) {
      assert.equal(e.base, at, 'contiguous');
      at += e.size;
    }
    assert.equal(at, size);
    const useAt = (a: number): number => map.find((e) => a >= e.base && a < e.base + e.size)!.use;
    assert.equal(useAt(0x0), MEMORY_USE.FREE);
    assert.equal(useAt(0x98000), MEMORY_USE.INIT);
    assert.equal(useAt(0x100000), MEMORY_USE.KERNEL);
    assert.equal(useAt(0x101fff), MEMORY_USE.KERNEL, 'the kernel is counted in whole pages');
    assert.equal(useAt(0x102000), MEMORY_USE.KERNEL);
    assert.equal(useAt(0x103000), MEMORY_USE.FREE);
  });

  it('is laid out as five little-endian uint32s, then {base,size,flags,use} records, then {base_addr,interrupt_num}', function () {
    const mem = new Uint8Array(1 << 20);
    const info = startInfoFor({ memorySize: 1 << 20, mode: 'protected', image: image([{ address: 0xa0000, memSize: 0x1000 }]), entry: { kind: 'linear', address: 0xa0000 }, devices: ['virtio-rng', 'virtio-console'] });
    writeStartInfo(mem, info);
    const v = new DataView(mem.buffer, 0x98000);
    assert.equal(v.getUint32(0, true), 0xfec00000, 'ioapic_base');
    assert.equal(v.getUint32(4, true), 1 << 20, 'mem_size');
    const memEntries = v.getUint32(8, true);
    assert.equal(v.getUint32(12, true), 0x200, 'dev_size');
    assert.equal(v.getUint32(16, true), 2, 'dev_entries');
    const dev = 20 + memEntries * 16;
    assert.deepEqual([v.getUint32(dev, true), v.getUint32(dev + 4, true), v.getUint32(dev + 8, true), v.getUint32(dev + 12, true)], [0xfeb00000, 16, 0xfeb00200, 17]);
    assert.deepEqual(readStartInfo(mem), info);
  });
});
