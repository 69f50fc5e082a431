// The debug engine's primitives on each accelerator: breakpoints (armed natively, and scanned by
// single-step when there are more than the accelerator arms), single steps, range steps, step out,
// and data watches: writes everywhere, reads and read/writes on the software CPU. What only KVM has
// (debug registers DR0–DR3, write watches through read-only memory slots) is tested on KVM only.
import assert from 'node:assert/strict';
import { Machine } from '../../debug-adapter/vmm/machine';
import { loadFlat } from '../../debug-adapter/program/elf-loader';
import type { AcceleratorInfo, Watch } from '../../debug-adapter/vmm/accelerator';
import type { StopInfo } from '../../debug-adapter/vmm/vcpu-protocol';
import { acceleratorInfo, forEachAccelerator, kvmOnly, tcgOnly } from '../helpers/accelerators';
import { kvmReference } from '../helpers/kvm-reference';

const BASE = 0x100000;
const at = (offset: number): bigint => BigInt(BASE + offset);

// 32-bit protected mode, flat segments (CS.base 0: linear = RIP).
//  0: mov $'A',%al    2: out %al,$0xe9    4: mov $'B',%al    6: out %al,$0xe9
//  8: movl $42,0x400 (10 bytes)           18: mov $'C',%al   20: out %al,$0xe9   22: hlt
const OUTS = [0xb0, 0x41, 0xe6, 0xe9, 0xb0, 0x42, 0xe6, 0xe9, 0xc7, 0x05, 0x00, 0x04, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0xb0, 0x43, 0xe6, 0xe9, 0xf4];

//  0: call 18          5: mov 0x400,%ebx (read)   11: mov %ebx,0x404 (write)   17: hlt
// 18: mov $7,%eax     23: mov %eax,0x400 (write)  28: nop                      29: ret
const CALLS = [
  0xe8, 0x0d, 0x00, 0x00, 0x00,
  0x8b, 0x1d, 0x00, 0x04, 0x00, 0x00,
  0x89, 0x1d, 0x04, 0x04, 0x00, 0x00,
  0xf4,
  0xb8, 0x07, 0x00, 0x00, 0x00,
  0xa3, 0x00, 0x04, 0x00, 0x00,
  0x90,
  0xc3,
];

interface Guest {
  m: Machine;
  serial: () => string;
}

async function machine(accelerator: AcceleratorInfo, code: number[] = OUTS): Promise<Guest> {
  const m = await Machine.create({
    memorySize: 2 << 20,
    mode: 'protected',
    image: loadFlat(new Uint8Array(code), 'engine', BASE),
    entry: { kind: 'linear', address: BASE },
    accelerator,
  });
  const out: number[] = [];
  m.onOutput((b) => out.push(...b));
  return { m, serial: () => Buffer.from(out).toString() };
}

async function using(accelerator: AcceleratorInfo, code: number[], fn: (g: Guest) => Promise<void>): Promise<void> {
  const g = await machine(accelerator, code);
  try {
    await fn(g);
  } finally {
    await g.m.destroy();
  }
}

const hex = (v: bigint | undefined): string => (v === undefined ? 'undefined' : `0x${v.toString(16)}`);
const where = (s: StopInfo): string => `${s.reason} at ${hex(s.regs.rip)}${s.detail ? ` (${s.detail})` : ''}`;

forEachAccelerator('debug engine', function (accel) {
  this.timeout(60000);
  let info: AcceleratorInfo;
  let scanning: AcceleratorInfo;
  before(async function () {
    info = await acceleratorInfo(accel);
    // The same accelerator told to arm no breakpoint natively: the engine single-steps and compares.
    scanning = { ...info, capabilities: { ...info.capabilities, nativeBreakpoints: 0 } };
  });

  for (const how of ['native', 'scanned'] as const) {
    it(`stops at a breakpoint (${how}) before executing it, then continues off it to the halt`, async function () {
      await using(how === 'native' ? info : scanning, OUTS, async ({ m, serial }) => {
        const s1 = await m.run(5000, { breakpoints: [at(4)] });
        assert.equal(s1.reason, 'breakpoint', where(s1));
        assert.equal(s1.regs.rip, at(4));
        assert.equal(s1.pc, at(4));
        assert.equal(serial(), 'A', 'the instruction at the breakpoint has not run');
        const s2 = await m.run(5000, { breakpoints: [at(4)] });
        assert.equal(s2.reason, 'halted', where(s2));
        assert.equal(s2.regs.rip, at(23), 'RIP is past the HLT');
        assert.equal(serial(), 'ABC');
      });
    });
  }

  it('five breakpoints at once all hit, in order', async function () {
    await using(info, OUTS, async ({ m }) => {
      const bps = [at(2), at(4), at(6), at(8), at(18)];
      const seen: bigint[] = [];
      for (;;) {
        const s = await m.run(5000, { breakpoints: bps });
        if (s.reason !== 'breakpoint') {
          assert.equal(s.reason, 'halted', where(s));
          break;
        }
        seen.push(s.regs.rip);
      }
      assert.deepEqual(seen, bps);
    });
  });

  it('single-steps one instruction at a time, I/O exits included', async function () {
    await using(info, OUTS, async ({ m, serial }) => {
      const pcs: bigint[] = [];
      for (let i = 0; i < 4; i++) {
        const s = await m.run(5000, { breakpoints: [], singleStep: true });
        assert.equal(s.reason, 'step', where(s));
        pcs.push(s.regs.rip);
      }
      assert.deepEqual(pcs, [at(2), at(4), at(6), at(8)]);
      assert.equal(serial(), 'AB');
      assert.equal((await m.run(5000, { breakpoints: [], singleStep: true })).regs.rip, at(18), 'the 10-byte movl is one step');
      assert.equal(m.memory.view.getUint32(0x400, true), 42);
    });
  });

  it('steps while the PC stays in a range', async function () {
    await using(info, OUTS, async ({ m, serial }) => {
      const s = await m.run(5000, { breakpoints: [], stepRanges: [[at(0), at(8)]] });
      assert.equal(s.reason, 'step', where(s));
      assert.equal(s.regs.rip, at(8));
      assert.equal(serial(), 'AB');
    });
  });

  it('a range step stops at a stop point inside the range (a call to step over)', async function () {
    await using(info, OUTS, async ({ m, serial }) => {
      const s = await m.run(5000, { breakpoints: [], stepRanges: [[at(0), at(22)]], stopPoints: [at(6)] });
      assert.equal(s.reason, 'step', where(s));
      assert.equal(s.regs.rip, at(6));
      assert.equal(serial(), 'A');
    });
  });

  it('steps out of a function: stops at the return address once RSP is above the frame', async function () {
    await using(info, CALLS, async ({ m }) => {
      const into = await m.run(5000, { breakpoints: [], singleStep: true });
      assert.equal(into.regs.rip, at(18), 'the call went to the function');
      assert.equal(into.regs.rsp, 0x9fffcn, 'the call pushed the 4-byte return address below ESP = 0xA0000');
      assert.equal(m.memory.view.getUint32(0x9fffc, true), BASE + 5, 'the return address');
      const out = await m.run(5000, { breakpoints: [], stepOutSp: into.regs.rsp });
      assert.equal(out.reason, 'step', where(out));
      assert.equal(out.regs.rip, at(5), 'back after the call');
      assert.equal(out.regs.rsp, 0xa0000n);
      assert.equal(out.regs.rax & 0xffffffffn, 7n, 'the function ran to its ret');
    });
  });

  it('a write watch stops on the guest write, which lands in memory', async function () {
    await using(info, OUTS, async ({ m, serial }) => {
      const s = await m.run(5000, { breakpoints: [], watches: [{ start: 0x400, end: 0x404, kind: 'write' }] });
      assert.equal(s.reason, 'data-breakpoint', where(s));
      assert.ok(s.access, 'the access is reported');
      const { at: by, ...access } = s.access;
      assert.deepEqual(access, { address: 0x400, length: 4, write: true, data: [42, 0, 0, 0] });
      assert.equal(m.memory.view.getUint32(0x400, true), 42);
      assert.equal(serial(), 'AB');
      if (accel === 'kvm') {
        // KVM reports the exit after the writing instruction (0x100008) has been decoded; where RIP
        // points depends on the KVM: at the writer or after it, never elsewhere.
        assert.ok(s.regs.rip === at(18) || s.regs.rip === at(8), `rip ${hex(s.regs.rip)}`);
        if (by !== undefined) assert.equal(by, at(8));
      } else {
        assert.equal(s.regs.rip, at(18), 'the watch fires once the store has completed');
        assert.equal(by, at(8), 'the writing instruction');
      }
      const end = await m.run(5000, { breakpoints: [], watches: [{ start: 0x400, end: 0x404, kind: 'write' }] });
      assert.equal(end.reason, 'halted', where(end));
      assert.equal(serial(), 'ABC');
      assert.equal(m.memory.view.getUint32(0x400, true), 42);
    });
  });

  it('a write watch on a neighbouring range does not fire; the guest halts', async function () {
    await using(info, OUTS, async ({ m, serial }) => {
      const s = await m.run(5000, { breakpoints: [], watches: [{ start: 0x404, end: 0x408, kind: 'write' }] });
      assert.equal(s.reason, 'halted', where(s));
      assert.equal(serial(), 'ABC');
    });
  });

  it(`says which data watches ${accel === 'kvm' ? 'KVM' : 'the software CPU'} supports`, function () {
    assert.deepEqual([...info.capabilities.watchKinds].sort(), accel === 'kvm' ? ['write'] : ['read', 'readWrite', 'write']);
  });
});

tcgOnly('debug engine: read and read/write watches', function () {
  this.timeout(60000);
  let info: AcceleratorInfo;
  before(async function () {
    info = await acceleratorInfo('tcg');
  });

  it('a read watch ignores writes and stops after the reading instruction, naming it and the bytes read', async function () {
    await using(info, CALLS, async ({ m }) => {
      const watches: Watch[] = [{ start: 0x400, end: 0x404, kind: 'read' }];
      const s = await m.run(5000, { breakpoints: [], watches });
      assert.equal(s.reason, 'data-breakpoint', where(s));
      assert.deepEqual(s.access, { address: 0x400, length: 4, write: false, data: [7, 0, 0, 0], at: at(5) });
      assert.equal(s.regs.rip, at(11), 'the read completed: RIP is at the next instruction');
      assert.equal(s.regs.rbx & 0xffffffffn, 7n, 'EBX holds what was read');
      const end = await m.run(5000, { breakpoints: [], watches });
      assert.equal(end.reason, 'halted', where(end));
      assert.equal(m.memory.view.getUint32(0x404, true), 7);
    });
  });

  it('a read/write watch stops on the write, then on the read', async function () {
    await using(info, CALLS, async ({ m }) => {
      const watches: Watch[] = [{ start: 0x400, end: 0x404, kind: 'readWrite' }];
      const w = await m.run(5000, { breakpoints: [], watches });
      assert.equal(w.reason, 'data-breakpoint', where(w));
      assert.deepEqual(w.access, { address: 0x400, length: 4, write: true, data: [7, 0, 0, 0], at: at(23) });
      assert.equal(w.regs.rip, at(28));
      const r = await m.run(5000, { breakpoints: [], watches });
      assert.equal(r.reason, 'data-breakpoint', where(r));
      assert.deepEqual(r.access, { address: 0x400, length: 4, write: false, data: [7, 0, 0, 0], at: at(5) });
      const end = await m.run(5000, { breakpoints: [], watches });
      assert.equal(end.reason, 'halted', where(end));
    });
  });

  it('a one-byte read watch inside a 4-byte read fires (overlap, not containment)', async function () {
    await using(info, CALLS, async ({ m }) => {
      const s = await m.run(5000, { breakpoints: [], watches: [{ start: 0x402, end: 0x403, kind: 'read' }] });
      assert.equal(s.reason, 'data-breakpoint', where(s));
      assert.equal(s.access?.at, at(5));
      assert.equal(s.access?.write, false);
    });
  });

  it('guest RAM is one read-write region (no memory slots)', async function () {
    await using(info, OUTS, async ({ m }) => {
      const regions = m.regions();
      assert.equal(regions.length, 1);
      assert.equal(regions[0].guestPhysical, 0);
      assert.equal(regions[0].size, 2 << 20);
      assert.equal(regions[0].slot, undefined);
      assert.equal(regions[0].hostVirtual, m.memory.hostAddress, 'the engine runs on the monitor\'s own mapping');
      assert.match(regions[0].access, /^read-write/);
    });
  });
});

kvmOnly('debug engine: what only KVM has', function () {
  this.timeout(60000);
  let info: AcceleratorInfo;
  before(async function () {
    info = await acceleratorInfo('kvm');
  });

  it('hardware breakpoints fire on DR0–DR3 where this host\'s KVM fires them (else the engine scans)', async function () {
    // Whether DR0–DR3 fire here: the tests' own C probe (kvm-reference-probe.c), not kvm-guest's.
    const ref = kvmReference();
    assert.equal(info.capabilities.nativeBreakpoints, ref.hardwareBreakpoints ? 4 : 0, `the session arms what the host does (reference probe: ${ref.notes.hardwareBreakpoints})`);
    await using(info, OUTS, async ({ m, serial }) => {
      // Armed directly, without the debug engine: the four debug registers.
      const s = await m.runArmed({ breakpoints: [at(2), at(4), at(6), at(18)], singleStep: false, watches: [] }, 5000);
      if (ref.hardwareBreakpoints) {
        assert.equal(s.reason, 'breakpoint', where(s));
        assert.equal(s.regs.rip, at(2));
        assert.equal(serial(), '');
      } else {
        // A host whose debug registers never fire: the guest runs through.
        assert.equal(s.reason, 'halted', `${where(s)}; reference probe: ${ref.notes.hardwareBreakpoints}`);
      }
    });
  });

  it('refuses read and read/write watches with a clear error', async function () {
    await using(info, CALLS, async ({ m }) => {
      for (const kind of ['read', 'readWrite'] as const)
        await assert.rejects(m.run(5000, { breakpoints: [], watches: [{ start: 0x400, end: 0x404, kind }] }), new RegExp(`^Error: KVM.* cannot watch ${kind} accesses \\(it watches: write\\)$`));
      const s = await m.run(5000, { breakpoints: [] });
      assert.equal(s.reason, 'halted', 'the refused run did not start the guest');
    });
  });

  it('a write watch turns the slot holding it read-only for the run, and only that page', async function () {
    await using(info, OUTS, async ({ m }) => {
      const s = await m.run(5000, { breakpoints: [], watches: [{ start: 0x400, end: 0x404, kind: 'write' }] });
      assert.equal(s.reason, 'data-breakpoint', where(s));
      const regions = m.regions();
      const ro = regions.filter((r) => /read-only/.test(r.access));
      assert.equal(ro.length, 1, JSON.stringify(regions, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
      assert.ok(ro[0].guestPhysical <= 0x400 && ro[0].guestPhysical + ro[0].size >= 0x404, 'the read-only slot covers the watch');
      assert.ok(ro[0].size <= 0x1000, 'no more than the page');
      assert.ok(regions.every((r) => typeof r.slot === 'number'), 'KVM memory is made of slots');
    });
  });
});
