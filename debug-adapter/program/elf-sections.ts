// ELF32/ELF64 little-endian section headers and section contents, for the debugger's symbol and
// line tables. The ELF header itself comes from elf-loader's readElfHeader.
import * as zlib from 'node:zlib';
import { ElfHeader, readElfHeader } from './elf-loader';
import { ImageError } from './guest-image';

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHT_SYMTAB_SHNDX = 18;

export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_COMPRESSED = 0x800;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

const hex = (n: number | bigint): string => '0x' + n.toString(16);

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number, what: string, path: string, le = true): number {
  const v = dv.getBigUint64(at, le);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageError(`${path}: malformed ELF: ${what} ${hex(v)} is out of range`);
  return Number(v);
}

/** NUL-terminated UTF-8 string at `at`, which must end before `end`. */
export function cString(bytes: Uint8Array, at: number, end: number): string | undefined {
  if (at < 0 || at >= end) return undefined;
  const nul = bytes.indexOf(0, at);
  if (nul < 0 || nul >= end) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, nul - at).toString('utf8');
}

/** All section headers, with names from the section-name string table. */
export function readSections(bytes: Uint8Array, path: string, header?: ElfHeader): ElfSection[] {
  const h = header ?? readElfHeader(bytes, path);
  const is64 = h.elfClass === 64;
  const entSize = is64 ? 64 : 40;
  if (h.shoff === 0) return []; // no section header table (allowed for executables)
  if (h.shentsize !== entSize)
    throw new ImageError(`${path}: malformed ELF: section header entries are ${h.shentsize} bytes, ELF${h.elfClass} needs ${entSize}`);
  if (h.shoff + entSize > bytes.length)
    throw new ImageError(`${path}: truncated ELF: the section header table at ${hex(h.shoff)} is past the end of the file (${hex(bytes.length)})`);
  const dv = dataView(bytes);
  const le = h.littleEndian;
  const raw = (i: number): Omit<ElfSection, 'name'> & { nameOff: number } => {
    const at = h.shoff + i * entSize;
    return is64
      ? {
          index: i, nameOff: dv.getUint32(at, le), type: dv.getUint32(at + 4, le), flags: u64(dv, at + 8, 'sh_flags', path, le),
          addr: u64(dv, at + 16, 'sh_addr', path, le), offset: u64(dv, at + 24, 'sh_offset', path, le), size: u64(dv, at + 32, 'sh_size', path, le),
          link: dv.getUint32(at + 40, le), info: dv.getUint32(at + 44, le), addralign: u64(dv, at + 48, 'sh_addralign', path, le),
          entsize: u64(dv, at + 56, 'sh_entsize', path, le),
        }
      : {
          index: i, nameOff: dv.getUint32(at, le), type: dv.getUint32(at + 4, le), flags: dv.getUint32(at + 8, le),
          addr: dv.getUint32(at + 12, le), offset: dv.getUint32(at + 16, le), size: dv.getUint32(at + 20, le),
          link: dv.getUint32(at + 24, le), info: dv.getUint32(at + 28, le), addralign: dv.getUint32(at + 32, le),
          entsize: dv.getUint32(at + 36, le),
        };
  };
  // Extended numbering: with 0xff00 or more sections, the count and the name-table index live in section 0.
  const first = raw(0);
  const count = h.shnum === 0 ? first.size : h.shnum;
  const strndx = h.shstrndx === SHN_XINDEX ? first.link : h.shstrndx;
  const end = h.shoff + count * entSize;
  if (end > bytes.length)
    throw new ImageError(`${path}: truncated ELF: ${count} section headers at ${hex(h.shoff)} need the file to reach ${hex(end)}, but it ends at ${hex(bytes.length)}`);
  const headers = Array.from({ length: count }, (_, i) => raw(i));
  headers.forEach((s) => {
    if (s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.offset + s.size > bytes.length)
      throw new ImageError(
        `${path}: truncated ELF: section ${s.index} needs file bytes ${hex(s.offset)}–${hex(s.offset + s.size - 1)}, but the file ends at ${hex(bytes.length)}`,
      );
  });
  let names: ElfSection | undefined;
  if (strndx !== SHN_UNDEF) {
    if (strndx >= count) throw new ImageError(`${path}: malformed ELF: the section name table index ${strndx} is not below the section count ${count}`);
    names = { ...headers[strndx], name: '' };
  }
  return headers.map(({ nameOff, ...s }) => {
    let name = '';
    if (names !== undefined && nameOff !== 0) {
      const found = cString(bytes, names.offset + nameOff, names.offset + names.size);
      if (found === undefined)
        throw new ImageError(`${path}: malformed ELF: section ${s.index}'s name (offset ${hex(nameOff)}) is outside the section name table`);
      name = found;
    }
    return { ...s, name };
  });
}

export function findSection(sections: readonly ElfSection[], name: string): ElfSection | undefined {
  return sections.find((s) => s.name === name);
}

/** A section's contents (decompressed if SHF_COMPRESSED); NOBITS sections have none. */
export function sectionContents(bytes: Uint8Array, section: ElfSection, path: string, elfClass: 32 | 64): Uint8Array {
  if (section.type === SHT_NOBITS || section.type === SHT_NULL) return new Uint8Array(0);
  const data = bytes.subarray(section.offset, section.offset + section.size);
  if ((section.flags & SHF_COMPRESSED) === 0) return data;
  // Elf32_Chdr / Elf64_Chdr: type, (reserved), uncompressed size, alignment.
  const chdr = elfClass === 64 ? 24 : 12;
  if (data.length < chdr) throw new ImageError(`${path}: truncated ELF: compressed section ${section.name} is shorter than its header`);
  const dv = dataView(data);
  const type = dv.getUint32(0, true);
  const size = elfClass === 64 ? u64(dv, 8, `${section.name} ch_size`, path) : dv.getUint32(4, true);
  if (type === ELFCOMPRESS_ZSTD) throw new ImageError(`${path}: section ${section.name} is zstd-compressed, which is not supported; relink without --compress-debug-sections=zstd`);
  if (type !== ELFCOMPRESS_ZLIB) throw new ImageError(`${path}: malformed ELF: section ${section.name} uses unknown compression ${type}`);
  let out: Buffer;
  try {
    out = zlib.inflateSync(data.subarray(chdr));
  } catch (e) {
    throw new ImageError(`${path}: malformed ELF: section ${section.name} does not decompress (${e instanceof Error ? e.message : String(e)})`);
  }
  if (out.length !== size)
    throw new ImageError(`${path}: malformed ELF: section ${section.name} decompresses to ${out.length} bytes, its header says ${size}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The contents of the section called `name`, or undefined when there is no such section. */
export function sectionData(bytes: Uint8Array, name: string, path = '<ELF image>'): Uint8Array | undefined {
  const h = readElfHeader(bytes, path);
  const s = findSection(readSections(bytes, path, h), name);
  return s === undefined ? undefined : sectionContents(bytes, s, path, h.elfClass);
}
