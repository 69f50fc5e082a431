// The /dev/kvm handle: opening it with errors that say how to fix access, the API version check and
// capability queries.
import fs from 'node:fs';
import { CAP, IOCTL, KVM_API_VERSION } from './kvm-abi';
import * as libc from '../libc';

/**
 * The KVM device. KVM_GUEST_KVM_DEVICE overrides it, so that a machine with /dev/kvm can show (and
 * test) what users without it get: e.g. KVM_GUEST_KVM_DEVICE=/nonexistent makes `auto` choose the
 * software CPU.
 */
export const KVM_DEVICE = process.env.KVM_GUEST_KVM_DEVICE || '/dev/kvm';

/** A problem with KVM access that the user can fix; the message says how. */
export class KvmAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvmAccessError';
  }
}

export function explainOpenFailure(err: libc.SysError, device = KVM_DEVICE): string {
  switch (err.code) {
    case 'ENOENT':
      return `${device} does not exist: KVM is not available on this host. Load the module (sudo modprobe kvm_intel or kvm_amd), enable virtualization in the firmware, or for a VM enable nested virtualization.`;
    case 'EACCES':
    case 'EPERM':
      return `${device}: permission denied. Add yourself to the kvm group (sudo usermod -aG kvm $USER, then log in again) or grant access (sudo setfacl -m u:$USER:rw ${device}).`;
    case 'ENXIO':
    case 'ENODEV':
      return `${device} exists but no KVM module is loaded behind it (sudo modprobe kvm_intel or kvm_amd).`;
    default:
      return `${device} could not be opened: ${err.message}`;
  }
}

export class KvmSystem {
  readonly apiVersion: number;
  private constructor(readonly fd: number) {
    this.apiVersion = libc.ioctlInt(fd, IOCTL.KVM_GET_API_VERSION, 0, 'KVM_GET_API_VERSION');
    if (this.apiVersion !== KVM_API_VERSION) {
      libc.close(fd);
      throw new KvmAccessError(`${KVM_DEVICE} speaks KVM API version ${this.apiVersion}; this monitor needs version ${KVM_API_VERSION}`);
    }
  }

  static open(device = KVM_DEVICE): KvmSystem {
    let fd: number;
    try {
      fd = libc.open(device, libc.O_RDWR | libc.O_CLOEXEC);
    } catch (e) {
      if (e instanceof libc.SysError) throw new KvmAccessError(explainOpenFailure(e, device));
      throw e;
    }
    return new KvmSystem(fd);
  }

  checkExtension(cap: number): number {
    try {
      return libc.ioctlInt(this.fd, IOCTL.KVM_CHECK_EXTENSION, cap, 'KVM_CHECK_EXTENSION');
    } catch {
      return 0;
    }
  }

  capabilities(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, value] of Object.entries(CAP)) out[name] = this.checkExtension(value);
    return out;
  }

  vcpuMmapSize(): number {
    return libc.ioctlInt(this.fd, IOCTL.KVM_GET_VCPU_MMAP_SIZE, 0, 'KVM_GET_VCPU_MMAP_SIZE');
  }

  close(): void {
    libc.close(this.fd);
  }
}

/** Which KVM implementation is loaded (kvm_intel, kvm_amd, kvm_pvm…), read from /sys/module. */
export function kvmImplementation(): string | undefined {
  for (const m of ['kvm_intel', 'kvm_amd', 'kvm_pvm']) if (fs.existsSync(`/sys/module/${m}`)) return m;
  return undefined;
}
