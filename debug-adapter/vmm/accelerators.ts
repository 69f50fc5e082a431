// Choosing the accelerator: `auto` takes KVM when /dev/kvm opens and can create a VM, else the
// software CPU; `kvm` and `tcg` insist. Says once, in one line, which and why. Each accelerator's
// module is loaded only when it is tried.
import type { AcceleratorChoice, AcceleratorInfo, InterruptWiring, VmBackend } from './accelerator';
import { ACCELERATOR_CHOICES } from './accelerator';
import type { GuestMemory } from './guest-memory';

export interface ChosenAccelerator {
  info: AcceleratorInfo;
  /** One line for people: which accelerator and why. */
  why: string;
}

/** Neither accelerator can run here; the message names both fixes. */
export class NoAcceleratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAcceleratorError';
  }
}

export function isAcceleratorChoice(v: unknown): v is AcceleratorChoice {
  return typeof v === 'string' && (ACCELERATOR_CHOICES as readonly string[]).includes(v);
}

/* eslint-disable @typescript-eslint/no-require-imports */
const kvm = (): typeof import('./kvm/kvm-vm') => require('./kvm/kvm-vm');
const tcg = (): typeof import('./tcg/tcg-vm') => require('./tcg/tcg-vm');
/* eslint-enable @typescript-eslint/no-require-imports */

const SOFTWARE_NOTE = 'same devices and exits, no hardware virtualization';

/** Throws KvmAccessError (kvm), SoftwareCpuUnavailable (tcg) or NoAcceleratorError (auto, neither). */
export function chooseAccelerator(choice: AcceleratorChoice = 'auto'): ChosenAccelerator {
  if (choice === 'kvm') {
    const info = kvm().openKvm();
    return { info, why: `running on ${info.label}` };
  }
  if (choice === 'tcg') {
    const info = tcg().openSoftwareCpu();
    return { info, why: `running on the ${info.label} as asked — ${SOFTWARE_NOTE}` };
  }
  let kvmProblem: string;
  try {
    const info = kvm().openKvm();
    return { info, why: `running on ${info.label}` };
  } catch (e) {
    kvmProblem = e instanceof Error ? e.message : String(e);
  }
  try {
    const info = tcg().openSoftwareCpu();
    return { info, why: `${shortKvmProblem(kvmProblem)}: running on the ${info.label} — ${SOFTWARE_NOTE}` };
  } catch (e) {
    const tcgProblem = e instanceof Error ? e.message : String(e);
    throw new NoAcceleratorError(`no accelerator can run guests here. KVM: ${kvmProblem} Software CPU: ${tcgProblem}`);
  }
}

/** "/dev/kvm does not exist: …" → "/dev/kvm is absent", for the one-line reason. */
function shortKvmProblem(message: string): string {
  const device = /^(\S+?):? /.exec(message)?.[1] ?? '/dev/kvm';
  if (/does not exist/.test(message)) return `${device} is absent`;
  if (/permission denied/.test(message)) return `${device} is not accessible (permission denied)`;
  if (/no KVM module/.test(message)) return `${device} has no KVM module behind it`;
  return `KVM cannot be used (${message.replace(/\.$/, '')})`;
}

/** The main-thread side of a VM on `info`'s accelerator, over `memory`, its interrupts wired as `wiring` asks. */
export function createVmBackend(info: AcceleratorInfo, memory: GuestMemory, wiring: InterruptWiring): VmBackend {
  return info.name === 'kvm' ? new (kvm().KvmVm)(info, memory, wiring) : new (tcg().TcgVm)(info, memory, wiring);
}
