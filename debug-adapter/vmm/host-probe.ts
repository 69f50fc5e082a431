// What this host's KVM can do, found by running throw-away guests: 32-bit paging, and the three
// breakpoint methods (software int3, hardware DR0–DR3, single-step). kvm_pvm, for example, runs
// long-mode paging but shuts down on 32-bit paging, and has no working software breakpoints.
import { GUESTDBG } from './kvm-abi';
import { KvmSystem, kvmImplementation } from './kvm-system';
import { Machine } from './machine';
import { loadFlat } from '../program/elf-loader';
import type { CpuMode } from '../toolchain/modes';
import type { StopInfo } from './vcpu-protocol';

const PROBE_ADDRESS = 0x100000;

export interface HostProbe {
  implementation: string | undefined;
  paged32: boolean;
  softwareBreakpoints: boolean;
  hardwareBreakpoints: boolean;
  singleStep: boolean;
  /** What each probe saw, for `kvm-guest info`. */
  notes: Record<string, string>;
}

async function runProbe(
  code: number[],
  mode: CpuMode,
  prepare?: (m: Machine) => Promise<void>,
): Promise<StopInfo> {
  const m = await Machine.create({
    memorySize: 2 << 20,
    mode,
    image: loadFlat(new Uint8Array(code), 'probe', PROBE_ADDRESS),
    entry: { kind: 'linear', address: PROBE_ADDRESS },
    outputDevices: [],
  });
  try {
    if (prepare) await prepare(m);
    return await m.run(2000);
  } finally {
    await m.destroy();
  }
}

function seen(s: StopInfo): string {
  return s.reason === 'debug' ? `debug exit, exception ${s.debug?.exception}` : `${s.reason} (KVM_EXIT_${s.exitName})`;
}

let paged32Cache: Promise<{ ok: boolean; note: string }> | undefined;

/** Whether a guest can enable 32-bit paging (CR0.PG with CR4.PSE, no long mode). Cached per process. */
export function probePaged32(): Promise<{ ok: boolean; note: string }> {
  paged32Cache ??= runProbe([0xf4], 'paged32').then((s) => ({
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
    `${note}. Use --mode protected (no paging) or --mode long (4-level paging), or a host with hardware KVM.`
  );
}

export async function probeHost(): Promise<HostProbe> {
  KvmSystem.open().close(); // fail early with the access explanation
  const notes: Record<string, string> = {};
  const paged = await probePaged32();
  notes.paged32 = paged.note;

  const sw = await runProbe([0xcc, 0xf4], 'protected', (m) =>
    m.setGuestDebug(GUESTDBG.KVM_GUESTDBG_ENABLE | GUESTDBG.KVM_GUESTDBG_USE_SW_BP),
  );
  const softwareBreakpoints = sw.reason === 'debug' && sw.debug?.exception === 3;
  notes.softwareBreakpoints = `int3 with KVM_GUESTDBG_USE_SW_BP: ${seen(sw)}`;

  const dr = Array<bigint>(8).fill(0n);
  dr[0] = BigInt(PROBE_ADDRESS + 1);
  dr[7] = 0x401n; // L0 enabled, execute breakpoint, bit 10 reserved-one
  const hw = await runProbe([0x90, 0x90, 0xf4], 'protected', (m) =>
    m.setGuestDebug(GUESTDBG.KVM_GUESTDBG_ENABLE | GUESTDBG.KVM_GUESTDBG_USE_HW_BP, dr),
  );
  const hardwareBreakpoints = hw.reason === 'debug' && hw.debug?.exception === 1 && (hw.debug.dr6 & 1n) === 1n && hw.regs.rip === BigInt(PROBE_ADDRESS + 1);
  notes.hardwareBreakpoints = `DR0 execute breakpoint: ${seen(hw)}`;

  const ss = await runProbe([0x90, 0xf4], 'protected', (m) =>
    m.setGuestDebug(GUESTDBG.KVM_GUESTDBG_ENABLE | GUESTDBG.KVM_GUESTDBG_SINGLESTEP),
  );
  const singleStep = ss.reason === 'debug' && ss.debug?.exception === 1 && ss.regs.rip === BigInt(PROBE_ADDRESS + 1);
  notes.singleStep = `KVM_GUESTDBG_SINGLESTEP: ${seen(ss)}`;

  return { implementation: kvmImplementation(), paged32: paged.ok, softwareBreakpoints, hardwareBreakpoints, singleStep, notes };
}
