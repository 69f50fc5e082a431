// A vCPU's binary statistics (KVM_GET_STATS_FD), read from another thread without stopping the vCPU.
// With the in-kernel irqchip a HLT never reaches user space: the vCPU sleeps inside KVM_RUN. The
// device thread watches `blocking` and `halt_exits` here to learn that the guest halted, and kicks
// the vCPU once per HLT so the monitor can tell a final `cli; hlt` from a wait for an interrupt.
import { IOCTL, OFFSET, SIZE } from './kvm-abi';
import * as libc from '../libc';

export interface HaltState {
  /** The vCPU sleeps in the kernel (halted, waiting for an interrupt). */
  blocking: boolean;
  /** HLT instructions executed so far. */
  haltExits: bigint;
}

export class VcpuStats {
  private readonly buf = Buffer.alloc(8);

  private constructor(readonly fd: number, private readonly blockingAt: number, private readonly haltExitsAt: number) {}

  /** The vCPU's stats fd (KVM_GET_STATS_FD, a vCPU ioctl: call it while the vCPU does not run), or undefined; its owner closes it. */
  static fdOf(vcpuFd: number): number | undefined {
    try {
      return libc.ioctlInt(vcpuFd, IOCTL.KVM_GET_STATS_FD, 0, 'KVM_GET_STATS_FD');
    } catch {
      return undefined;
    }
  }

  /** Reads the layout of a stats fd (any thread; the fd stays its owner's); undefined when it lacks the two statistics. */
  static adopt(fd: number): VcpuStats | undefined {
    try {
      const header = Buffer.alloc(SIZE.kvm_stats_header);
      libc.pread(fd, header, 0, 'read stats header');
      const nameSize = header.readUInt32LE(OFFSET['kvm_stats_header.name_size']);
      const count = header.readUInt32LE(OFFSET['kvm_stats_header.num_desc']);
      const descAt = header.readUInt32LE(OFFSET['kvm_stats_header.desc_offset']);
      const dataAt = header.readUInt32LE(OFFSET['kvm_stats_header.data_offset']);
      const size = SIZE.kvm_stats_desc + nameSize;
      const descs = Buffer.alloc(size * count);
      libc.pread(fd, descs, descAt, 'read stats descriptors');
      const offsets = new Map<string, number>();
      for (let i = 0; i < count; i++) {
        const d = descs.subarray(i * size, (i + 1) * size);
        const name = d.toString('latin1', OFFSET['kvm_stats_desc.name']).replace(/\0.*$/s, '');
        offsets.set(name, dataAt + d.readUInt32LE(OFFSET['kvm_stats_desc.offset']));
      }
      const blocking = offsets.get('blocking');
      const haltExits = offsets.get('halt_exits');
      if (blocking !== undefined && haltExits !== undefined) return new VcpuStats(fd, blocking, haltExits);
    } catch {
      /* unreadable: treated as absent */
    }
    return undefined;
  }

  private read(at: number): bigint {
    libc.pread(this.fd, this.buf, at, 'read vCPU statistics');
    return this.buf.readBigUInt64LE();
  }

  halt(): HaltState {
    return { blocking: this.read(this.blockingAt) !== 0n, haltExits: this.read(this.haltExitsAt) };
  }
}
