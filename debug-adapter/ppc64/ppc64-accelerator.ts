// What runs a ppc64 guest. KVM runs guests of the host's own architecture only, so on an x86-64
// host (every machine this project is tested on) a ppc64 guest runs on the software CPU; `--accel
// kvm` says why it cannot. On a POWER host, `kvm` (and `auto` where /dev/kvm exists) takes the KVM
// path (vmm/ppc64/ppc64-kvm.ts, the seed's own sequence; untested here).
import fs from 'node:fs';
import type { AcceleratorChoice } from '../vmm/accelerator';

/** Why `accel` cannot run a ppc64 guest on this host, or undefined when it can. */
export function ppc64AcceleratorProblem(accel: AcceleratorChoice, hostArch: string = process.arch): string | undefined {
  if (accel === 'kvm' && hostArch !== 'ppc64')
    return `KVM cannot run a ppc64 guest on this ${hostArch} host: KVM virtualizes the host's own processor (a POWER host with kvm-hv or kvm-pr runs it). Use --accel tcg (the software CPU) or auto`;
  return undefined;
}

/** Whether a ppc64 run takes KVM: on a POWER host, when asked, or by default where /dev/kvm exists. */
export function ppc64UsesKvm(accel: AcceleratorChoice, hostArch: string = process.arch): boolean {
  if (hostArch !== 'ppc64') return false;
  return accel === 'kvm' || (accel === 'auto' && fs.existsSync('/dev/kvm'));
}
