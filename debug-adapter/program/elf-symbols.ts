// Symbols from an ELF's .symtab. Assembly labels (`start:`, `serial_putc:`) are LOCAL NOTYPE
// symbols there, so locals are kept: for hand-written guests they are most of the names.
import { readElfHeader } from './elf-loader';
import { ImageError } from './guest-image';
import { cString, dataView, ElfSection, readSections, SHN_XINDEX, SHT_SYMTAB, SHT_SYMTAB_SHNDX } from './elf-sections';

export type SymbolKind = 'func' | 'object' | 'notype' | 'section' | 'file';
export type SymbolBinding = 'local' | 'global' | 'weak';

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  kind: SymbolKind;
  binding: SymbolBinding;
  /** st_shndx (SHN_UNDEF, SHN_ABS, SHN_COMMON, or a section index; SHN_XINDEX resolved). */
  sectionIndex: number;
}

export interface ReadSymbolsOptions {
  /** Also return nameless symbols and section/file symbols (dropped by default). */
  all?: boolean;
}

const hex = (n: number | bigint): string => '0x' + n.toString(16);

// STT_COMMON and STT_TLS are data, STT_GNU_IFUNC is code; processor-specific types are skipped.
function kindOf(type: number): SymbolKind | undefined {
  switch (type) {
    case 0: return 'notype';
    case 1: case 5: case 6: return 'object';
    case 2: case 10: return 'func';
    case 3: return 'section';
    case 4: return 'file';
    default: return undefined;
  }
}

// STB_GNU_UNIQUE behaves as global.
function bindingOf(bind: number): SymbolBinding | undefined {
  return bind === 0 ? 'local' : bind === 1 || bind === 10 ? 'global' : bind === 2 ? 'weak' : undefined;
}

/** The symbols of `.symtab` (empty when the ELF is stripped). */
export function readSymbols(bytes: Uint8Array, path: string, options: ReadSymbolsOptions = {}, sections?: readonly ElfSection[]): ElfSymbol[] {
  const h = readElfHeader(bytes, path);
  const secs = sections ?? readSections(bytes, path, h);
  const symtab = secs.find((s) => s.type === SHT_SYMTAB);
  if (symtab === undefined) return [];
  const is64 = h.elfClass === 64;
  const entSize = is64 ? 24 : 16;
  if (symtab.entsize !== 0 && symtab.entsize !== entSize)
    throw new ImageError(`${path}: malformed ELF: .symtab entries are ${symtab.entsize} bytes, ELF${h.elfClass} needs ${entSize}`);
  if (symtab.size % entSize !== 0)
    throw new ImageError(`${path}: malformed ELF: .symtab is ${symtab.size} bytes, not a whole number of ${entSize}-byte entries`);
  const strtab = secs[symtab.link];
  if (strtab === undefined) throw new ImageError(`${path}: malformed ELF: .symtab links to string table section ${symtab.link}, which does not exist`);
  const shndx = secs.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  const dv = dataView(bytes);
  const out: ElfSymbol[] = [];
  for (let i = 0; i < symtab.size / entSize; i++) {
    const at = symtab.offset + i * entSize;
    const nameOff = dv.getUint32(at, h.littleEndian);
    const info = is64 ? bytes[at + 4] : bytes[at + 12];
    let sectionIndex = dv.getUint16(is64 ? at + 6 : at + 14, h.littleEndian);
    // Symbol values may be any 64-bit constant (ABS symbols): precision beyond 2^53 is not needed here.
    const value = is64 ? Number(dv.getBigUint64(at + 8, h.littleEndian)) : dv.getUint32(at + 4, h.littleEndian);
    const size = is64 ? Number(dv.getBigUint64(at + 16, h.littleEndian)) : dv.getUint32(at + 8, h.littleEndian);
    const kind = kindOf(info & 0xf);
    const binding = bindingOf(info >> 4);
    if (kind === undefined || binding === undefined) continue;
    if (sectionIndex === SHN_XINDEX && shndx !== undefined && shndx.offset + 4 * i + 4 <= shndx.offset + shndx.size)
      sectionIndex = dv.getUint32(shndx.offset + 4 * i, h.littleEndian);
    let name = '';
    if (nameOff !== 0) {
      const found = cString(bytes, strtab.offset + nameOff, strtab.offset + strtab.size);
      if (found === undefined)
        throw new ImageError(`${path}: malformed ELF: symbol ${i}'s name (offset ${hex(nameOff)}) is outside its string table`);
      name = found;
    }
    if (!options.all && (name === '' || kind === 'section' || kind === 'file')) continue;
    out.push({ name, value, size, kind, binding, sectionIndex });
  }
  return out;
}
