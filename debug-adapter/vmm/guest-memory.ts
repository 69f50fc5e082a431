// Guest RAM: one anonymous mapping registered as memory slot 0 at guest-physical 0. The main thread
// and the vCPU worker both see it as an ArrayBuffer over the mapping itself (no copies).
import { IOCTL, MEM_FLAG, OFFSET, SIZE } from './kvm-abi';

const PAGE = 4096;
const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
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

  constructor(private readonly vmFd: number, readonly size: number) {
    this.mapping = libc.mmap(
      size,
      libc.PROT_READ | libc.PROT_WRITE,
      libc.MAP_PRIVATE | libc.MAP_ANONYMOUS | libc.MAP_NORESERVE,
      -1,
      `mmap of ${size} bytes of guest memory`,
    );
    this.bytes = new Uint8Array(this.mapping.buffer);
    this.view = new DataView(this.mapping.buffer);
    this.setSlot({ slot: 0, guestPhysical: 0, size, hostVirtual: this.mapping.address, flags: 0 });
    this.slots.push({ slot: 0, guestPhysical: 0, size, hostVirtual: this.mapping.address, flags: 0 });
  }

  private setSlot(s: MemorySlot): void {
    const region = Buffer.alloc(SIZE.kvm_userspace_memory_region);
    region.writeUInt32LE(s.slot, OFFSET['kvm_userspace_memory_region.slot']);
    region.writeUInt32LE(s.flags, OFFSET['kvm_userspace_memory_region.flags']);
    region.writeBigUInt64LE(BigInt(s.guestPhysical), OFFSET['kvm_userspace_memory_region.guest_phys_addr']);
    region.writeBigUInt64LE(BigInt(s.size), OFFSET['kvm_userspace_memory_region.memory_size']);
    region.writeBigUInt64LE(s.hostVirtual, OFFSET['kvm_userspace_memory_region.userspace_addr']);
    libc.ioctlPtr(this.vmFd, IOCTL.KVM_SET_USER_MEMORY_REGION, region, `KVM_SET_USER_MEMORY_REGION (slot ${s.slot})`);
  }

  /**
   * Makes the pages holding `ranges` read-only to the guest (its writes there exit as MMIO, which is
   * how write watches work on every KVM) and everything else writable. Only while the vCPU is stopped.
   */
  setWriteWatches(ranges: [number, number][]): void {
    const ro = new Set<number>();
    for (const [start, end] of ranges)
      for (let p = Math.floor(start / PAGE); p * PAGE < end; p++) if (p * PAGE < this.size) ro.add(p);
    const wanted: MemorySlot[] = [];
    const pages = this.size / PAGE;
    for (let p = 0; p < pages; ) {
      const readOnly = ro.has(p);
      let q = p;
      while (q < pages && ro.has(q) === readOnly) q++;
      wanted.push({
        slot: wanted.length, guestPhysical: p * PAGE, size: (q - p) * PAGE,
        hostVirtual: this.mapping.address + BigInt(p * PAGE), flags: readOnly ? MEM_FLAG.KVM_MEM_READONLY : 0,
      });
      p = q;
    }
    const same = wanted.length === this.slots.length && wanted.every((w, i) => JSON.stringify(w, big) === JSON.stringify(this.slots[i], big));
    if (same) return;
    for (const s of this.slots) this.setSlot({ ...s, size: 0 }); // delete, then lay out anew
    for (const s of wanted) this.setSlot(s);
    this.slots.splice(0, this.slots.length, ...wanted);
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
