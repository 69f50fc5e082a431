// The CPUID a KVM vCPU reports to its guest. Without KVM_SET_CPUID2 KVM's vCPU has no CPUID entries
// at all: the guest sees no features, not even long mode, and KVM refuses a guest's own WRMSR of
// EFER.LME with #GP (measured on kvm_pvm: a kernel that enters long mode itself, as every
// kvm-unit-tests x86_64 test does, triple-faults there; the monitor's own long mode is set with
// KVM_SET_SREGS and never saw it). So the vCPU gets what KVM supports (KVM_GET_SUPPORTED_CPUID), as
// QEMU's `-cpu host` gives, minus what this machine's devices do not have: x2APIC and the
// TSC-deadline timer (the monitor's local APIC is xAPIC MMIO with a one-shot/periodic timer).
import { IOCTL, OFFSET, SIZE } from './kvm-abi';
import * as libc from '../libc';

const E2BIG = 7;
const LEAF1_ECX_X2APIC = 1 << 21;
const LEAF1_ECX_TSC_DEADLINE = 1 << 24;

/** struct kvm_cpuid2 with what KVM supports, ready for KVM_SET_CPUID2; undefined when KVM will not say. */
export function supportedCpuid(kvmFd: number): Uint8Array | undefined {
  for (let nent = 128; nent <= 4096; nent *= 2) {
    const buf = Buffer.alloc(SIZE.kvm_cpuid2 + nent * SIZE.kvm_cpuid_entry2);
    buf.writeUInt32LE(nent, OFFSET['kvm_cpuid2.nent']);
    try {
      libc.ioctlPtr(kvmFd, IOCTL.KVM_GET_SUPPORTED_CPUID, buf, 'KVM_GET_SUPPORTED_CPUID');
    } catch (e) {
      if (e instanceof libc.SysError && e.errno === E2BIG) continue;
      return undefined;
    }
    const count = buf.readUInt32LE(OFFSET['kvm_cpuid2.nent']);
    for (let i = 0; i < count; i++) {
      const at = OFFSET['kvm_cpuid2.entries'] + i * SIZE.kvm_cpuid_entry2;
      if (buf.readUInt32LE(at + OFFSET['kvm_cpuid_entry2.function']) !== 1) continue;
      const ecx = at + OFFSET['kvm_cpuid_entry2.ecx'];
      buf.writeUInt32LE((buf.readUInt32LE(ecx) & ~(LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE)) >>> 0, ecx);
    }
    return new Uint8Array(buf.subarray(0, OFFSET['kvm_cpuid2.entries'] + count * SIZE.kvm_cpuid_entry2));
  }
  return undefined;
}
