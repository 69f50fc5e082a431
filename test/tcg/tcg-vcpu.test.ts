// The software CPU (Unicorn 2) against the Vcpu contract: output and exit counts, registers after
// HLT, PC semantics (RIP = offset in CS, linear PC = CS.base + RIP) after every kind of stop in
// every mode, breakpoints, single-step, watches, MMIO, exception delivery and the stop from another
// thread. Each "measured" test pins a fact about Unicorn the backend relies on.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildGuest } from '../../debug-adapter/toolchain/build';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';
import type { VcpuExit } from '../../debug-adapter/vmm/accelerator';
import { DEFAULT_WIRING, NO_DEBUG } from '../../debug-adapter/vmm/accelerator';
import { emuStopByAddress, INSTALL_HINT, SoftwareCpuUnavailable, unicorn } from '../../debug-adapter/vmm/tcg/unicorn-lib';
import { openSoftwareCpu, TcgVm } from '../../debug-adapter/vmm/tcg/tcg-vm';
import { softwareInterruptLength } from '../../debug-adapter/vmm/tcg/tcg-vcpu';
import { IN_VALUE, load, makeRig, OUT_PORT, Rig, startIn } from './harness';

const hex = (v: bigint | number): string => '0x' + v.toString(16);

describe('software CPU: library', () => {
  it('loads libunicorn.so.2 and reports 2.0.x', () => {
    const v = unicorn().version;
    assert.equal(v.major, 2);
    const info = openSoftwareCpu();
    assert.equal(info.name, 'tcg');
    assert.match(info.label, /^software CPU \(Unicorn 2\.\d+\.\d+\)$/);
    assert.equal(info.capabilities.nativeBreakpoints, Infinity);
    assert.deepEqual(info.capabilities.modes, ['real', 'protected', 'paged32', 'long']);
  });

  it('SoftwareCpuUnavailable says how to install Unicorn', () => {
    const e = new SoftwareCpuUnavailable('libunicorn.so.2 could not be loaded');
    assert.equal(e.name, 'SoftwareCpuUnavailable');
    assert.ok(e.message.includes(INSTALL_HINT));
    assert.match(INSTALL_HINT, /apt-get install libunicorn2.*dnf install unicorn.*brew install unicorn/);
  });

  it('recognises INT n / INT3 / INTO / ICEBP lengths', () => {
    assert.equal(softwareInterruptLength([0xcd, 0x30], 0x30, false), 2);
    assert.equal(softwareInterruptLength([0x66, 0xcd, 0x30], 0x30, false), 3);
    assert.equal(softwareInterruptLength([0xcc], 3, false), 1);
    assert.equal(softwareInterruptLength([0x0f, 0x0b], 6, false), 0);
    assert.equal(softwareInterruptLength([0xcd, 0x0d], 13, false), 2);
    assert.equal(softwareInterruptLength([0x48, 0xcd, 0x0d], 13, true), 3);
  });
});

describe('software CPU: Linux Journal kernel2', function () {
  this.timeout(60000);
  it('prints "Hello\\n" with exactly 6 OUT exits on port 0xF1 in real mode at F000:FFF0', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcg-k2-'));
    const r = await buildGuest({ source: path.resolve(__dirname, '../../../guests/linux-journal/kernel2.S'), mode: 'real', outDir });
    assert.ok(r.ok, r.ok ? '' : r.message);
    const image = fs.readFileSync(r.flat!);
    const rig = makeRig();
    try {
      rig.mem.set(image, 0xf0000);
      startIn(rig, 'real', { kind: 'real', segment: 0xf000, offset: 0xfff0 });
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assert.equal(Buffer.from(rig.output).toString(), 'Hello\n');
      const stats = rig.counters.snapshot();
      assert.deepEqual(stats.exits, { IO: 6, HLT: 1 });
      assert.deepEqual(stats.ports[OUT_PORT], { in: 0, out: 6 });
      const s = rig.vcpu.getState();
      assert.equal(s.sregs.cs.selector, 0xf000);
      assert.equal(s.sregs.cs.base, 0xf0000n);
      assert.equal(rig.vcpu.pc(), s.sregs.cs.base + s.regs.rip);
      assert.equal(rig.mem[Number(rig.vcpu.pc()) - 1], 0xf4, 'RIP is just after the HLT');
    } finally {
      rig.close();
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });
});

// One program per mode; fixed offsets from `start`:
//   0 mov $0x41,%al | 2 out %al,$0xf1 | 4 in $0xf2,%al | 6 mov %al,%bl | 8 nop | 9 nop (MID) | 10 hlt | 11
const OFF = { OUT: 2, IN: 4, MOVBL: 6, MID: 9, HLT: 10, AFTER: 11 };
const body = (bits: string): string => `${bits}\nstart: mov $0x41,%al\n out %al,$0xf1\n in $0xf2,%al\n mov %al,%bl\n nop\n nop\n hlt\n`;

interface ModeCase {
  name: string;
  mode: CpuMode;
  bits: string;
  /** Linear address of `start`, and CS.base. */
  start: number;
  csBase: number;
  setup(rig: Rig, source: string): void;
}

const CASES: ModeCase[] = [
  {
    name: 'real mode at F000:FFF0 (CS.base 0xF0000)', mode: 'real', bits: '.code16', start: 0xffff0, csBase: 0xf0000,
    setup(rig, src) {
      load(rig, src, 0);
      rig.mem.copyWithin(0xffff0, 0, 16);
      startIn(rig, 'real', { kind: 'real', segment: 0xf000, offset: 0xfff0 });
    },
  },
  {
    name: 'real mode at 1000:0000', mode: 'real', bits: '.code16', start: 0x10000, csBase: 0x10000,
    setup(rig, src) {
      load(rig, src, 0);
      rig.mem.copyWithin(0x10000, 0, 16);
      startIn(rig, 'real', { kind: 'real', segment: 0x1000, offset: 0 });
    },
  },
  {
    name: 'protected mode (flat 32-bit)', mode: 'protected', bits: '.code32', start: 0x10000, csBase: 0,
    setup(rig, src) {
      load(rig, src, 0x10000);
      startIn(rig, 'protected', { kind: 'linear', address: 0x10000 });
    },
  },
  {
    name: 'paged32 (4 MiB pages)', mode: 'paged32', bits: '.code32', start: 0x10000, csBase: 0,
    setup(rig, src) {
      load(rig, src, 0x10000);
      startIn(rig, 'paged32', { kind: 'linear', address: 0x10000 });
    },
  },
  {
    name: 'long mode (identity map at CR3 0x91000)', mode: 'long', bits: '.code64', start: 0x10000, csBase: 0,
    setup(rig, src) {
      load(rig, src, 0x10000);
      startIn(rig, 'long', { kind: 'linear', address: 0x10000 });
    },
  },
];

function withRig(fn: (rig: Rig) => void, memSize?: number): void {
  const rig = makeRig(memSize);
  try {
    fn(rig);
  } finally {
    rig.close();
  }
}

/** RIP reads as the offset in CS and pc() as CS.base + RIP = `linear`. */
function assertPc(rig: Rig, c: ModeCase, linear: number, what: string): void {
  const s = rig.vcpu.getState();
  assert.equal(s.sregs.cs.base, BigInt(c.csBase), `${what}: CS.base`);
  assert.equal(hex(s.regs.rip), hex(linear - c.csBase), `${what}: RIP is the offset in CS`);
  assert.equal(hex(rig.vcpu.pc()), hex(linear), `${what}: pc() is linear`);
}

for (const c of CASES) {
  describe(`software CPU: ${c.name}`, () => {
    const src = body(c.bits);

    it('runs to HLT with IN/OUT served and counted, RIP after the HLT', () => withRig((rig) => {
      c.setup(rig, src);
      assertPc(rig, c, c.start, 'after setState');
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assert.deepEqual(rig.output, [0x41]);
      assert.deepEqual(rig.counters.snapshot().exits, { IO: 2, HLT: 1 });
      const s = rig.vcpu.getState();
      assert.equal(s.regs.rbx & 0xffn, BigInt(IN_VALUE));
      assertPc(rig, c, c.start + OFF.AFTER, 'after HLT');
      const mode = s.sregs;
      if (c.mode === 'long') assert.ok(mode.cs.l === 1 && (mode.efer & 0x400n) !== 0n, 'still in long mode');
      if (c.mode === 'protected') assert.equal(mode.cs.db, 1);
    }));

    it('stops before a breakpoint, RIP at it; resuming from it does not fire again', () => withRig((rig) => {
      c.setup(rig, src);
      const mid = BigInt(c.start + OFF.MID);
      rig.vcpu.setDebug({ breakpoints: [mid], singleStep: false, watches: [] });
      assert.deepEqual(rig.vcpu.run(), { kind: 'breakpoint', pc: mid });
      assertPc(rig, c, c.start + OFF.MID, 'at the breakpoint');
      assert.equal(rig.counters.snapshot().exits.HLT, undefined);
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assertPc(rig, c, c.start + OFF.AFTER, 'after HLT');
    }));

    it('a breakpoint where run() starts does not fire on its first instruction', () => withRig((rig) => {
      c.setup(rig, src);
      rig.vcpu.setDebug({ breakpoints: [BigInt(c.start)], singleStep: false, watches: [] });
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
    }));

    it('single-steps one instruction at a time (OUT and IN count as one), HLT returns halt', () => withRig((rig) => {
      c.setup(rig, src);
      rig.vcpu.setDebug({ ...NO_DEBUG, singleStep: true });
      const expected = [OFF.OUT, OFF.IN, OFF.MOVBL, 8, OFF.MID, OFF.HLT];
      for (const off of expected) {
        const e = rig.vcpu.run();
        assert.deepEqual(e, { kind: 'step', pc: BigInt(c.start + off) });
        assertPc(rig, c, c.start + off, `step to +${off}`);
      }
      assert.deepEqual(rig.output, [0x41]);
      assert.deepEqual(rig.counters.snapshot().exits, { IO: 2 });
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assertPc(rig, c, c.start + OFF.AFTER, 'after stepping HLT');
      assert.deepEqual(rig.counters.snapshot().exits, { IO: 2, HLT: 1 });
    }));

    it('a set-up breakpoint plus single-step: the step is reported first', () => withRig((rig) => {
      c.setup(rig, src);
      rig.vcpu.setDebug({ breakpoints: [BigInt(c.start + OFF.OUT)], singleStep: true, watches: [] });
      assert.deepEqual(rig.vcpu.run(), { kind: 'step', pc: BigInt(c.start + OFF.OUT) });
      rig.vcpu.setDebug({ breakpoints: [BigInt(c.start + OFF.OUT)], singleStep: false, watches: [] });
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' }, 'resuming from the breakpoint');
    }));

    it('returns kicked without running when CTL.STOP is set', () => withRig((rig) => {
      c.setup(rig, src);
      Atomics.store(rig.ctl, 0, 1);
      assert.deepEqual(rig.vcpu.run(), { kind: 'kicked' });
      assertPc(rig, c, c.start, 'nothing ran');
      assert.deepEqual(rig.output, []);
    }));

    it('instructionBytes() and translate() see CS:RIP', () => withRig((rig) => {
      c.setup(rig, src);
      assert.deepEqual(rig.vcpu.instructionBytes().slice(0, 4), [0xb0, 0x41, 0xe6, 0xf1]);
      assert.equal(rig.vcpu.translate(BigInt(c.start)), BigInt(c.start));
    }));
  });
}

describe('software CPU: exceptions and INT n through the guest IVT/IDT', () => {
  // The handler (HLT) lives at linear 0x10100; the faulting code at 0x10000.
  const HANDLER = 0x10100;

  function installGate(rig: Rig, mode: CpuMode, vector: number): void {
    if (mode === 'real') {
      rig.view.setUint16(vector * 4, HANDLER - 0x10000, true);
      rig.view.setUint16(vector * 4 + 2, 0x1000, true);
      return;
    }
    const s = rig.vcpu.getState();
    const IDT = 0x20000;
    const sel = mode === 'long' ? 0x18 : 0x08;
    if (mode === 'long') {
      rig.view.setUint32(IDT + vector * 16, (sel << 16) | (HANDLER & 0xffff), true);
      rig.view.setUint32(IDT + vector * 16 + 4, (HANDLER & 0xffff0000) | 0x8e00, true);
      rig.view.setBigUint64(IDT + vector * 16 + 8, 0n, true);
      s.sregs.idt = { base: BigInt(IDT), limit: 256 * 16 - 1 };
    } else {
      rig.view.setUint32(IDT + vector * 8, (sel << 16) | (HANDLER & 0xffff), true);
      rig.view.setUint32(IDT + vector * 8 + 4, ((HANDLER & 0xffff0000) | 0x8e00) >>> 0, true);
      s.sregs.idt = { base: BigInt(IDT), limit: 256 * 8 - 1 };
    }
    rig.vcpu.setState(s.regs, s.sregs);
  }

  /** The return address the delivery pushed (top of the frame, past an error code if any). */
  function pushedIp(rig: Rig, mode: CpuMode, errorCode: boolean): { ip: bigint; code?: number } {
    const s = rig.vcpu.getState();
    const sp = Number(s.sregs.ss.base + s.regs.rsp);
    const width = mode === 'long' ? 8 : mode === 'real' ? 2 : 4;
    const at = sp + (errorCode ? width : 0);
    const ip = width === 8 ? rig.view.getBigUint64(at, true) : BigInt(width === 4 ? rig.view.getUint32(at, true) : rig.view.getUint16(at, true));
    return { ip, code: errorCode ? (width === 8 ? Number(rig.view.getBigUint64(sp, true)) : rig.view.getUint32(sp, true)) : undefined };
  }

  const modes: [CpuMode, string, number][] = [['real', '.code16', 0], ['protected', '.code32', 0x10000], ['paged32', '.code32', 0x10000], ['long', '.code64', 0x10000]];
  function setup(rig: Rig, mode: CpuMode, bits: string, code: string): void {
    rig.mem.set(new Uint8Array([0xf4]), HANDLER);
    if (mode === 'real') {
      load(rig, `${bits}\n${code}`, 0);
      rig.mem.copyWithin(0x10000, 0, 0x40);
      rig.mem.fill(0, 0, 0x40);
      startIn(rig, 'real', { kind: 'real', segment: 0x1000, offset: 0 });
    } else {
      load(rig, `${bits}\n${code}`, 0x10000);
      startIn(rig, mode, { kind: 'linear', address: 0x10000 });
    }
  }

  for (const [mode, bits, org] of modes) {
    it(`${mode}: ud2 is delivered as #UD with the ud2's address pushed`, () => withRig((rig) => {
      setup(rig, mode, bits, ' nop\n nop\n ud2\n hlt');
      installGate(rig, mode, 6);
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assert.equal(rig.vcpu.pc(), BigInt(HANDLER + 1), 'stopped at the handler’s HLT');
      assert.equal(hex(pushedIp(rig, mode, false).ip), hex(org + 2));
    }));

    it(`${mode}: int $0x30 is delivered as a software interrupt with the next address pushed`, () => withRig((rig) => {
      setup(rig, mode, bits, ' nop\n int $0x30\n hlt');
      installGate(rig, mode, 0x30);
      assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
      assert.equal(rig.vcpu.pc(), BigInt(HANDLER + 1));
      assert.equal(hex(pushedIp(rig, mode, false).ip), hex(org + 3));
    }));

    it(`${mode}: single-stepping ud2 stops at the handler`, () => withRig((rig) => {
      setup(rig, mode, bits, ' ud2\n hlt');
      installGate(rig, mode, 6);
      rig.vcpu.setDebug({ ...NO_DEBUG, singleStep: true });
      assert.deepEqual(rig.vcpu.run(), { kind: 'step', pc: BigInt(HANDLER) });
    }));
  }

  it('paged32: #PF pushes the error code and sets CR2', () => withRig((rig) => {
    setup(rig, 'paged32', '.code32', ' nop\n movl 0x80000000, %eax\n hlt');
    rig.view.setUint32(0x97000 + (0x80000000 >>> 22) * 4, 0, true); // not present
    installGate(rig, 'paged32', 14);
    assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
    const { ip, code } = pushedIp(rig, 'paged32', true);
    assert.equal(hex(ip), hex(0x10001));
    assert.equal(code, 0, 'supervisor read of a not-present page');
    assert.equal(rig.vcpu.getState().sregs.cr2, 0x80000000n);
  }));

  it('protected mode with an empty IDT: ud2 triple-faults → shutdown, counted', () => withRig((rig) => {
    setup(rig, 'protected', '.code32', ' ud2');
    const e = rig.vcpu.run();
    assert.equal(e.kind, 'shutdown');
    assert.equal(rig.counters.snapshot().exits.SHUTDOWN, 1);
  }));
});

describe('software CPU: a guest that switches real → protected → long itself', () => {
  const SRC = `
.code16
start:
  cli
  lgdtl %cs:gdtr - 0x8000
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x08, $pm32
.code32
pm32:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x41, %al
  out %al, $0xf1
  mov %cr4, %eax
  or $0x20, %eax
  mov %eax, %cr4
  mov $0x91000, %eax
  mov %eax, %cr3
  mov $0xc0000080, %ecx
  rdmsr
  or $0x100, %eax
  wrmsr
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  ljmp $0x18, $lm64
.code64
lm64:
  mov $0x42, %al
  out %al, $0xf1
  mov $0x1122334455667788, %rbx
  hlt
gdtr: .word 0x2f
  .long 0x90000
`;
  function setup(rig: Rig): void {
    // The monitor's long-mode tables (GDT at 0x90000, identity map at 0x91000), then real mode.
    startIn(rig, 'long', { kind: 'linear', address: 0 });
    load(rig, SRC, 0x8000);
    startIn(rig, 'real', { kind: 'real', segment: 0x0800, offset: 0 });
    // startIn('real') does not rewrite the tables: they stay from the long-mode call.
  }

  it('runs to HLT in 64-bit mode with the right state', () => withRig((rig) => {
    setup(rig);
    assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
    assert.deepEqual(rig.output, [0x41, 0x42]);
    const s = rig.vcpu.getState();
    assert.equal(s.regs.rbx, 0x1122334455667788n);
    assert.equal(s.sregs.cs.selector, 0x18);
    assert.equal(s.sregs.cs.l, 1);
    assert.equal(s.sregs.cs.base, 0n);
    assert.ok((s.sregs.efer & 0x500n) === 0x500n, `EFER ${hex(s.sregs.efer)} has LME and LMA`);
    assert.equal(s.sregs.ds.selector, 0x10);
    assert.equal(rig.mem[Number(rig.vcpu.pc()) - 1], 0xf4);
  }));

  it('single-steps through every mode switch with pc() = CS.base + RIP', () => withRig((rig) => {
    setup(rig);
    rig.vcpu.setDebug({ ...NO_DEBUG, singleStep: true });
    let steps = 0;
    for (;;) {
      const e = rig.vcpu.run();
      if (e.kind === 'halt') break;
      assert.equal(e.kind, 'step', JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? hex(v) : v)));
      const s = rig.vcpu.getState();
      assert.equal((e as { pc: bigint }).pc, s.sregs.cs.base + s.regs.rip);
      assert.equal(rig.vcpu.pc(), s.sregs.cs.base + s.regs.rip);
      assert.ok(++steps < 100);
    }
    assert.deepEqual(rig.output, [0x41, 0x42]);
    assert.ok(steps > 20);
  }));
});

describe('software CPU: MMIO', () => {
  it('long mode: reads outside RAM at 0xd0000000 are all-ones, each access counted once', () => withRig((rig) => {
    load(rig, '.code64\n mov $0xd0000000, %rsi\n mov (%rsi), %eax\n movl $0x12345678, 4(%rsi)\n mov (%rsi), %bx\n hlt', 0x10000);
    startIn(rig, 'long', { kind: 'linear', address: 0x10000 });
    assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
    const s = rig.vcpu.getState();
    assert.equal(s.regs.rax, 0xffffffffn);
    assert.equal(s.regs.rbx & 0xffffn, 0xffffn);
    const stats = rig.counters.snapshot();
    assert.equal(stats.exits.MMIO, 3);
    assert.deepEqual(stats.mmio[0xd0000000], { read: 2, write: 0 });
    assert.deepEqual(stats.mmio[0xd0000004], { read: 0, write: 1 });
    // The bus reports an unmapped address once per direction.
    assert.deepEqual(rig.unmapped.map((u) => [hex(u.address), u.write, u.size]), [['0xd0000000', false, 4], ['0xd0000004', true, 4]]);
  }));

  it('an instruction fetch outside RAM is an internal error naming the address', () => withRig((rig) => {
    load(rig, '.code64\n mov $0xd0001000, %rax\n jmp *%rax', 0x10000);
    startIn(rig, 'long', { kind: 'linear', address: 0x10000 });
    const e = rig.vcpu.run();
    assert.deepEqual(e, { kind: 'internal-error', message: 'instruction fetch from unmapped guest-physical address 0xd0001000' });
  }));
});

describe('software CPU: watches', () => {
  it('real mode: write and read watches on guest-physical addresses with DS.base applied', () => withRig((rig) => {
    const src = `.code16
  mov $0x2000, %ax
  mov %ax, %ds
  movb $0x77, 0x10
  mov $1, %cx
  mov 0x10, %bl
  mov $2, %cx
  hlt`;
    load(rig, src, 0);
    rig.mem.copyWithin(0x10000, 0, 0x40);
    startIn(rig, 'real', { kind: 'real', segment: 0x1000, offset: 0 });
    rig.vcpu.setDebug({ breakpoints: [], singleStep: false, watches: [{ start: 0x20010, end: 0x20011, kind: 'write' }] });
    const e = rig.vcpu.run();
    // mov ax (3) + mov ds (2) = 5: movb at 0x10005 (5 bytes), next at 0x1000a.
    assert.deepEqual(e, { kind: 'watch', pc: 0x1000an, at: 0x10005n, access: { address: 0x20010, length: 1, write: true, data: [0x77] } });
    assert.equal(rig.mem[0x20010], 0x77, 'the write completed');
    assert.equal(rig.vcpu.getState().regs.rcx & 0xffffn, 0n, 'nothing after it ran');
    rig.vcpu.setDebug({ breakpoints: [], singleStep: false, watches: [{ start: 0x20010, end: 0x20011, kind: 'read' }] });
    const r = rig.vcpu.run();
    assert.deepEqual(r, { kind: 'watch', pc: 0x10011n, at: 0x1000dn, access: { address: 0x20010, length: 1, write: false, data: [0x77] } });
    assert.equal(rig.vcpu.getState().regs.rbx & 0xffn, 0x77n);
    rig.vcpu.setDebug(NO_DEBUG);
    assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
  }));

  it('measured: Unicorn 2.0.x checks the page tables (faults) but accesses physical = linear', () => withRig((rig) => {
    load(rig, '.code32\n movl $0xabcdef01, 0x00400010\n nop\n hlt', 0x10000);
    startIn(rig, 'paged32', { kind: 'linear', address: 0x10000 });
    rig.view.setUint32(0x97000 + 0x001 * 4, 0x00800083, true); // linear 0x400000 → physical 0x800000
    rig.vcpu.setDebug({ breakpoints: [], singleStep: false, watches: [{ start: 0x400010, end: 0x400014, kind: 'write' }] });
    const e = rig.vcpu.run();
    const v = unicorn().version;
    if (v.major === 2 && v.minor === 0) {
      // unicorn-engine/unicorn#1953: the write lands at the identity address; watches and
      // translate() follow what the guest really touches.
      assert.deepEqual(e, { kind: 'watch', pc: 0x1000an, at: 0x10000n, access: { address: 0x400010, length: 4, write: true, data: [0x01, 0xef, 0xcd, 0xab] } });
      assert.equal(rig.view.getUint32(0x400010, true), 0xabcdef01);
      assert.equal(rig.view.getUint32(0x800010, true), 0);
      assert.equal(rig.vcpu.translate(0x400010n), 0x400010n);
    } else {
      assert.equal(rig.view.getUint32(0x800010, true), 0xabcdef01);
    }
  }, 16 << 20));

  it('long mode: a write watch on the stack catches push', () => withRig((rig) => {
    load(rig, '.code64\n mov $0x1234, %rax\n push %rax\n nop\n hlt', 0x10000);
    startIn(rig, 'long', { kind: 'linear', address: 0x10000 });
    rig.vcpu.setDebug({ breakpoints: [], singleStep: false, watches: [{ start: 0x9fff8, end: 0xa0000, kind: 'write' }] });
    const e = rig.vcpu.run();
    assert.deepEqual(e, { kind: 'watch', pc: 0x10008n, at: 0x10007n, access: { address: 0x9fff8, length: 8, write: true, data: [0x34, 0x12, 0, 0, 0, 0, 0, 0] } });
  }));
});

describe('software CPU: breakpoints set after code was translated', () => {
  it('fire in blocks that already ran', () => withRig((rig) => {
    load(rig, `.code32
  xor %ebx, %ebx
loop: inc %ebx
  cmp $3, %ebx
  jne 1f
  hlt
1: cmp $6, %ebx
  jb loop
  hlt`, 0x10000);
    startIn(rig, 'protected', { kind: 'linear', address: 0x10000 });
    assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
    rig.vcpu.setDebug({ breakpoints: [0x10002n], singleStep: false, watches: [] });
    assert.deepEqual(rig.vcpu.run(), { kind: 'breakpoint', pc: 0x10002n });
    assert.equal(rig.vcpu.getState().regs.rbx, 3n);
  }));
});

describe('software CPU: stop from another thread (uc_emu_stop on the main thread)', function () {
  this.timeout(20000);
  /**
   * Runs a loop in a worker and stops it from this thread: first `bareKicks` uc_emu_stop calls
   * without a stop request (what an interrupt window or a timer does), then the monitor's kick
   * (CTL.STOP set, then uc_emu_stop). `endedEarly`: the run ended before the monitor's kick.
   */
  function kickRun(mode: CpuMode, bareKicks: number): Promise<{ exit: VcpuExit; pc: bigint; rip: bigint; csBase: bigint; loopPc: bigint; endedEarly: boolean }> {
    const ctl = new SharedArrayBuffer(16);
    const w = new Worker(path.join(__dirname, 'kick-worker.js'), { workerData: { mode, ctl } });
    let monitorKicked = false;
    return new Promise((resolve, reject) => {
      w.on('error', reject);
      w.on('message', (m: { type: string; handle?: { engine: bigint } }) => {
        if (m.type === 'engine') {
          const vm = new TcgVm(openSoftwareCpu(), { size: 2 << 20, hostAddress: 0n } as never, DEFAULT_WIRING);
          vm.attach({ kind: 'tcg', engine: m.handle!.engine });
          for (let i = 0; i < bareKicks; i++) setTimeout(() => vm.kick(), 50 + i * 50);
          setTimeout(() => {
            monitorKicked = true;
            Atomics.store(new Int32Array(ctl), 0, 1);
            vm.kick();
          }, 100 + bareKicks * 50);
        } else {
          resolve({ ...(m as object), endedEarly: !monitorKicked } as never);
          void w.terminate();
        }
      });
    });
  }
  for (const mode of ['real', 'protected', 'paged32', 'long'] as CpuMode[]) {
    it(`${mode}: ends in kicked with pc() at the loop`, async () => {
      const r = await kickRun(mode, 0);
      assert.deepEqual(r.exit, { kind: 'kicked' });
      assert.equal(hex(r.pc), hex(r.loopPc));
      assert.equal(hex(r.rip), hex(r.loopPc - r.csBase));
    });
  }
  it('a stop without a stop request (an interrupt window, a timer) does not end the run', async () => {
    const r = await kickRun('protected', 3);
    assert.equal(r.endedEarly, false, 'the run ended at a uc_emu_stop nobody asked to end it');
    assert.deepEqual(r.exit, { kind: 'kicked' });
    assert.equal(hex(r.pc), hex(r.loopPc));
  });
  it('emuStopByAddress is callable on the main thread', () => {
    assert.equal(typeof emuStopByAddress, 'function');
  });
});

describe('software CPU: speed', function () {
  this.timeout(60000);
  it('port I/O costs close to a koffi callback', () => withRig((rig) => {
    const N = 200000;
    load(rig, `.code32\n mov $${N}, %ecx\n1: out %al, $0x80\n dec %ecx\n jnz 1b\n hlt`, 0x10000);
    startIn(rig, 'protected', { kind: 'linear', address: 0x10000 });
    const t0 = process.hrtime.bigint();
    assert.deepEqual(rig.vcpu.run(), { kind: 'halt' });
    const us = Number(process.hrtime.bigint() - t0) / 1000 / N;
    assert.equal(rig.counters.snapshot().exits.IO, N);
    console.log(`      ${us.toFixed(3)} µs per OUT (unmapped port: counted, reported once)`);
    assert.ok(us < 5, `${us} µs per OUT`);
  }));
});
