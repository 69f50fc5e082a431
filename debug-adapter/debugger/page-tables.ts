// The guest's page tables as a browsable tree: the present entries of one table, with what each
// maps (the extension's Machine view expands CR3 → PML4 → PDPT → PD → PT lazily).
import type { GuestAddressSpace } from './guest-address-space';

export type PageTableLevel = 'PML4' | 'PDPT' | 'PD' | 'PT' | 'PD32' | 'PT32';

export interface PageTableEntry {
  index: number;
  value: string;
  flags: string[];
  /** Physical address of the next table, or of the page for a leaf. */
  next: string;
  /** The child table's level, for entries that point to one. */
  nextLevel?: PageTableLevel;
  leaf: boolean;
  /** The linear range this entry maps. */
  covers: string;
  linearBase: string;
}

const SHIFT: Record<PageTableLevel, bigint> = { PML4: 39n, PDPT: 30n, PD: 21n, PT: 12n, PD32: 22n, PT32: 12n };
const CHILD: Partial<Record<PageTableLevel, PageTableLevel>> = { PML4: 'PDPT', PDPT: 'PD', PD: 'PT', PD32: 'PT32' };
const FLAG_NAMES = ['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', 'PS', 'G'];
const hex = (v: bigint): string => '0x' + v.toString(16);

/** Present entries of the table at guest-physical `table`; `linearBase` is the parent's prefix. */
export function listPageTable(space: GuestAddressSpace, table: bigint, level: PageTableLevel, linearBase = 0n): PageTableEntry[] {
  const wide = level !== 'PD32' && level !== 'PT32';
  const size = wide ? 8 : 4;
  const r = space.read({ address: table & ~0xfffn, physical: true }, 4096);
  if (r.unreadable) throw new Error(`page table at ${hex(table)} is outside guest memory`);
  const view = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  const out: PageTableEntry[] = [];
  for (let i = 0; i < 4096 / size; i++) {
    const e = wide ? view.getBigUint64(i * size, true) : BigInt(view.getUint32(i * size, true));
    if ((e & 1n) === 0n) continue;
    const ps = (e & 0x80n) !== 0n;
    const leaf = level === 'PT' || level === 'PT32' || (ps && level !== 'PML4');
    let base = linearBase + (BigInt(i) << SHIFT[level]);
    if (level === 'PML4' && i >= 256) base |= 0xffff000000000000n; // canonical upper half
    const span = 1n << SHIFT[level];
    const frameMask = wide ? 0x000ffffffffff000n : 0xfffff000n;
    const next = leaf && ps ? e & frameMask & ~(span - 1n) : e & frameMask;
    out.push({
      index: i,
      value: hex(e),
      flags: FLAG_NAMES.filter((_, b) => (e >> BigInt(b)) & 1n).concat(wide && e >> 63n ? ['NX'] : []),
      next: hex(next),
      nextLevel: leaf ? undefined : CHILD[level],
      leaf,
      covers: `${hex(base)}–${hex(base + span - 1n)}`,
      linearBase: hex(base),
    });
  }
  return out;
}
