// What this host's KVM can do, found by running throw-away guests: 32-bit paging, hardware execute
// breakpoints (DR0–DR3) and single-step. kvm_pvm, for example, runs long-mode paging but shuts down
// on 32-bit paging, and its DR0–DR3 watchpoints never fire. Runs only when KVM is the accelerator.
import { kvmImplementation } from './kvm-system';
import { openKvm } from './kvm-vm';
import { Machine } from '../machine';
import { loadFlat } from '../../program/elf-loader';
import type { CpuMode } from '../../toolchain/modes';
import { CPU_MODES } from '../../toolchain/modes';
import type { StopInfo } from '../vcpu-protocol';
import type { AcceleratorInfo, DebugArm } from '../accelerator';
import { NO_DEBUG } from '../accelerator';

const PROBE_ADDRESS = 0x100000;

export interface HostProbe {
  implementation: string | undefined;
  paged32: boolean;
  hardwareBreakpoints: boolean;
  singleStep: boolean;
  /** What each probe saw, for `kvm-guest info`. */
  notes: Record<string, string>;
}

async function runProbe(info: AcceleratorInfo, code: number[], mode: CpuMode, arm: DebugArm = NO_DEBUG): Promise<StopInfo> {
  const m = await Machine.create({
    memorySize: 2 << 20,
    mode,
    image: loadFlat(new Uint8Array(code), 'probe', PROBE_ADDRESS),
    entry: { kind: 'linear', address: PROBE_ADDRESS },
    outputDevices: [],
    accelerator: info,
  });
  try {
    return await m.runArmed(arm, 2000);
  } finally {
    await m.destroy();
  }
}

function seen(s: StopInfo): string {
  return s.reason === 'debug' ? `debug exit, exception ${s.debug?.exception}` : `${s.reason}${s.detail ? ` (${s.detail})` : ''}`;
}

let paged32Cache: Promise<{ ok: boolean; note: string }> | undefined;

/** Whether a guest can enable 32-bit paging (CR0.PG with CR4.PSE, no long mode). Cached per process. */
export function probePaged32(): Promise<{ ok: boolean; note: string }> {
  paged32Cache ??= runProbe(openKvm(), [0xf4], 'paged32').then((s) => ({
    ok: s.reason === 'halted',
    note: s.reason === 'halted' ? 'a paged32 guest ran to HLT' : `a paged32 guest ended in ${seen(s)} instead of HLT`,
  }));
  return paged32Cache;
}

/** Message for a host that cannot run 32-bit paging. */
export function paged32Unsupported(note: string): string {
  const impl = kvmImplementation();
  return (
    `this host's KVM${impl ? ` (${impl})` : ''} cannot run 32-bit paging (mode paged32: CR0.PG with CR4.PSE, without long mode): ` +
    `${note}. Use --mode protected (no paging) or --mode long (4-level paging), --accel tcg (the software CPU runs paged32), or a host with hardware KVM.`
  );
}

let hostCache: Promise<HostProbe> | undefined;

/** Probes once per process. */
export function probeHost(): Promise<HostProbe> {
  hostCache ??= probe();
  hostCache.catch(() => (hostCache = undefined));
  return hostCache;
}

async function probe(): Promise<HostProbe> {
  const info = openKvm(); // fails early with the access explanation
  const notes: Record<string, string> = {};
  const paged = await probePaged32();
  notes.paged32 = paged.note;

  const hw = await runProbe(info, [0x90, 0x90, 0xf4], 'protected', { breakpoints: [BigInt(PROBE_ADDRESS + 1)], singleStep: false, watches: [] });
  const hardwareBreakpoints = hw.reason === 'breakpoint' && hw.regs.rip === BigInt(PROBE_ADDRESS + 1);
  notes.hardwareBreakpoints = `DR0 execute breakpoint: ${seen(hw)}`;

  const ss = await runProbe(info, [0x90, 0xf4], 'protected', { breakpoints: [], singleStep: true, watches: [] });
  const singleStep = ss.reason === 'step' && ss.regs.rip === BigInt(PROBE_ADDRESS + 1);
  notes.singleStep = `KVM_GUESTDBG_SINGLESTEP: ${seen(ss)}`;

  return { implementation: kvmImplementation(), paged32: paged.ok, hardwareBreakpoints, singleStep, notes };
}

/** KVM's capabilities as this host's probes found them. */
export async function probedKvm(): Promise<AcceleratorInfo> {
  const info = openKvm();
  const p = await probeHost();
  return {
    ...info,
    capabilities: {
      ...info.capabilities,
      nativeBreakpoints: p.hardwareBreakpoints ? 4 : 0,
      singleStep: p.singleStep,
      modes: CPU_MODES.filter((m) => m !== 'paged32' || p.paged32),
    },
    notes: { ...info.notes, ...p.notes },
  };
}
