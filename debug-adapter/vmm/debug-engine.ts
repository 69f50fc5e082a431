// The debug engine's primitives, for every accelerator: breakpoints beyond what the accelerator arms
// natively (single-step and compare), line steps over address ranges, step out by stack depth, and
// the first step off a breakpoint the PC sits on. It sees the vCPU only through the Vcpu interface:
// steps, breakpoint hits and watch hits — never an accelerator's debug registers.
import type { Vcpu, VcpuExit } from './accelerator';
import type { DebugRun } from './vcpu-protocol';

/** Runs `vcpu` under `d` until something the user must see; returns that exit. */
export function debugRun(vcpu: Vcpu, nativeBreakpoints: number, d: DebugRun): VcpuExit {
  const watches = d.watches ?? [];
  const bps = new Set(d.breakpoints);
  const stepping = d.singleStep === true || d.stepRanges !== undefined || d.stepOutSp !== undefined;
  const scanning = bps.size > nativeBreakpoints;
  const stopPoints = new Set(d.stopPoints ?? []);
  const ranges = d.stepRanges ?? [];
  const inRanges = (pc: bigint): boolean => ranges.some(([a, b]) => pc >= a && pc < b);
  const start = vcpu.pc();

  // Leave a breakpoint we are sitting on with one step, breakpoints off (a native breakpoint would
  // fire again at once: KVM's debug registers do, also when single-stepping); where that step lands
  // is judged like any other step.
  let firstStep: VcpuExit | undefined;
  if (bps.has(start)) {
    vcpu.setDebug({ breakpoints: [], singleStep: true, watches });
    const e = vcpu.run();
    if (e.kind !== 'step') return e; // it halted, faulted, hit a watch or was paused during that step
    if (bps.has(e.pc)) return { kind: 'breakpoint', pc: e.pc };
    if (stepping) firstStep = e;
  }

  vcpu.setDebug({ breakpoints: scanning ? [] : [...bps], singleStep: stepping || scanning, watches });
  for (;;) {
    const e = firstStep ?? vcpu.run();
    firstStep = undefined;
    if (e.kind !== 'step') return e;
    const pc = e.pc;
    if (bps.has(pc)) return { kind: 'breakpoint', pc };
    if (!stepping) continue; // scanning for breakpoints
    if (d.singleStep || stopPoints.has(pc)) return e;
    if (d.stepOutSp !== undefined) {
      if (vcpu.sp() <= d.stepOutSp || inRanges(pc)) continue;
      return e;
    }
    if (pc === start || !inRanges(pc)) return e;
  }
}
