// Guest memory as the debugger sees it: guest-virtual (linear) addresses translated through the
// vCPU's own paging (or segment-free identity when paging is off), and guest-physical addresses.
// Memory references in DAP are "0x…" (linear) or "phys:0x…" (physical).
import type { GuestMemory } from '../vmm/guest-memory';
import type { SRegs } from '../vmm/cpu-state';
import { PageWalk, walkPages } from '../inspect/decode';

const PAGE = 4096n;

export interface MemoryReference {
  address: bigint;
  physical: boolean;
}

export function parseMemoryReference(ref: string): MemoryReference | undefined {
  const m = /^\s*(phys:)?(0x[0-9a-f]+|\d+)\s*$/i.exec(ref);
  if (!m) return undefined;
  return { address: BigInt(m[2]), physical: m[1] !== undefined };
}

export const linearRef = (address: bigint): string => '0x' + address.toString(16);
export const physicalRef = (address: bigint): string => 'phys:0x' + address.toString(16);

export class GuestAddressSpace {
  constructor(private readonly memory: GuestMemory, private readonly sregs: SRegs) {}

  private readPhys64 = (a: bigint): bigint | undefined =>
    a + 8n <= BigInt(this.memory.size) ? this.memory.view.getBigUint64(Number(a), true) : undefined;
  private readPhys32 = (a: bigint): bigint | undefined =>
    a + 4n <= BigInt(this.memory.size) ? BigInt(this.memory.view.getUint32(Number(a), true)) : undefined;

  /** The page walk of a linear address with the current control registers. */
  walk(linear: bigint): PageWalk {
    const s = this.sregs;
    return walkPages(s.cr3, s.cr4, s.efer, s.cr0, linear, this.readPhys64, this.readPhys32);
  }

  /** Guest-physical address of a linear one, or undefined when unmapped or not RAM. */
  translate(linear: bigint): bigint | undefined {
    const phys = (this.sregs.cr0 & (1n << 31n)) === 0n ? linear : this.walk(linear).physical;
    return phys !== undefined && phys < BigInt(this.memory.size) ? phys : undefined;
  }

  /** Reads what is readable from `ref`, stopping at the first unmapped page. */
  read(ref: MemoryReference, length: number): { data: Uint8Array; unreadable: number } {
    const parts: Uint8Array[] = [];
    let done = 0;
    while (done < length) {
      const at = ref.address + BigInt(done);
      const phys = ref.physical ? (at < BigInt(this.memory.size) ? at : undefined) : this.translate(at);
      if (phys === undefined) break;
      const chunk = Math.min(length - done, Number(PAGE - (at % PAGE)), this.memory.size - Number(phys));
      parts.push(this.memory.read(Number(phys), chunk));
      done += chunk;
    }
    const data = new Uint8Array(done);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    return { data, unreadable: length - done };
  }

  /** Writes `data` at `ref`; returns how many bytes were written before an unmapped page. */
  write(ref: MemoryReference, data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      const at = ref.address + BigInt(done);
      const phys = ref.physical ? (at < BigInt(this.memory.size) ? at : undefined) : this.translate(at);
      if (phys === undefined) break;
      const chunk = Math.min(data.length - done, Number(PAGE - (at % PAGE)), this.memory.size - Number(phys));
      this.memory.write(Number(phys), data.subarray(done, done + chunk));
      done += chunk;
    }
    return done;
  }
}
