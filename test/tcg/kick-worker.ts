// Worker for the "stop from another thread" tests: runs a `jmp .` guest in the given mode on a
// TcgVcpu, tells the parent the engine address, and reports the exit with the PC it reads.
import { parentPort, workerData } from 'node:worker_threads';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';
import { load, makeRig, startIn } from './harness';

const { mode, ctl } = workerData as { mode: CpuMode; ctl: SharedArrayBuffer };
const rig = makeRig(2 << 20, ctl);
const code16 = mode === 'real';
// real: F000:0100 (CS.base 0xF0000); other modes: linear 0x10000.
const org = code16 ? 0 : 0x10000;
const src = `${code16 ? '.code16' : mode === 'long' ? '.code64' : '.code32'}\n nop\n nop\nloop: jmp loop\n`;
if (code16) {
  rig.mem.set(new Uint8Array(0x100), 0xf0000);
  load(rig, src, 0);
  rig.mem.copyWithin(0xf0100, 0, 0x10);
  startIn(rig, 'real', { kind: 'real', segment: 0xf000, offset: 0x100 });
} else {
  load(rig, src, org);
  startIn(rig, mode, { kind: 'linear', address: org });
}
const loopPc = code16 ? 0xf0102n : BigInt(org + 2);
parentPort!.postMessage({ type: 'engine', handle: rig.vcpu.kickHandle() });
const t0 = process.hrtime.bigint();
const exit = rig.vcpu.run();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const s = rig.vcpu.getState();
parentPort!.postMessage({ type: 'exit', exit, pc: rig.vcpu.pc(), rip: s.regs.rip, csBase: s.sregs.cs.base, loopPc, ms });
rig.close();
