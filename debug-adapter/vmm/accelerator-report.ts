// What each accelerator can do on this host, for `kvm-guest info` and the extension's set-up check.
// KVM is probed with throw-away guests (some KVMs, such as kvm_pvm, answer capability queries
// differently from what they do); the software CPU is described by what it implements.
import type { AcceleratorInfo, WatchKind } from './accelerator';
import type { CpuMode } from '../toolchain/modes';

export interface AcceleratorReport {
  name: 'kvm' | 'tcg';
  label: string;
  available: boolean;
  /** Why it is not available, with the fix. */
  problem?: string;
  modes: CpuMode[];
  /** How breakpoints are armed, in words. */
  breakpoints: string;
  singleStep: boolean;
  watchKinds: WatchKind[];
  details: Record<string, string>;
}

function breakpointWords(info: AcceleratorInfo): string {
  const n = info.capabilities.nativeBreakpoints;
  if (n === Infinity) return 'unlimited, exact (code hooks)';
  if (n > 0) return `hardware debug registers DR0–DR3 for up to ${n} at once, single-step scanning beyond`;
  return info.capabilities.singleStep ? 'single-step scanning (hardware debug registers do not fire on this host)' : 'none (no debug exits on this host)';
}

function report(info: AcceleratorInfo): AcceleratorReport {
  return {
    name: info.name, label: info.label, available: true, modes: info.capabilities.modes, breakpoints: breakpointWords(info),
    singleStep: info.capabilities.singleStep, watchKinds: info.capabilities.watchKinds, details: info.notes,
  };
}

function unavailable(name: 'kvm' | 'tcg', label: string, e: unknown): AcceleratorReport {
  return {
    name, label, available: false, problem: e instanceof Error ? e.message : String(e),
    modes: [], breakpoints: 'n/a', singleStep: false, watchKinds: [], details: {},
  };
}

export async function acceleratorReport(): Promise<AcceleratorReport[]> {
  const out: AcceleratorReport[] = [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { probedKvm } = require('./kvm/host-probe') as typeof import('./kvm/host-probe');
    out.push(report(await probedKvm()));
  } catch (e) {
    out.push(unavailable('kvm', 'KVM (/dev/kvm)', e));
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openSoftwareCpu } = require('./tcg/tcg-vm') as typeof import('./tcg/tcg-vm');
    out.push(report(openSoftwareCpu()));
  } catch (e) {
    out.push(unavailable('tcg', 'software CPU (Unicorn)', e));
  }
  return out;
}
