// KVM memory slots over the monitor's guest RAM. Write watches work by making the watched pages a
// read-only slot: the guest's writes there exit as MMIO (works on every KVM, debug registers or not).
import { IOCTL, MEM_FLAG, OFFSET, SIZE } from './kvm-abi';
import * as libc from '../libc';
import type { MemoryRegionInfo } from '../accelerator';

const PAGE = 4096;

interface Slot {
  slot: number;
  guestPhysical: number;
  size: number;
  hostVirtual: bigint;
  flags: number;
}

const same = (a: Slot, b: Slot): boolean =>
  a.slot === b.slot && a.guestPhysical === b.guestPhysical && a.size === b.size && a.hostVirtual === b.hostVirtual && a.flags === b.flags;

export class MemorySlots {
  private slots: Slot[] = [];

  constructor(private readonly vmFd: number, private readonly hostAddress: bigint, private readonly size: number) {
    this.apply([{ slot: 0, guestPhysical: 0, size, hostVirtual: hostAddress, flags: 0 }]);
  }

  private setSlot(s: Slot): void {
    const region = Buffer.alloc(SIZE.kvm_userspace_memory_region);
    region.writeUInt32LE(s.slot, OFFSET['kvm_userspace_memory_region.slot']);
    region.writeUInt32LE(s.flags, OFFSET['kvm_userspace_memory_region.flags']);
    region.writeBigUInt64LE(BigInt(s.guestPhysical), OFFSET['kvm_userspace_memory_region.guest_phys_addr']);
    region.writeBigUInt64LE(BigInt(s.size), OFFSET['kvm_userspace_memory_region.memory_size']);
    region.writeBigUInt64LE(s.hostVirtual, OFFSET['kvm_userspace_memory_region.userspace_addr']);
    libc.ioctlPtr(this.vmFd, IOCTL.KVM_SET_USER_MEMORY_REGION, region, `KVM_SET_USER_MEMORY_REGION (slot ${s.slot})`);
  }

  private apply(wanted: Slot[]): void {
    if (wanted.length === this.slots.length && wanted.every((w, i) => same(w, this.slots[i]))) return;
    for (const s of this.slots) this.setSlot({ ...s, size: 0 }); // delete, then lay out anew
    for (const s of wanted) this.setSlot(s);
    this.slots = wanted;
  }

  /** Read-only slots over the pages of `ranges` (guest-physical [start, end)), writable elsewhere. Only while stopped. */
  setWriteWatches(ranges: [number, number][]): void {
    const ro = new Set<number>();
    for (const [start, end] of ranges)
      for (let p = Math.floor(start / PAGE); p * PAGE < end; p++) if (p * PAGE < this.size) ro.add(p);
    const wanted: Slot[] = [];
    const pages = this.size / PAGE;
    for (let p = 0; p < pages; ) {
      const readOnly = ro.has(p);
      let q = p;
      while (q < pages && ro.has(q) === readOnly) q++;
      wanted.push({
        slot: wanted.length, guestPhysical: p * PAGE, size: (q - p) * PAGE,
        hostVirtual: this.hostAddress + BigInt(p * PAGE), flags: readOnly ? MEM_FLAG.KVM_MEM_READONLY : 0,
      });
      p = q;
    }
    this.apply(wanted);
  }

  regions(): MemoryRegionInfo[] {
    return this.slots.map((s) => ({
      slot: s.slot, guestPhysical: s.guestPhysical, size: s.size, hostVirtual: s.hostVirtual,
      access: s.flags & MEM_FLAG.KVM_MEM_READONLY ? 'read-only (write watch)' : 'read-write',
    }));
  }
}
