// Names and explanations of KVM exit reasons, internal-error suberrors and VMX entry failures.
import { EXIT, INTERNAL_ERROR } from './kvm-abi';

const EXIT_NAMES: Record<number, string> = {};
for (const [name, value] of Object.entries(EXIT)) EXIT_NAMES[value] = name.replace(/^KVM_EXIT_/, '');

/** "IO", "HLT", … or "UNKNOWN_42" for reasons this build does not know. */
export function exitReasonName(reason: number): string {
  return EXIT_NAMES[reason] ?? `REASON_${reason}`;
}

export function internalSuberrorName(sub: number): string {
  switch (sub) {
    case INTERNAL_ERROR.KVM_INTERNAL_ERROR_EMULATION:
      return 'emulation failure (KVM could not emulate an instruction)';
    case INTERNAL_ERROR.KVM_INTERNAL_ERROR_SIMUL_EX:
      return 'simultaneous exceptions (an exception occurred while delivering another)';
    case INTERNAL_ERROR.KVM_INTERNAL_ERROR_DELIVERY_EV:
      return 'event delivery failed (an exception or interrupt could not be delivered, e.g. through a broken IDT or GDT)';
    case INTERNAL_ERROR.KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
      return 'unexpected exit reason from the hardware';
    default:
      return `suberror ${sub}`;
  }
}

/** VMX basic exit reasons reported as hardware_entry_failure_reason (Intel SDM vol. 3, appendix C). */
const VMX_ENTRY_FAILURES: Record<number, string> = {
  33: 'VM-entry failure due to invalid guest state (segment registers, CR0/CR4/EFER combination or RFLAGS)',
  34: 'VM-entry failure due to MSR loading',
  41: 'VM-entry failure due to machine-check event',
};

export function describeEntryFailure(reason: bigint): string {
  const basic = Number(reason & 0xffffn);
  const text = VMX_ENTRY_FAILURES[basic];
  if (text) return `${text} (hardware reason ${'0x' + reason.toString(16)})`;
  if (reason === 0xffffffffffffffffn || reason === 0xffffffffn)
    return 'VM entry failed for a reason the hardware did not name (hardware reason -1; on AMD SVM this is VMEXIT_INVALID: inconsistent guest state)';
  return `VM entry failed, hardware reason 0x${reason.toString(16)}`;
}
