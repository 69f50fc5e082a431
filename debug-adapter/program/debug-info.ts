// The debugger's view of a guest ELF: line table and symbols, at the addresses the guest runs at.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readElfHeader } from './elf-loader';
import { ImageError } from './guest-image';
import { findSection, readSections, sectionContents } from './elf-sections';
import { readSymbols } from './elf-symbols';
import { LineRow, parseDebugLine, readCompDirs } from './dwarf-lines';
import { LineMap } from './line-map';
import { isAddressSymbol, SymbolTable } from './symbol-table';

export interface DebugInfo {
  lines: LineMap;
  symbols: SymbolTable;
  elfClass: 32 | 64;
}

export interface LoadDebugInfoOptions {
  /**
   * Added to every address. Real-mode guests are linked at 0 (offsets in their code segment):
   * pass the load address (e.g. 0xF0000) to get linear addresses. Absolute symbols (constants)
   * are not moved.
   */
  bias?: number;
}

export function loadDebugInfo(elfPath: string, options: LoadDebugInfoOptions = {}): DebugInfo {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(elfPath);
  } catch (e) {
    throw new ImageError(`cannot read ${elfPath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return debugInfoFromBytes(bytes, elfPath, options);
}

/** As loadDebugInfo, for an ELF already in memory; `elfPath` names it in errors and anchors relative paths. */
export function debugInfoFromBytes(bytes: Uint8Array, elfPath: string, options: LoadDebugInfoOptions = {}): DebugInfo {
  const bias = options.bias ?? 0;
  const header = readElfHeader(bytes, elfPath);
  const sections = readSections(bytes, elfPath, header);
  const contents = (name: string): Uint8Array | undefined => {
    const s = findSection(sections, name);
    return s === undefined ? undefined : sectionContents(bytes, s, elfPath, header.elfClass);
  };

  const symbols = new SymbolTable(
    readSymbols(bytes, elfPath, {}, sections).map((s) => (isAddressSymbol(s) ? { ...s, value: s.value + bias } : s)),
  );

  let rows: LineRow[] = [];
  const debugLine = contents('.debug_line');
  if (debugLine !== undefined) {
    const strings = { debugLine, debugLineStr: contents('.debug_line_str'), debugStr: contents('.debug_str'), littleEndian: header.littleEndian };
    // Only DWARF 2–4 tables need .debug_info (for the compilation directory): read it on demand.
    let compDirs: Map<number, string> | undefined;
    const compDir = (offset: number): string | undefined => {
      if (compDirs === undefined) {
        const debugInfo = contents('.debug_info');
        const debugAbbrev = contents('.debug_abbrev');
        compDirs = debugInfo && debugAbbrev ? readCompDirs({ ...strings, debugInfo, debugAbbrev }, elfPath) : new Map();
      }
      return compDirs.get(offset);
    };
    const baseDir = path.posix.dirname(path.resolve(elfPath));
    rows = parseDebugLine(strings, { path: elfPath, compDir, baseDir });
    if (bias !== 0) rows = rows.map((r) => ({ ...r, address: r.address + bias }));
  }
  // Breakpoints get one address per function, by enclosing symbol.
  const lines = new LineMap(rows, { groupOf: (address) => symbols.at(address)?.symbol.value });
  return { lines, symbols, elfClass: header.elfClass };
}
