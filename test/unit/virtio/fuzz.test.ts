// Seeded fuzzing of the virtqueue parser and the register file with random rings and accesses.
// Replay a failure with the seed from its message: VIRTIO_FUZZ_SEED=<seed> VIRTIO_FUZZ_ITERATIONS=1.
// Invariants (issue 11): nothing throws or hits an internal error; RAM changes only inside
// device-writable descriptor buffers and the used ring; used idx advances by at most the number of
// available entries; every used.len ≤ the writable length of its chain.
import assert from 'node:assert/strict';
import { Driver, Ring, VERSION_1, changesOutside } from './guest-driver';
import { VirtioRng } from '../../../debug-adapter/vmm/devices/virtio/virtio-rng';
import { VirtioConsole } from '../../../debug-adapter/vmm/devices/virtio/virtio-console';
import type { VirtioDevice } from '../../../debug-adapter/vmm/devices/virtio/virtio-device';
import {
  VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_MMIO_WINDOW, VIRTQ_DESC_F_INDIRECT as INDIRECT,
  VIRTQ_DESC_F_NEXT as NEXT, VIRTQ_DESC_F_WRITE as WRITE, featureBit,
} from '../../../debug-adapter/vmm/devices/virtio/virtio-abi';

const BASE_SEED = Number(process.env.VIRTIO_FUZZ_SEED ?? 0x5eed);
const ITERATIONS = Number(process.env.VIRTIO_FUZZ_ITERATIONS ?? 400);
const RAM = 0x8000;
/** Rings and indirect tables live below META, buffers above it, so the device's writes into buffers
 * cannot rewrite descriptors under the oracle (a guest may do that; the oracle would then be stale). */
const META = 0x4000;

/** mulberry32: small, seedable, good enough to spread the cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Case {
  readonly rand: () => number;
  constructor(readonly seed: number) {
    this.rand = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** A buffer address/length: mostly sane, sometimes past the end, sometimes absurd. */
  buffer(): [bigint, number] {
    const r = this.rand();
    if (r < 0.8) return [BigInt(META + this.int(RAM - META - 64)), this.int(64)];
    if (r < 0.9) return [BigInt(RAM - this.int(32)), 1 + this.int(64)];
    if (r < 0.95) return [BigInt(this.int(0x1_0000_0000)) << 32n | BigInt(this.int(0x1_0000_0000)), this.int(0x10000)];
    return [BigInt(META + this.int(64)), 0xffffffff - this.int(4)];
  }
  flags(): number {
    let f = 0;
    if (this.chance(0.5)) f |= NEXT;
    if (this.chance(0.5)) f |= WRITE;
    if (this.chance(0.12)) f |= INDIRECT;
    return f;
  }
}

/** Writable [start, length) regions of every descriptor the device could see: a superset of what it may write. */
function writableRegions(ram: Uint8Array, ring: Ring): [number, number][] {
  const view = new DataView(ram.buffer);
  const out: [number, number][] = [];
  const scan = (table: number, count: number, nested: boolean) => {
    for (let i = 0; i < count; i++) {
      const d = table + 16 * i;
      const addr = view.getBigUint64(d, true);
      const len = view.getUint32(d + 8, true);
      const flags = view.getUint16(d + 12, true);
      if (flags & INDIRECT) {
        if (!nested && addr + BigInt(len) <= BigInt(ram.length) && len % 16 === 0) scan(Number(addr), len / 16, true);
      } else if (flags & WRITE && addr < BigInt(ram.length)) {
        out.push([Number(addr), len]);
      }
    }
  };
  scan(ring.desc, ring.size, false);
  return out;
}

/** The spec's chain definition, independently: the sum of WRITE lengths from `head`. */
function chainWritableLength(ram: Uint8Array, ring: Ring, head: number): number {
  const view = new DataView(ram.buffer);
  let table = ring.desc;
  let limit = ring.size;
  let index = head;
  let total = 0;
  for (let steps = 0; steps <= limit; steps++) {
    const d = table + 16 * index;
    const flags = view.getUint16(d + 12, true);
    if (flags & INDIRECT) {
      table = Number(view.getBigUint64(d, true));
      limit = view.getUint32(d + 8, true) / 16;
      index = 0;
      steps = -1;
      continue;
    }
    if (flags & WRITE) total += view.getUint32(d + 8, true);
    if (!(flags & NEXT)) return total;
    index = view.getUint16(d + 14, true);
  }
  return -1; // not a chain the device may have accepted
}

function device(c: Case): VirtioDevice {
  if (c.chance(0.5)) return new VirtioRng();
  const input = { n: 0, read: () => 0x30 + (input.n++ % 10), available: () => true };
  return new VirtioConsole({ write: () => {} }, input);
}

function fuzzRings(c: Case): void {
  const ram = new Uint8Array(RAM);
  for (let i = 0; i < ram.length; i++) ram[i] = c.int(256);
  const dev = device(c);
  const d = new Driver(dev, ram);
  const features = VERSION_1 | (c.chance(0.7) ? featureBit(VIRTIO_F_INDIRECT_DESC) : 0n) | (c.chance(0.5) ? featureBit(VIRTIO_F_EVENT_IDX) : 0n);
  const size = c.pick([1, 2, 4, 8, 16]);
  const queue = c.int(dev.queues.length);
  const rings = d.init(features, dev.queues.map(() => size), 0);
  const ring = rings[queue];
  const view = new DataView(ram.buffer);
  // Descriptors and indirect tables in the metadata area.
  for (let i = 0; i < size; i++) {
    const flags = c.flags();
    if (flags & INDIRECT) {
      const entries = c.chance(0.9) ? 1 + c.int(6) : 0;
      const table = 0x1000 + 0x100 * c.int(8) + (c.chance(0.95) ? 0 : 8);
      ring.setDesc(i, table, c.chance(0.9) ? entries * 16 : 20, flags, c.int(size + 2));
      for (let j = 0; j < entries; j++) {
        const [addr, len] = c.buffer();
        ring.setDesc(j, addr, len, c.flags(), c.int(entries + 1), table);
      }
    } else {
      const [addr, len] = c.buffer();
      ring.setDesc(i, addr, len, flags, c.int(size + 2));
    }
  }
  const posted = c.chance(0.05) ? 0x100 + c.int(0xff00) : c.int(size + 1);
  for (let i = 0; i < posted && i < size; i++) view.setUint16(ring.avail + 4 + 2 * i, c.int(size + 1), true);
  ring.availIdx = posted;
  ring.availFlags = c.int(2);
  ring.usedEvent = c.int(4);
  const allowed = [...writableRegions(ram, ring), [ring.used, 6 + 8 * size] as [number, number]];
  const before = ram.slice();
  d.notify(queue);
  d.transport.poll();
  d.ack();
  const after = d.ram;
  assert.deepEqual(changesOutside(before, after, allowed), [], 'RAM changed outside writable buffers and the used ring');
  const used = ring.usedIdx;
  assert.ok(used <= Math.min(posted, size), `used idx ${used} > available ${posted}`);
  for (let i = 0; i < used; i++) {
    const { id, len } = ring.usedElem(i);
    assert.ok(id < size, `used id ${id} ≥ queue size ${size}`);
    const limit = chainWritableLength(ram, ring, id);
    assert.ok(len <= limit, `used.len ${len} > writable length ${limit} of chain ${id}`);
  }
  assert.deepEqual(d.host.reports.filter((r) => /internal error/.test(r)), []);
}

function fuzzRegisters(c: Case): void {
  const ram = new Uint8Array(0x4000);
  const dev = device(c);
  const d = new Driver(dev, ram);
  if (c.chance(0.5)) d.init(VERSION_1 | featureBit(VIRTIO_F_INDIRECT_DESC), dev.queues.map(() => 8), 0);
  for (let i = 0; i < 200; i++) {
    const offset = c.chance(0.8) ? 4 * c.int(VIRTIO_MMIO_WINDOW / 4) : c.int(VIRTIO_MMIO_WINDOW);
    const size = c.pick([1, 2, 4, 4, 4, 8]);
    const value = c.chance(0.5) ? c.int(16) : c.int(0x1_0000_0000);
    if (c.chance(0.5)) d.read(offset, size);
    else d.write(offset, value, size);
    if (c.chance(0.1)) d.transport.poll();
  }
  d.transport.snapshot();
  assert.deepEqual(d.host.reports.filter((r) => /internal error/.test(r)), []);
}

describe('virtio fuzz (seeded)', function () {
  for (const [name, run] of [['random rings and descriptor chains', fuzzRings], ['random register accesses', fuzzRegisters]] as const) {
    it(`${name}: ${ITERATIONS} cases from seed ${BASE_SEED}`, function () {
      for (let i = 0; i < ITERATIONS; i++) {
        const seed = (BASE_SEED + i) >>> 0;
        try {
          run(new Case(seed));
        } catch (e) {
          throw new Error(`${name}: case failed; replay with VIRTIO_FUZZ_SEED=${seed} VIRTIO_FUZZ_ITERATIONS=1\n${(e as Error).stack}`);
        }
      }
    });
  }
});
