// Mocha root-hook plugin (.mocharc.json "require"): when a suite's set-up (a before/beforeEach hook)
// fails, mocha reports the hook and silently leaves the suite's tests out of its counts. After the
// run this says how many tests did not run, and in which suites, so a broken set-up never hides
// how much went untested. (Pending tests are reported by mocha itself.)
import type { Context, Suite, Test } from 'mocha';

function fullTitle(s: Suite): string {
  return s.titlePath().join(' › ');
}

/** Tests that neither passed, failed nor were pending, by the innermost suite holding them. */
export function testsNotRun(root: Suite): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (suite: Suite): void => {
    for (const t of suite.tests as Test[]) {
      if (t.isPending() || t.state === 'passed' || t.state === 'failed') continue;
      const key = fullTitle(suite);
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    for (const s of suite.suites) walk(s);
  };
  walk(root);
  return out;
}

export const mochaHooks = {
  afterAll(this: Context): void {
    let root: Suite | undefined = this.test?.parent;
    while (root?.parent) root = root.parent;
    if (!root) return;
    const notRun = testsNotRun(root);
    if (notRun.size === 0) return;
    const total = [...notRun.values()].reduce((a, b) => a + b, 0);
    console.log(`\n${total} test${total === 1 ? '' : 's'} did not run (a set-up hook of their suite failed, or the run was cut short):`);
    for (const [suite, n] of notRun) console.log(`  ${n} in ${suite}`);
  },
};
