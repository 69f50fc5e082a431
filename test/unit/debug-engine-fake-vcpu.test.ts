// The shared debug engine against a made-up vCPU (no accelerator needed): breakpoints beyond what a
// vCPU arms natively, stepping off a breakpoint, line steps, stop points, step out, and exits that
// must pass straight through. The fake executes a tiny "program" of instructions with fixed sizes.
import assert from 'node:assert/strict';
import { debugRun } from '../../debug-adapter/vmm/debug-engine';
import type { DebugArm, KickHandle, Vcpu, VcpuExit } from '../../debug-adapter/vmm/accelerator';
import type { CpuState, Regs, SRegs } from '../../debug-adapter/vmm/cpu-state';
import { resetSRegs, zeroRegs } from '../../debug-adapter/vmm/cpu-state';

/** One instruction: its size, and optionally what it does to the stack pointer or where it jumps. */
interface Insn {
  size: number;
  jump?: number;
  sp?: number;
  halt?: boolean;
  watch?: boolean;
}

class FakeVcpu implements Vcpu {
  pcValue: number;
  spValue = 0x1000;
  arms: DebugArm[] = [];
  executed = 0;
  private arm: DebugArm = { breakpoints: [], singleStep: false, watches: [] };
  private readonly regs: Regs = zeroRegs();
  private readonly sregs: SRegs = resetSRegs();

  /**
   * `refiresAtStart`: native breakpoints fire at the run's first instruction too, as KVM's debug
   * registers do (no RF flag on entry); otherwise they do not, as the software CPU's.
   */
  constructor(private readonly program: Map<number, Insn>, entry: number, private readonly nativeLimit: number, private readonly refiresAtStart = false) {
    this.pcValue = entry;
    this.sregs.cs.base = 0n;
  }

  run(): VcpuExit {
    let first = true;
    for (let n = 0; n < 10000; n++) {
      // A native breakpoint stops before the instruction, except on the first one of a run.
      if ((!first || this.refiresAtStart) && this.arm.breakpoints.includes(BigInt(this.pcValue))) return { kind: 'breakpoint', pc: BigInt(this.pcValue) };
      first = false;
      const insn = this.program.get(this.pcValue);
      if (!insn) throw new Error(`no instruction at ${this.pcValue.toString(16)}`);
      if (insn.halt) return { kind: 'halt' };
      this.executed++;
      const at = this.pcValue;
      this.pcValue = insn.jump ?? this.pcValue + insn.size;
      if (insn.sp !== undefined) this.spValue += insn.sp;
      if (insn.watch && this.arm.watches.length > 0)
        return { kind: 'watch', pc: BigInt(this.pcValue), at: BigInt(at), access: { address: 0x400, length: 1, write: true, data: [1] } };
      if (this.arm.singleStep) return { kind: 'step', pc: BigInt(this.pcValue) };
    }
    throw new Error('runaway fake guest');
  }

  getState(): CpuState {
    return { regs: { ...this.regs, rip: BigInt(this.pcValue), rsp: BigInt(this.spValue) }, sregs: this.sregs };
  }
  setState(): void {}
  pc(): bigint {
    return BigInt(this.pcValue);
  }
  sp(): bigint {
    return BigInt(this.spValue);
  }
  setDebug(arm: DebugArm): void {
    assert.ok(arm.breakpoints.length <= this.nativeLimit, `armed ${arm.breakpoints.length} breakpoints natively, limit ${this.nativeLimit}`);
    this.arm = arm;
    this.arms.push(arm);
  }
  translate(linear: bigint): bigint {
    return linear;
  }
  instructionBytes(): number[] {
    return [];
  }
  accessPc(): bigint {
    return BigInt(this.pcValue);
  }
  kickHandle(): KickHandle {
    return { kind: 'tcg', engine: 0n };
  }
  describe(): Record<string, string> {
    return {};
  }
  close(): void {}
}

/** 0x100: a straight line of 1-byte instructions up to 0x10f, then halt at 0x110. */
function straightLine(): Map<number, Insn> {
  const p = new Map<number, Insn>();
  for (let a = 0x100; a < 0x110; a++) p.set(a, { size: 1 });
  p.set(0x110, { size: 1, halt: true });
  return p;
}

describe('debug engine (fake vCPU)', function () {
  it('hits five breakpoints in order on a vCPU that arms four natively, by single-stepping', function () {
    const cpu = new FakeVcpu(straightLine(), 0x100, 4);
    const bps = [0x102n, 0x104n, 0x106n, 0x108n, 0x10an];
    const hits: bigint[] = [];
    for (;;) {
      const e = debugRun(cpu, 4, { breakpoints: bps });
      if (e.kind !== 'breakpoint') {
        assert.equal(e.kind, 'halt');
        break;
      }
      hits.push(e.pc);
    }
    assert.deepEqual(hits, bps);
    assert.ok(cpu.arms.every((a) => a.breakpoints.length === 0 && a.singleStep), 'scanning arms no native breakpoint and steps');
  });

  it('arms breakpoints natively when they fit, and leaves the one it sits on with one unarmed step', function () {
    const cpu = new FakeVcpu(straightLine(), 0x100, 4);
    let e = debugRun(cpu, 4, { breakpoints: [0x100n, 0x105n] });
    assert.deepEqual(e, { kind: 'breakpoint', pc: 0x105n });
    assert.deepEqual(cpu.arms.at(-1), { breakpoints: [0x100n, 0x105n], singleStep: false, watches: [] });
    const before = cpu.arms.length;
    e = debugRun(cpu, 4, { breakpoints: [0x100n, 0x105n, 0x106n] });
    assert.deepEqual(e, { kind: 'breakpoint', pc: 0x106n }, 'the breakpoint after the one it sat on');
    assert.deepEqual(cpu.arms[before], { breakpoints: [], singleStep: true, watches: [] }, 'first a single step with nothing armed');
  });

  it('steps off a breakpoint the PC sits on, by instruction and by line, where native breakpoints fire at once (KVM)', function () {
    // Regression: on KVM an instruction or line step from a breakpoint stopped at the same breakpoint
    // again, for ever (the step-off was only done for continue).
    let cpu = new FakeVcpu(straightLine(), 0x104, 4, true);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x104n], singleStep: true }), { kind: 'step', pc: 0x105n });
    assert.equal(cpu.executed, 1);
    cpu = new FakeVcpu(straightLine(), 0x104, 4, true);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x104n], stepRanges: [[0x104n, 0x107n]] }), { kind: 'step', pc: 0x107n });
    cpu = new FakeVcpu(straightLine(), 0x104, 4, true);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x104n, 0x106n], stepRanges: [[0x104n, 0x108n]] }), { kind: 'breakpoint', pc: 0x106n });
    cpu = new FakeVcpu(straightLine(), 0x104, 4, true);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x104n, 0x105n], singleStep: true }), { kind: 'breakpoint', pc: 0x105n });
    cpu = new FakeVcpu(straightLine(), 0x104, 4, true);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x104n, 0x109n] }), { kind: 'breakpoint', pc: 0x109n }, 'continue');
  });

  it('single step stops after exactly one instruction', function () {
    const cpu = new FakeVcpu(straightLine(), 0x100, 4);
    const e = debugRun(cpu, 4, { breakpoints: [], singleStep: true });
    assert.deepEqual(e, { kind: 'step', pc: 0x101n });
    assert.equal(cpu.executed, 1);
  });

  it('a line step runs while the PC stays in the range and stops where it leaves, or at a stop point', function () {
    let cpu = new FakeVcpu(straightLine(), 0x100, 4);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [], stepRanges: [[0x100n, 0x104n]] }), { kind: 'step', pc: 0x104n });
    cpu = new FakeVcpu(straightLine(), 0x100, 4);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [], stepRanges: [[0x100n, 0x108n]], stopPoints: [0x103n] }), { kind: 'step', pc: 0x103n });
    cpu = new FakeVcpu(straightLine(), 0x100, 4);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x102n], stepRanges: [[0x100n, 0x108n]] }), { kind: 'breakpoint', pc: 0x102n }, 'a breakpoint inside the line stops the step');
  });

  it('a one-line loop stops when the PC comes back to where the step began', function () {
    const p = new Map<number, Insn>([[0x200, { size: 1 }], [0x201, { size: 2, jump: 0x200 }]]);
    const cpu = new FakeVcpu(p, 0x200, 4);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [], stepRanges: [[0x200n, 0x203n]] }), { kind: 'step', pc: 0x200n });
    assert.equal(cpu.executed, 2);
  });

  it('step out keeps going while the stack pointer is at or below the frame, and stops once it rose above', function () {
    // 0x300 push (sp-8), 0x301 pop (sp+8), 0x302 ret (sp+8, to 0x400), 0x400 nop, 0x401 halt.
    const p = new Map<number, Insn>([
      [0x300, { size: 1, sp: -8 }], [0x301, { size: 1, sp: 8 }], [0x302, { size: 1, sp: 8, jump: 0x400 }],
      [0x400, { size: 1 }], [0x401, { size: 1, halt: true }],
    ]);
    const cpu = new FakeVcpu(p, 0x300, 4);
    const e = debugRun(cpu, 4, { breakpoints: [], stepOutSp: 0x1000n });
    assert.deepEqual(e, { kind: 'step', pc: 0x400n });
    assert.equal(cpu.sp(), 0x1008n);
  });

  it('halts, watch hits and other exits pass straight through, also during the first step off a breakpoint', function () {
    const p = straightLine();
    p.set(0x100, { size: 1, watch: true });
    let cpu = new FakeVcpu(p, 0x100, 4);
    const watches = [{ start: 0x400, end: 0x401, kind: 'write' as const }];
    const e = debugRun(cpu, 4, { breakpoints: [0x100n], watches });
    assert.equal(e.kind, 'watch');
    assert.equal((e as Extract<VcpuExit, { kind: 'watch' }>).at, 0x100n);
    cpu = new FakeVcpu(straightLine(), 0x10e, 4);
    assert.deepEqual(debugRun(cpu, 4, { breakpoints: [0x200n] }), { kind: 'halt' });
  });
});
