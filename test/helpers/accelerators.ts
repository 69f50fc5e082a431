// Which accelerators the tests run on. Every test that boots a guest runs on the software CPU
// (tcg) on every machine, and on KVM too where /dev/kvm works. Where KVM cannot be used, the KVM
// suites are declared all the same and are pending with the exact reason in their titles: nothing
// skips silently, and kvm-pending.ts (a root-hook plugin, see .mocharc.json) prints one line at the
// end of the run saying how many KVM-only tests did not run and why. If the software CPU is missing
// its suites FAIL with the install message: it is a dependency, not an option.
import type { Suite } from 'mocha';
import { openKvm } from '../../debug-adapter/vmm/kvm/kvm-vm';
import type { AcceleratorInfo, AcceleratorName } from '../../debug-adapter/vmm/accelerator';

/** The exact reason /dev/kvm cannot be used here, or undefined when it can. */
export const kvmProblem: string | undefined = ((): string | undefined => {
  try {
    openKvm();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
})();

/** Every accelerator, in the order the suites are declared. */
export const ACCELERATORS: readonly AcceleratorName[] = ['tcg', 'kvm'];

/** Accelerators that can run guests here (tcg always: when it is missing its tests fail). */
export const usableAccelerators: readonly AcceleratorName[] = kvmProblem === undefined ? ['tcg', 'kvm'] : ['tcg'];

/** Marks a suite as KVM's: kvm-pending.ts counts its pending tests. */
export const KVM_SUITE = Symbol.for('kvm-guest.test.kvmSuite');
/** Marks a suite whose tests make sense on KVM only (no software CPU twin). */
export const KVM_ONLY = Symbol.for('kvm-guest.test.kvmOnly');

function mark(suite: Suite, key: symbol): void {
  (suite as unknown as Record<symbol, boolean>)[key] = true;
}

/** The software CPU's description, or throws SoftwareCpuUnavailable with the install message. */
export function openSoftwareCpu(): AcceleratorInfo {
  // Loaded only here, so that a missing backend module fails these suites rather than the whole run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tcg = require('../../debug-adapter/vmm/tcg/tcg-vm') as typeof import('../../debug-adapter/vmm/tcg/tcg-vm');
  return tcg.openSoftwareCpu();
}

let probed: Promise<AcceleratorInfo> | undefined;

/**
 * What the product itself would run `accel` with: KVM's capabilities as the host probe finds them
 * (kvm_pvm's debug registers do not fire, for example), the software CPU's as it reports them.
 */
export async function acceleratorInfo(accel: AcceleratorName): Promise<AcceleratorInfo> {
  if (accel === 'tcg') return openSoftwareCpu();
  probed ??= import('../../debug-adapter/vmm/kvm/host-probe').then((p) => p.probedKvm());
  return probed;
}

/** The suite title's suffix for an accelerator: "[tcg]", "[kvm]", or "[kvm: pending — why]". */
function label(accel: AcceleratorName): string {
  if (accel === 'tcg') return '[tcg: software CPU]';
  return kvmProblem === undefined ? '[kvm]' : `[kvm: pending, ${kvmProblem}]`;
}

/** Declares the KVM suite's preconditions: pending with the reason where KVM is unusable. */
function kvmSuiteSetup(suite: Suite): void {
  mark(suite, KVM_SUITE);
  if (kvmProblem !== undefined) {
    before(function () {
      this.skip(); // every test of this suite is reported pending, its title says why
    });
  }
}

/** Declares the software CPU suite's precondition: the engine opens, or every test fails saying how to install it. */
function tcgSuiteSetup(): void {
  before(function () {
    openSoftwareCpu();
  });
}

/**
 * Declares `body`'s tests once per accelerator: `describe('<title> [tcg: software CPU]')` always,
 * `describe('<title> [kvm]')` where KVM works, else the same KVM suite with every test pending.
 */
export function forEachAccelerator(title: string, body: (this: Suite, accel: AcceleratorName) => void): void {
  for (const accel of ACCELERATORS) {
    describe(`${title} ${label(accel)}`, function () {
      if (accel === 'kvm') kvmSuiteSetup(this);
      else tcgSuiteSetup();
      body.call(this, accel);
    });
  }
}

/** Tests that only make sense on KVM (its debug registers, read-only memory slots…). */
export function kvmOnly(title: string, body: (this: Suite) => void): void {
  describe(`${title} ${label('kvm')}`, function () {
    kvmSuiteSetup(this);
    mark(this, KVM_ONLY);
    body.call(this);
  });
}

/**
 * Inside a forEachAccelerator body on 'kvm': a nested group of tests that make sense on KVM only
 * (counted as KVM-only when they cannot run).
 */
export function describeKvmOnly(title: string, body: (this: Suite) => void): void {
  describe(title, function () {
    mark(this, KVM_SUITE);
    mark(this, KVM_ONLY);
    body.call(this);
  });
}

/** Tests that only make sense on the software CPU (read watches…): run on every machine. */
export function tcgOnly(title: string, body: (this: Suite) => void): void {
  describe(`${title} ${label('tcg')}`, function () {
    tcgSuiteSetup();
    body.call(this);
  });
}

/**
 * Marks the running test pending for a reason found only at run time (e.g. what this host's KVM
 * cannot do), with the reason appended to its title so that the report says why. Never silent.
 */
export function pendingBecause(ctx: Mocha.Context, reason: string): never {
  if (ctx.test) ctx.test.title += ` [pending: ${reason}]`;
  ctx.skip();
}
