// Finding and checking a kernel's Multiboot header: version 1 (Multiboot Specification 0.6.96,
// §3.1: magic 0x1BADB002 in the first 8192 bytes, 32-bit aligned, magic + flags + checksum = 0) and
// Multiboot2 (Multiboot2 Specification 2.0, §3.1: magic 0xE85250D6 in the first 32768 bytes,
// 64-bit aligned, magic + architecture + header_length + checksum = 0, then 8-byte aligned tags).
// A magic number whose checksum does not add up is data, not a header: the search goes on.
import { ImageError } from './guest-image';

export const MULTIBOOT1_MAGIC = 0x1badb002;
export const MULTIBOOT1_BOOTLOADER_MAGIC = 0x2badb002;
export const MULTIBOOT2_MAGIC = 0xe85250d6;
export const MULTIBOOT2_BOOTLOADER_MAGIC = 0x36d76289;
const MULTIBOOT1_SEARCH = 8192;
const MULTIBOOT2_SEARCH = 32768;

/** Multiboot 1 header flags (§3.1.2). Bits 0–15 are requirements a loader must meet or refuse. */
export const MB1_FLAG = { PAGE_ALIGN: 1 << 0, MEMORY_INFO: 1 << 1, VIDEO_MODE: 1 << 2, AOUT_KLUDGE: 1 << 16 } as const;
const MB1_SUPPORTED_REQUIREMENTS = MB1_FLAG.PAGE_ALIGN | MB1_FLAG.MEMORY_INFO;

/** The address fields of a header (v1 flag 16, v2 address and entry tags): the "a.out kludge". */
export interface KludgeAddresses {
  /** Where the header itself is to be loaded: syncs a file offset with a physical address. */
  headerAddr: number;
  loadAddr: number;
  /** 0: load to the end of the file. */
  loadEndAddr: number;
  /** 0: no bss. */
  bssEndAddr: number;
  entryAddr?: number;
}

export interface MultibootHeader {
  version: 1 | 2;
  /** File offset of the magic number. */
  offset: number;
  /** v1: the flags word; v2: 0. */
  flags: number;
  /** Load with these addresses instead of the ELF program headers. */
  kludge?: KludgeAddresses;
  /** v2: the entry address tag without an address tag (an ELF entry override). */
  entryAddr?: number;
  /** v2: tag types listed in the information request tag (what the kernel asks for). */
  requested?: { type: number; optional: boolean }[];
}

/** v2 header tag types (§3.1.4–3.1.13). */
export const MB2_TAG = { END: 0, INFORMATION_REQUEST: 1, ADDRESS: 2, ENTRY_ADDRESS: 3, CONSOLE_FLAGS: 4, FRAMEBUFFER: 5, MODULE_ALIGN: 6, EFI_BS: 7, ENTRY_EFI32: 8, ENTRY_EFI64: 9, RELOCATABLE: 10 } as const;
/** v2 boot information tag types this loader provides (§3.6). */
export const MB2_INFO = { END: 0, CMDLINE: 1, LOADER_NAME: 2, MODULE: 3, BASIC_MEMINFO: 4, MMAP: 6 } as const;
const MB2_PROVIDED = new Set<number>(Object.values(MB2_INFO));

const u32 = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const u16 = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8);

/**
 * The kernel's Multiboot header, v2 before v1 when a file has both (as GRUB's `multiboot2` command
 * would take it), or undefined when it has none. Throws ImageError for a header this loader must
 * refuse (requirements it cannot meet), naming what.
 */
export function findMultibootHeader(bytes: Uint8Array, path: string): MultibootHeader | undefined {
  return findV2(bytes, path) ?? findV1(bytes, path);
}

function findV1(bytes: Uint8Array, path: string): MultibootHeader | undefined {
  const end = Math.min(bytes.length, MULTIBOOT1_SEARCH) - 12;
  for (let at = 0; at <= end; at += 4) {
    if (u32(bytes, at) !== MULTIBOOT1_MAGIC) continue;
    const flags = u32(bytes, at + 4);
    if (((MULTIBOOT1_MAGIC + flags + u32(bytes, at + 8)) >>> 0) !== 0) continue;
    const unmet = flags & 0xffff & ~MB1_SUPPORTED_REQUIREMENTS;
    if (unmet)
      throw new ImageError(
        `${path}: its Multiboot header requires ${unmet & MB1_FLAG.VIDEO_MODE ? 'a video mode table (flag 2)' : `flags 0x${unmet.toString(16)}`}, which this machine cannot give (it has no display); clear the flag to boot it here`,
      );
    const header: MultibootHeader = { version: 1, offset: at, flags };
    if (flags & MB1_FLAG.AOUT_KLUDGE) {
      if (at + 32 > bytes.length) throw new ImageError(`${path}: the Multiboot header at offset 0x${at.toString(16)} sets flag 16 but its address fields are cut off`);
      header.kludge = {
        headerAddr: u32(bytes, at + 12), loadAddr: u32(bytes, at + 16), loadEndAddr: u32(bytes, at + 20), bssEndAddr: u32(bytes, at + 24), entryAddr: u32(bytes, at + 28),
      };
    }
    return header;
  }
  return undefined;
}

function findV2(bytes: Uint8Array, path: string): MultibootHeader | undefined {
  const end = Math.min(bytes.length, MULTIBOOT2_SEARCH) - 16;
  for (let at = 0; at <= end; at += 8) {
    if (u32(bytes, at) !== MULTIBOOT2_MAGIC) continue;
    const arch = u32(bytes, at + 4);
    const length = u32(bytes, at + 8);
    if (((MULTIBOOT2_MAGIC + arch + length + u32(bytes, at + 12)) >>> 0) !== 0) continue;
    const where = `${path}: the Multiboot2 header at offset 0x${at.toString(16)}`;
    if (arch !== 0) throw new ImageError(`${where} is for architecture ${arch}, not i386 (0)`);
    if (length < 16 || at + length > bytes.length) throw new ImageError(`${where} has header_length ${length}, past the end of the file`);
    const header: MultibootHeader = { version: 2, offset: at, flags: 0, requested: [] };
    let address: Omit<KludgeAddresses, 'entryAddr'> | undefined;
    for (let t = at + 16; t + 8 <= at + length; ) {
      const type = u16(bytes, t);
      const optional = (u16(bytes, t + 2) & 1) !== 0;
      const size = u32(bytes, t + 4);
      if (type === MB2_TAG.END) break;
      if (size < 8 || t + size > at + length) throw new ImageError(`${where}: tag ${type} at offset 0x${t.toString(16)} has size ${size}, outside the header`);
      switch (type) {
        case MB2_TAG.INFORMATION_REQUEST:
          for (let r = t + 8; r + 4 <= t + size; r += 4) {
            const want = u32(bytes, r);
            if (!optional && !MB2_PROVIDED.has(want))
              throw new ImageError(`${where} requires boot information tag ${want}, which this machine does not provide (it gives ${[...MB2_PROVIDED].filter((x) => x).join(', ')})`);
            header.requested!.push({ type: want, optional });
          }
          break;
        case MB2_TAG.ADDRESS:
          address = { headerAddr: u32(bytes, t + 8), loadAddr: u32(bytes, t + 12), loadEndAddr: u32(bytes, t + 16), bssEndAddr: u32(bytes, t + 20) };
          break;
        case MB2_TAG.ENTRY_ADDRESS:
          header.entryAddr = u32(bytes, t + 8);
          break;
        case MB2_TAG.CONSOLE_FLAGS:
        case MB2_TAG.MODULE_ALIGN: // modules are page-aligned anyway
          break;
        default:
          // Framebuffer, EFI and relocation requests cannot be met here (no display, no EFI, fixed load).
          if (!optional) throw new ImageError(`${where} requires header tag ${type}, which this loader does not support`);
      }
      t += (size + 7) & ~7;
    }
    if (address) {
      if (header.entryAddr === undefined) throw new ImageError(`${where} has an address tag but no entry address tag`);
      header.kludge = { ...address, entryAddr: header.entryAddr };
    }
    return header;
  }
  return undefined;
}
