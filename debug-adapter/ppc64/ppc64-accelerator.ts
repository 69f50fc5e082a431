// What runs a ppc64 guest. KVM runs guests of the host's own architecture only, so on an x86-64
// host (every machine this project is tested on) a ppc64 guest runs on the software CPU; `--accel
// kvm` says why it cannot. On a POWER host the KVM path (vmm/ppc64/ppc64-kvm.ts) follows the seed.
import type { AcceleratorChoice } from '../vmm/accelerator';

/** Why `accel` cannot run a ppc64 guest on this host, or undefined when it can. */
export function ppc64AcceleratorProblem(accel: AcceleratorChoice, hostArch: string = process.arch): string | undefined {
  if (accel === 'kvm' && hostArch !== 'ppc64')
    return `KVM cannot run a ppc64 guest on this ${hostArch} host: KVM virtualizes the host's own processor (a POWER host with kvm-hv or kvm-pr runs it). Use --accel tcg (the software CPU) or auto`;
  if (accel === 'kvm')
    return 'KVM on POWER hosts is a reviewed but untested path (vmm/ppc64/ppc64-kvm.ts) not yet wired to the run command: use --accel tcg';
  return undefined;
}
