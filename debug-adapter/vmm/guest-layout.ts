// Where the monitor puts its own structures in guest-physical memory, and the limits on memory size.
//
// Reserved region 0x90000–0x9FFFF (64 KiB, just below the legacy VGA hole): reachable from real mode
// (SS = 0x9800), out of the way of the low 64 KiB (guests use it: kvm-hello-world writes 0x400) and of
// images linked at 1 MiB or loaded at the reset-vector segment 0xF0000.
//
//   0x90000  GDT (null, code32 0x08, data 0x10, code64 0x18, TSS 0x20..0x2F) and the TSS at +0x100
//   0x91000  long mode: PML4
//   0x92000  long mode: PDPT
//   0x93000  long mode: 4 page directories (2 MiB pages) = identity map of the first 4 GiB
//   0x97000  paged32: page directory (4 MiB pages) = identity map of 4 GiB
//   0x98000  start_info (protected, paged32 and long mode: EBX/RBX at entry), memory and device maps;
//            for a Multiboot kernel instead, the Multiboot information (EBX at entry) with its memory
//            map, module list and strings (multiboot-info.ts); the modules follow the kernel image
//   0x99000  stack, 28 KiB, growing down from 0xA0000

export const RESERVED_START = 0x90000;
export const RESERVED_END = 0xa0000; // exclusive

export const GDT_ADDR = 0x90000;
export const TSS_ADDR = 0x90100;
export const TSS_LIMIT = 0x67;
export const PML4_ADDR = 0x91000;
export const PDPT_ADDR = 0x92000;
export const PD64_ADDR = 0x93000;
export const PD64_COUNT = 4;
export const PD32_ADDR = 0x97000;
export const START_INFO_ADDR = 0x98000;
export const START_INFO_END = 0x99000;
/** The Multiboot information area (a Multiboot kernel gets no start_info): one page. */
export const MULTIBOOT_INFO_ADDR = 0x98000;
export const MULTIBOOT_INFO_END = 0x99000;
export const STACK_BOTTOM = 0x99000;
export const STACK_TOP = 0xa0000;

/** Real mode stack: SS:SP = 9800:8000 = linear 0xA0000 (first push lands at 0x9FFFE). */
export const REAL_STACK_SEGMENT = 0x9800;
export const REAL_STACK_POINTER = 0x8000;

/** GDT selectors the monitor installs. */
export const SEL_CODE32 = 0x08;
export const SEL_DATA = 0x10;
export const SEL_CODE64 = 0x18;
export const SEL_TSS = 0x20;
export const GDT_LIMIT = 0x2f;

/** The real-mode reset-vector convention (Linux Journal launcher): image at 0xF0000, start F000:FFF0. */
export const RESET_SEGMENT = 0xf000;
export const RESET_OFFSET = 0xfff0;
export const RESET_LOAD_ADDRESS = 0xf0000;

/** KVM on Intel needs three pages for a TSS outside guest RAM; below 4 GiB, above any RAM we allow. */
export const KVM_TSS_ADDR = 0xfffbd000;
export const KVM_IDENTITY_MAP_ADDR = 0xfffbc000;

/**
 * virtio-mmio devices: device i's window at VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, on I/O APIC
 * input VIRTIO_FIRST_IRQ + i — the placement of QEMU's microvm machine.
 */
export const VIRTIO_MMIO_BASE = 0xfeb00000;
export const VIRTIO_MMIO_STRIDE = 0x200;
/** Bytes of each device's register window (start_info.dev_size). */
export const VIRTIO_MMIO_WINDOW = 0x200;
export const VIRTIO_FIRST_IRQ = 16;
export const VIRTIO_MAX_DEVICES = 8;

/** Where virtio device i's register window starts. */
export function virtioWindow(i: number): number {
  return VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE;
}

export const MIN_MEMORY = 1 << 20; // the reserved region and the reset vector need the first MiB
export const MAX_MEMORY = 3 * 2 ** 30; // below the 32-bit MMIO hole and KVM's TSS pages
export const DEFAULT_MEMORY = 2 << 20;
export const PAGE_SIZE = 4096;

export interface Range {
  start: number;
  end: number; // exclusive
}

export function overlaps(a: Range, b: Range): boolean {
  return a.start < b.end && b.start < a.end;
}

export const hex = (n: number | bigint): string => '0x' + n.toString(16);

export function describeRange(r: Range): string {
  return `${hex(r.start)}–${hex(r.end - 1)}`;
}

/**
 * Parses a memory size: "2M", "2MiB", "512k", "1G", "0x200000", "65536". Rounds up to a 4 KiB page
 * and validates the range; throws with a message saying what is accepted.
 */
export function parseMemorySize(text: string | number): number {
  let bytes: number;
  if (typeof text === 'number') bytes = text;
  else {
    const m = /^\s*(0x[0-9a-f]+|\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
    if (!m) throw new RangeError(`invalid memory size '${text}': use bytes or a suffix, e.g. 2M, 512K, 1G, 0x200000`);
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
    bytes = Math.round(Number(m[1]) * unit);
  }
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new RangeError(`invalid memory size '${text}': it must be at least 1M (the monitor's reserved region and the reset vector live in the first MiB)`);
  const rounded = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
  if (rounded < MIN_MEMORY)
    throw new RangeError(`memory size '${text}' is too small: at least 1M is needed (the monitor's reserved region ${describeRange({ start: RESERVED_START, end: RESERVED_END })} and the reset vector at 0xffff0 live in the first MiB)`);
  if (rounded > MAX_MEMORY)
    throw new RangeError(`memory size '${text}' is too large: at most 3G (guest RAM ends below the 32-bit MMIO hole)`);
  return rounded;
}
