// The machine description the monitor hands a protected-, paged32- or long-mode guest (the LSE
// "writing a VMM" convention): a start_info struct at START_INFO_ADDR, EBX/RBX pointing at it, then
// the memory map and the device map. Every field is a little-endian uint32:
//
//   struct start_info { ioapic_base, mem_size, mem_entries, dev_size, dev_entries };
//   struct memory_map_entry { base, size, flags, use };   flags: 1 = read-only
//                                                         use: 0 free, 1 kernel, 2 init (monitor)
//   struct device_map_entry { base_addr, interrupt_num }; interrupt_num: I/O APIC input
import type { GuestImage } from '../program/guest-image';
import * as L from './guest-layout';

export const MEMORY_USE = { FREE: 0, KERNEL: 1, INIT: 2 } as const;
export const MEMORY_FLAG_READ_ONLY = 1;
const START_INFO_BYTES = 5 * 4;
const MEMORY_ENTRY_BYTES = 4 * 4;
const DEVICE_ENTRY_BYTES = 2 * 4;

export interface MemoryMapEntry {
  base: number;
  size: number;
  flags: number;
  use: number;
}

export interface DeviceMapEntry {
  base: number;
  irq: number;
}

export interface StartInfo {
  ioapicBase: number;
  memSize: number;
  devSize: number;
  memory: MemoryMapEntry[];
  devices: DeviceMapEntry[];
}

/**
 * The memory map of guest RAM: the image's pages (kernel), the monitor's reserved region (init) and
 * the rest (free), in address order, covering [0, memorySize) exactly once.
 */
export function memoryMap(memorySize: number, image: GuestImage): MemoryMapEntry[] {
  // Paint each page with its use; later paints win (init over kernel: the loader refuses overlaps).
  const page = L.PAGE_SIZE;
  const pages = new Uint8Array(Math.ceil(memorySize / page));
  const paint = (start: number, end: number, use: number): void => {
    for (let p = Math.floor(start / page); p < Math.min(pages.length, Math.ceil(end / page)); p++) pages[p] = use;
  };
  for (const s of image.segments) if (s.memSize > 0) paint(s.address, s.address + s.memSize, MEMORY_USE.KERNEL);
  paint(L.RESERVED_START, L.RESERVED_END, MEMORY_USE.INIT);
  const out: MemoryMapEntry[] = [];
  for (let p = 0; p < pages.length; p++) {
    const last = out[out.length - 1];
    if (last && last.use === pages[p] && last.base + last.size === p * page) last.size += page;
    else out.push({ base: p * page, size: page, flags: 0, use: pages[p] });
  }
  const last = out[out.length - 1];
  if (last) last.size = memorySize - last.base;
  return out;
}

/** Writes `info` at START_INFO_ADDR; throws when it does not fit in its page. */
export function writeStartInfo(mem: Uint8Array, info: StartInfo): void {
  const bytes = START_INFO_BYTES + info.memory.length * MEMORY_ENTRY_BYTES + info.devices.length * DEVICE_ENTRY_BYTES;
  if (bytes > L.START_INFO_END - L.START_INFO_ADDR)
    throw new RangeError(`start_info needs ${bytes} bytes; the monitor reserves ${L.START_INFO_END - L.START_INFO_ADDR}`);
  const v = new DataView(mem.buffer, mem.byteOffset + L.START_INFO_ADDR, L.START_INFO_END - L.START_INFO_ADDR);
  new Uint8Array(v.buffer, v.byteOffset, v.byteLength).fill(0);
  const words = [info.ioapicBase, info.memSize, info.memory.length, info.devSize, info.devices.length];
  for (const m of info.memory) words.push(m.base, m.size, m.flags, m.use);
  for (const d of info.devices) words.push(d.base, d.irq);
  words.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
}

/** Reads the struct back (for the views and `.machine`), as a guest would. */
export function readStartInfo(mem: Uint8Array): StartInfo {
  const v = new DataView(mem.buffer, mem.byteOffset + L.START_INFO_ADDR, L.START_INFO_END - L.START_INFO_ADDR);
  const u = (i: number): number => v.getUint32(i * 4, true);
  const memEntries = Math.min(u(2), 200);
  const devEntries = Math.min(u(4), 100);
  const memory: MemoryMapEntry[] = [];
  for (let i = 0; i < memEntries; i++) memory.push({ base: u(5 + i * 4), size: u(6 + i * 4), flags: u(7 + i * 4), use: u(8 + i * 4) });
  const devices: DeviceMapEntry[] = [];
  const d0 = 5 + memEntries * 4;
  for (let i = 0; i < devEntries; i++) devices.push({ base: u(d0 + i * 2), irq: u(d0 + i * 2 + 1) });
  return { ioapicBase: u(0), memSize: u(1), devSize: u(3), memory, devices };
}
