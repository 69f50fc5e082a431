// The boot information a Multiboot loader hands the kernel (EBX at entry), for version 1
// (Multiboot Specification 0.6.96, §3.3: the multiboot_info structure, a memory map, modules,
// the command line and the boot loader's name) and Multiboot2 (§3.6: tags). It all lives in the
// monitor's reserved region (guest-layout.ts: MULTIBOOT_INFO_ADDR, one page); the modules' contents
// follow the kernel image, each on a page boundary, so nothing overlaps the image.
import type { GuestImage } from '../program/guest-image';
import { ImageError } from '../program/guest-image';
import { MB2_INFO, MULTIBOOT1_BOOTLOADER_MAGIC, MULTIBOOT2_BOOTLOADER_MAGIC } from '../program/multiboot-header';
import * as L from './guest-layout';

export const LOADER_NAME = 'KVM Guest Studio';

/** v1 multiboot_info.flags bits (§3.3) this loader sets. */
export const MB1_INFO = { MEMORY: 1 << 0, CMDLINE: 1 << 2, MODS: 1 << 3, MMAP: 1 << 6, LOADER_NAME: 1 << 9 } as const;
/** Memory map entry types (§3.3): 1 available RAM, 2 reserved. */
export const MMAP_AVAILABLE = 1;
export const MMAP_RESERVED = 2;
/** Lower memory ends where the monitor's reserved region begins. */
const LOWER_MEMORY_END = L.RESERVED_START;
const LEGACY_HOLE = { start: 0xa0000, end: 0x100000 };

export interface MultibootModuleFile {
  /** The file as the user named it. */
  path: string;
  data: Uint8Array;
  /** The module's string (`--module FILE=STRING`; default: FILE as given). */
  string: string;
}

export interface MultibootBoot {
  version: 1 | 2;
  /** The whole command line the kernel gets (the kernel's name first, as GRUB and QEMU pass it). */
  cmdline: string;
  modules: MultibootModuleFile[];
}

export interface PlacedModule {
  path: string;
  string: string;
  start: number;
  /** Exclusive, as mod_end in the specification. */
  end: number;
}

export interface MemoryRegion {
  base: number;
  length: number;
  type: number;
}

export interface MultibootPlan {
  version: 1 | 2;
  infoAddress: number;
  cmdline: string;
  loaderName: string;
  memLowerKiB: number;
  memUpperKiB: number;
  mmap: MemoryRegion[];
  modules: PlacedModule[];
}

/** The machine's memory as a Multiboot memory map: RAM, minus the monitor's region and the PC's legacy hole. */
export function multibootMemoryMap(memorySize: number): MemoryRegion[] {
  const out: MemoryRegion[] = [
    { base: 0, length: LOWER_MEMORY_END, type: MMAP_AVAILABLE },
    { base: L.RESERVED_START, length: L.RESERVED_END - L.RESERVED_START, type: MMAP_RESERVED },
    { base: LEGACY_HOLE.start, length: LEGACY_HOLE.end - LEGACY_HOLE.start, type: MMAP_RESERVED },
  ];
  if (memorySize > LEGACY_HOLE.end) out.push({ base: LEGACY_HOLE.end, length: memorySize - LEGACY_HOLE.end, type: MMAP_AVAILABLE });
  return out;
}

const pageUp = (n: number): number => Math.ceil(n / L.PAGE_SIZE) * L.PAGE_SIZE;

/** Where everything goes; throws ImageError when modules or strings do not fit. */
export function planMultiboot(memorySize: number, image: GuestImage, boot: MultibootBoot): MultibootPlan {
  const imageEnd = image.segments.reduce((n, s) => Math.max(n, s.address + s.memSize), 0);
  let next = pageUp(Math.max(imageEnd, LEGACY_HOLE.end));
  const modules: PlacedModule[] = [];
  for (const m of boot.modules) {
    const start = next;
    const end = start + m.data.length;
    if (end > memorySize)
      throw new ImageError(
        `module ${m.path} (${m.data.length} bytes) does not fit: it would occupy ${L.describeRange({ start, end: Math.max(end, start + 1) })} after the kernel, and memory ends at ${L.hex(memorySize)}; give more --memory`,
      );
    modules.push({ path: m.path, string: m.string, start, end });
    next = pageUp(Math.max(end, start + 1));
  }
  const plan: MultibootPlan = {
    version: boot.version, infoAddress: L.MULTIBOOT_INFO_ADDR, cmdline: boot.cmdline, loaderName: LOADER_NAME,
    memLowerKiB: LOWER_MEMORY_END / 1024, memUpperKiB: Math.max(0, memorySize - LEGACY_HOLE.end) / 1024,
    mmap: multibootMemoryMap(memorySize), modules,
  };
  const size = (boot.version === 1 ? layoutV1 : layoutV2)(plan).size;
  const room = L.MULTIBOOT_INFO_END - L.MULTIBOOT_INFO_ADDR;
  if (size > room)
    throw new ImageError(`the Multiboot information (command line, module strings) takes ${size} bytes; the area ${L.describeRange({ start: L.MULTIBOOT_INFO_ADDR, end: L.MULTIBOOT_INFO_END })} holds ${room}: shorten the command line or module strings`);
  return plan;
}

const cstring = (s: string): Uint8Array => Uint8Array.from([...Buffer.from(s, 'latin1'), 0]);

interface Writes {
  size: number;
  /** [offset from the info address, bytes] */
  chunks: [number, Uint8Array][];
}

/** v1: the multiboot_info structure (116 bytes), then the memory map, the module list and the strings. */
function layoutV1(p: MultibootPlan): Writes {
  const chunks: [number, Uint8Array][] = [];
  let at = 0x80; // after multiboot_info (up to the framebuffer fields, 116 bytes)
  const put = (bytes: Uint8Array, align = 4): number => {
    at = Math.ceil(at / align) * align;
    const off = at;
    chunks.push([off, bytes]);
    at += bytes.length;
    return p.infoAddress + off;
  };
  const mmap = new DataView(new ArrayBuffer(p.mmap.length * 24));
  p.mmap.forEach((r, i) => {
    mmap.setUint32(i * 24, 20, true); // size: of the entry, not counting this field
    mmap.setBigUint64(i * 24 + 4, BigInt(r.base), true);
    mmap.setBigUint64(i * 24 + 12, BigInt(r.length), true);
    mmap.setUint32(i * 24 + 20, r.type, true);
  });
  const mmapAddr = put(new Uint8Array(mmap.buffer));
  const mods = new DataView(new ArrayBuffer(p.modules.length * 16));
  const modsAddr = put(new Uint8Array(mods.buffer));
  p.modules.forEach((m, i) => {
    mods.setUint32(i * 16, m.start, true);
    mods.setUint32(i * 16 + 4, m.end, true);
    mods.setUint32(i * 16 + 8, put(cstring(m.string), 1), true);
  });
  const loaderName = put(cstring(p.loaderName), 1);
  const cmdline = put(cstring(p.cmdline), 1);
  const info = new DataView(new ArrayBuffer(0x80));
  info.setUint32(0, MB1_INFO.MEMORY | MB1_INFO.CMDLINE | MB1_INFO.MODS | MB1_INFO.MMAP | MB1_INFO.LOADER_NAME, true);
  info.setUint32(4, p.memLowerKiB, true);
  info.setUint32(8, p.memUpperKiB, true);
  info.setUint32(16, cmdline, true);
  info.setUint32(20, p.modules.length, true);
  info.setUint32(24, modsAddr, true);
  info.setUint32(44, mmap.byteLength, true);
  info.setUint32(48, mmapAddr, true);
  info.setUint32(64, loaderName, true);
  chunks.push([0, new Uint8Array(info.buffer)]);
  return { size: at, chunks };
}

/** v2: total_size, reserved, then 8-byte aligned tags ending with the end tag. */
function layoutV2(p: MultibootPlan): Writes {
  const parts: Uint8Array[] = [];
  const tag = (type: number, body: Uint8Array): void => {
    const t = new Uint8Array((8 + body.length + 7) & ~7);
    const v = new DataView(t.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, 8 + body.length, true);
    t.set(body, 8);
    parts.push(t);
  };
  tag(MB2_INFO.CMDLINE, cstring(p.cmdline));
  tag(MB2_INFO.LOADER_NAME, cstring(p.loaderName));
  for (const m of p.modules) {
    const s = cstring(m.string);
    const body = new Uint8Array(8 + s.length);
    const v = new DataView(body.buffer);
    v.setUint32(0, m.start, true);
    v.setUint32(4, m.end, true);
    body.set(s, 8);
    tag(MB2_INFO.MODULE, body);
  }
  const mem = new DataView(new ArrayBuffer(8));
  mem.setUint32(0, p.memLowerKiB, true);
  mem.setUint32(4, p.memUpperKiB, true);
  tag(MB2_INFO.BASIC_MEMINFO, new Uint8Array(mem.buffer));
  const mmap = new DataView(new ArrayBuffer(8 + p.mmap.length * 24));
  mmap.setUint32(0, 24, true); // entry_size
  mmap.setUint32(4, 0, true); // entry_version
  p.mmap.forEach((r, i) => {
    mmap.setBigUint64(8 + i * 24, BigInt(r.base), true);
    mmap.setBigUint64(8 + i * 24 + 8, BigInt(r.length), true);
    mmap.setUint32(8 + i * 24 + 16, r.type, true);
  });
  tag(MB2_INFO.MMAP, new Uint8Array(mmap.buffer));
  tag(MB2_INFO.END, new Uint8Array(0));
  const size = 8 + parts.reduce((n, t) => n + t.length, 0);
  const head = new DataView(new ArrayBuffer(8));
  head.setUint32(0, size, true);
  const chunks: [number, Uint8Array][] = [[0, new Uint8Array(head.buffer)]];
  let at = 8;
  for (const t of parts) {
    chunks.push([at, t]);
    at += t.length;
  }
  return { size, chunks };
}

/** Writes the modules' contents and the information structure into guest memory. */
export function writeMultiboot(mem: Uint8Array, plan: MultibootPlan, boot: MultibootBoot): void {
  boot.modules.forEach((m, i) => mem.set(m.data, plan.modules[i].start));
  mem.fill(0, plan.infoAddress, L.MULTIBOOT_INFO_END);
  for (const [off, bytes] of (plan.version === 1 ? layoutV1 : layoutV2)(plan).chunks) mem.set(bytes, plan.infoAddress + off);
}

/** EAX and EBX at the kernel's entry (§3.2): the boot loader's magic value and the information's address. */
export function multibootRegisters(plan: MultibootPlan): { rax: bigint; rbx: bigint } {
  return { rax: BigInt(plan.version === 1 ? MULTIBOOT1_BOOTLOADER_MAGIC : MULTIBOOT2_BOOTLOADER_MAGIC), rbx: BigInt(plan.infoAddress) };
}
