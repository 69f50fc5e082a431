// The ppc64 suites need the Debian cross binutils. Where they are missing, those tests are declared
// all the same and are pending with the exact reason in their titles (as the KVM suites are: see
// accelerators.ts), so a run never hides what it left out. CI (.ci/run) installs them, so they run.
import { findOnPath } from '../../debug-adapter/toolchain/tools';
import { PPC64_TOOLCHAINS } from '../../debug-adapter/toolchain/ppc64-build';
import type { Endian } from '../../debug-adapter/toolchain/arch';

/** Why the `endian` cross binutils cannot be used here, or undefined when they can. */
export function ppc64ToolsProblem(endian: Endian): string | undefined {
  const { prefix, debianPackage } = PPC64_TOOLCHAINS[endian];
  const missing = ['as', 'ld', 'objdump'].filter((t) => findOnPath(prefix + t) === undefined);
  return missing.length === 0 ? undefined : `${missing.map((t) => prefix + t).join(', ')} not on PATH (install ${debianPackage})`;
}

/** `it`, or a pending test whose title says which cross tools are missing. */
export function itWithPpc64Tools(endians: Endian[], title: string, fn: Mocha.Func): Mocha.Test {
  const problems = endians.map(ppc64ToolsProblem).filter((p): p is string => p !== undefined);
  return problems.length === 0 ? it(title, fn) : it(`${title} [pending: ${problems.join('; ')}]`);
}
