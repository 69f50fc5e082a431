// Guest RAM: one anonymous mapping registered as memory slot 0 at guest-physical 0. The main thread
// and the vCPU worker both see it as an ArrayBuffer over the mapping itself (no copies).
import { IOCTL, SIZE } from './kvm-abi';
import * as libc from './libc';
import { hex } from './guest-layout';

export interface MemorySlot {
  slot: number;
  guestPhysical: number;
  size: number;
  hostVirtual: bigint;
  flags: number;
}

export class GuestMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly slots: MemorySlot[] = [];
  private readonly mapping: libc.Mapping;

  constructor(vmFd: number, readonly size: number) {
    this.mapping = libc.mmap(
      size,
      libc.PROT_READ | libc.PROT_WRITE,
      libc.MAP_PRIVATE | libc.MAP_ANONYMOUS | libc.MAP_NORESERVE,
      -1,
      `mmap of ${size} bytes of guest memory`,
    );
    this.bytes = new Uint8Array(this.mapping.buffer);
    this.view = new DataView(this.mapping.buffer);
    const region = Buffer.alloc(SIZE.kvm_userspace_memory_region);
    region.writeUInt32LE(0, 0); // slot
    region.writeUInt32LE(0, 4); // flags
    region.writeBigUInt64LE(0n, 8); // guest_phys_addr
    region.writeBigUInt64LE(BigInt(size), 16);
    region.writeBigUInt64LE(this.mapping.address, 24);
    libc.ioctlPtr(vmFd, IOCTL.KVM_SET_USER_MEMORY_REGION, region, 'KVM_SET_USER_MEMORY_REGION');
    this.slots.push({ slot: 0, guestPhysical: 0, size, hostVirtual: this.mapping.address, flags: 0 });
  }

  get hostAddress(): bigint {
    return this.mapping.address;
  }

  private check(address: number, length: number): void {
    if (!Number.isSafeInteger(address) || address < 0 || length < 0 || address + length > this.size)
      throw new RangeError(`guest-physical range ${hex(address)}+${length} is outside guest memory (0x0–${hex(this.size - 1)})`);
  }

  /** A copy of guest-physical bytes. */
  read(address: number, length: number): Uint8Array {
    this.check(address, length);
    return this.bytes.slice(address, address + length);
  }

  write(address: number, data: Uint8Array): void {
    this.check(address, data.length);
    this.bytes.set(data, address);
  }

  fill(address: number, length: number, value: number): void {
    this.check(address, length);
    this.bytes.fill(value, address, address + length);
  }

  release(): void {
    libc.munmap(this.mapping);
  }
}
