// ELF32/ELF64 reader for loading (x86, and ppc64 in either byte order): header, program headers,
// PT_LOAD segments at p_paddr.
// Written here rather than taken from npm: the registry's ELF parsers are unmaintained or lack the
// strict truncation and consistency checks whose specific messages users rely on.
import type { GuestImage, ImageSegment } from './guest-image';
import { ImageError } from './guest-image';

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
export const EM_386 = 3;
export const EM_X86_64 = 62;
/** PowerPC 64 (big- or little-endian: EI_DATA says which). */
export const EM_PPC64 = 21;
const PT_LOAD = 1;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

const hex = (n: number | bigint): string => '0x' + n.toString(16);

export interface ElfHeader {
  elfClass: 32 | 64;
  /** EI_DATA: every multi-byte field (and the DWARF in the file) is in this byte order. */
  littleEndian: boolean;
  machine: number;
  type: number;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ProgramHeader {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

function num(v: bigint, what: string, path: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageError(`${path}: malformed ELF: ${what} ${hex(v)} is out of range`);
  return Number(v);
}

export function readElfHeader(bytes: Uint8Array, path: string): ElfHeader {
  if (!isElf(bytes)) throw new ImageError(`${path}: not an ELF file (no \\x7fELF magic)`);
  if (bytes.length < 16) throw new ImageError(`${path}: truncated ELF: the file is ${bytes.length} bytes, shorter than the ELF identification`);
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new ImageError(`${path}: malformed ELF: unknown class ${cls} (expected 1 = ELF32 or 2 = ELF64)`);
  if (bytes[5] !== 1 && bytes[5] !== 2) throw new ImageError(`${path}: malformed ELF: unknown data encoding ${bytes[5]} (expected 1 = little-endian or 2 = big-endian)`);
  const le = bytes[5] === 1;
  const elfClass = cls === 1 ? 32 : 64;
  const need = elfClass === 32 ? 52 : 64;
  if (bytes.length < need)
    throw new ImageError(`${path}: truncated ELF: the file is ${bytes.length} bytes but an ELF${elfClass} header needs ${need}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h: ElfHeader =
    elfClass === 32
      ? {
          elfClass, littleEndian: le, type: dv.getUint16(16, le), machine: dv.getUint16(18, le), entry: dv.getUint32(24, le),
          phoff: dv.getUint32(28, le), shoff: dv.getUint32(32, le), phentsize: dv.getUint16(42, le),
          phnum: dv.getUint16(44, le), shentsize: dv.getUint16(46, le), shnum: dv.getUint16(48, le), shstrndx: dv.getUint16(50, le),
        }
      : {
          elfClass, littleEndian: le, type: dv.getUint16(16, le), machine: dv.getUint16(18, le), entry: num(dv.getBigUint64(24, le), 'e_entry', path),
          phoff: num(dv.getBigUint64(32, le), 'e_phoff', path), shoff: num(dv.getBigUint64(40, le), 'e_shoff', path),
          phentsize: dv.getUint16(54, le), phnum: dv.getUint16(56, le), shentsize: dv.getUint16(58, le),
          shnum: dv.getUint16(60, le), shstrndx: dv.getUint16(62, le),
        };
  if (h.machine !== EM_386 && h.machine !== EM_X86_64 && h.machine !== EM_PPC64)
    throw new ImageError(`${path}: unsupported ELF machine ${h.machine} (expected 3 = i386, 62 = x86-64 or 21 = PowerPC 64)`);
  if (!le && h.machine !== EM_PPC64) throw new ImageError(`${path}: unsupported ELF: big-endian data (x86 guests are little-endian)`);
  return h;
}

export function readProgramHeaders(bytes: Uint8Array, h: ElfHeader, path: string): ProgramHeader[] {
  const entSize = h.elfClass === 32 ? 32 : 56;
  if (h.phnum === 0) return [];
  if (h.phentsize !== entSize)
    throw new ImageError(`${path}: malformed ELF: program header entries are ${h.phentsize} bytes, ELF${h.elfClass} needs ${entSize}`);
  const end = h.phoff + h.phnum * entSize;
  if (end > bytes.length)
    throw new ImageError(`${path}: truncated ELF: ${h.phnum} program headers at ${hex(h.phoff)} need the file to reach ${hex(end)}, but it ends at ${hex(bytes.length)}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = h.littleEndian;
  const out: ProgramHeader[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * entSize;
    out.push(
      h.elfClass === 32
        ? {
            type: dv.getUint32(at, le), offset: dv.getUint32(at + 4, le), vaddr: dv.getUint32(at + 8, le),
            paddr: dv.getUint32(at + 12, le), filesz: dv.getUint32(at + 16, le), memsz: dv.getUint32(at + 20, le),
            flags: dv.getUint32(at + 24, le),
          }
        : {
            type: dv.getUint32(at, le), flags: dv.getUint32(at + 4, le), offset: num(dv.getBigUint64(at + 8, le), 'p_offset', path),
            vaddr: num(dv.getBigUint64(at + 16, le), 'p_vaddr', path), paddr: num(dv.getBigUint64(at + 24, le), 'p_paddr', path),
            filesz: num(dv.getBigUint64(at + 32, le), 'p_filesz', path), memsz: num(dv.getBigUint64(at + 40, le), 'p_memsz', path),
          },
    );
  }
  return out;
}

/** Parses an ELF executable into loadable segments placed at their physical addresses. */
export function loadElf(bytes: Uint8Array, path: string): GuestImage {
  const h = readElfHeader(bytes, path);
  const segments: ImageSegment[] = [];
  readProgramHeaders(bytes, h, path).forEach((ph, i) => {
    if (ph.type !== PT_LOAD || ph.memsz === 0) return;
    if (ph.filesz > ph.memsz)
      throw new ImageError(`${path}: malformed ELF: segment ${i} has p_filesz ${hex(ph.filesz)} larger than p_memsz ${hex(ph.memsz)}`);
    if (ph.offset + ph.filesz > bytes.length)
      throw new ImageError(
        `${path}: truncated ELF: segment ${i} (PT_LOAD at ${hex(ph.paddr)}) needs file bytes ${hex(ph.offset)}–${hex(ph.offset + ph.filesz - 1)}, but the file ends at ${hex(bytes.length)}`,
      );
    segments.push({ address: ph.paddr, data: bytes.subarray(ph.offset, ph.offset + ph.filesz), memSize: ph.memsz });
  });
  if (segments.length === 0) throw new ImageError(`${path}: the ELF has no loadable (PT_LOAD) segment: nothing to run`);
  return { kind: h.elfClass === 32 ? 'elf32' : 'elf64', path, segments, entry: h.entry, machine: h.machine };
}

/** A flat binary placed at `address`. */
export function loadFlat(bytes: Uint8Array, path: string, address: number): GuestImage {
  if (bytes.length === 0) throw new ImageError(`${path}: the binary is empty: nothing to run`);
  return { kind: 'flat', path, segments: [{ address, data: bytes, memSize: bytes.length }] };
}
