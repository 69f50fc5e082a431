// Mocha root-hook plugin (.mocharc.json "require"): after the run, one line saying how many KVM
// tests did not run and why (or that they ran), so that a run without /dev/kvm never hides what it
// left out. The KVM suites are the ones helpers/accelerators.ts declares.
import type { Context, Suite, Test } from 'mocha';
import { KVM_SUITE, KVM_ONLY, kvmProblem } from './accelerators';

interface Tally {
  total: number;
  pending: number;
  pendingOnly: number;
}

function walk(suite: Suite, inKvm: boolean, kvmOnly: boolean, t: Tally): void {
  const marks = suite as unknown as Record<symbol, boolean>;
  const kvm = inKvm || marks[KVM_SUITE] === true;
  const only = kvmOnly || marks[KVM_ONLY] === true;
  if (kvm) {
    for (const test of suite.tests as Test[]) {
      t.total++;
      if (test.isPending()) {
        t.pending++;
        if (only) t.pendingOnly++;
      }
    }
  }
  for (const s of suite.suites) walk(s, kvm, only, t);
}

export const mochaHooks = {
  afterAll(this: Context): void {
    let root: Suite | undefined = this.test?.parent;
    while (root?.parent) root = root.parent;
    if (!root) return;
    const t: Tally = { total: 0, pending: 0, pendingOnly: 0 };
    walk(root, false, false, t);
    if (t.total === 0) return; // no suite of this run boots a guest on KVM
    const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
    if (kvmProblem !== undefined) {
      const twins = t.pending - t.pendingOnly;
      console.log(
        `${n(t.pendingOnly, 'KVM-only test')} did not run, nor the KVM runs of ${n(twins, 'other test')} (they ran on the software CPU): ` +
          kvmProblem,
      );
    } else {
      console.log(`${n(t.total - t.pending, 'KVM test')} ran on /dev/kvm; ${t.pending} pending for what this host's KVM cannot do (reasons in their titles).`);
    }
  },
};
