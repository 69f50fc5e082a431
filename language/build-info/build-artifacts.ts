// What the last build of a source left in build/: label addresses (ELF symbols) and, per source
// line, the addresses and bytes the line assembled to (DWARF line table + section contents).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildOutputPaths } from '../../debug-adapter/toolchain/build';
import { CPU_MODES, type CpuMode } from '../../debug-adapter/toolchain/modes';
import { ppc64OutputPaths } from '../../debug-adapter/toolchain/ppc64-build';
import { loadDebugInfo, type DebugInfo } from '../../debug-adapter/program/debug-info';
import { readElfHeader } from '../../debug-adapter/program/elf-loader';
import { readSections, sectionContents, SHF_ALLOC, SHT_PROGBITS } from '../../debug-adapter/program/elf-sections';

/** Build outputs larger than this are not read for inlay hints (a guest ELF is kilobytes). */
const MAX_ELF_BYTES = 256 * 1024 * 1024;

export interface LineCode {
  address: number;
  bytes: Uint8Array;
}

/** An x86 build's CPU mode, or a ppc64 build (`<name>.ppc64-be.elf` / `.ppc64-le.elf`). */
export type BuildKind = CpuMode | 'ppc64';

export interface Artifact {
  elf: string;
  mode: BuildKind;
  mtimeMs: number;
  debug: DebugInfo;
  /** Source file → 0-based line → code ranges. */
  lines: Map<string, Map<number, LineCode[]>>;
}

interface CacheEntry {
  mtimeMs: number;
  artifact: Artifact | undefined;
}

export class BuildArtifacts {
  private readonly cache = new Map<string, CacheEntry>();

  /**
   * The ELF of `source`'s last build (`<dir>/build/<name>.<mode>.elf`): the one for `preferred`
   * when it exists, else the newest. Undefined when there is none or it is older than the source.
   */
  forSource(source: string, preferred?: CpuMode): Artifact | undefined {
    const candidates: Array<{ elf: string; mode: BuildKind; mtimeMs: number }> = [];
    const outputs: Array<[BuildKind, string]> = [
      ...CPU_MODES.map((mode): [BuildKind, string] => [mode, buildOutputPaths(source, mode).elf]),
      ...(['big', 'little'] as const).map((endian): [BuildKind, string] => ['ppc64', ppc64OutputPaths(source, endian).elf]),
    ];
    for (const [mode, elf] of outputs) {
      try {
        const st = fs.statSync(elf);
        if (!st.isFile() || st.size > MAX_ELF_BYTES) continue; // a FIFO would block the server
        candidates.push({ elf, mode, mtimeMs: st.mtimeMs });
      } catch {
        // not built for this mode
      }
    }
    if (candidates.length === 0) return undefined;
    candidates.sort((a, b) => b.mtimeMs - a.mtimeMs);
    const pick = candidates.find((c) => c.mode === preferred) ?? candidates[0];
    return this.load(pick.elf, pick.mode, pick.mtimeMs);
  }

  private load(elf: string, mode: BuildKind, mtimeMs: number): Artifact | undefined {
    const hit = this.cache.get(elf);
    if (hit && hit.mtimeMs === mtimeMs) return hit.artifact;
    let artifact: Artifact | undefined;
    try {
      const debug = loadDebugInfo(elf);
      artifact = { elf, mode, mtimeMs, debug, lines: lineCode(elf, debug, mode === 'ppc64' ? 'ppc64' : mode === 'real' ? 16 : mode === 'long' ? 64 : 32) };
    } catch {
      artifact = undefined; // a half-written or foreign ELF: no hints rather than an error
    }
    this.cache.set(elf, { mtimeMs, artifact });
    return artifact;
  }
}

/** Length of the instruction at the start of `bytes` (GNU as gives each instruction its own row). */
function instructionLength(bytes: Uint8Array, bitness: number): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Decoder, DecoderOptions } = require('iced-x86') as typeof import('iced-x86');
  const d = new Decoder(bitness, bytes.subarray(0, 15), DecoderOptions.None);
  try {
    const ins = d.decode();
    try {
      return ins.length;
    } finally {
      ins.free();
    }
  } finally {
    d.free();
  }
}

function lineCode(elf: string, debug: DebugInfo, bitness: number | 'ppc64'): Map<string, Map<number, LineCode[]>> {
  const bytes = fs.readFileSync(elf);
  const header = readElfHeader(bytes, elf);
  const sections = readSections(bytes, elf, header)
    .filter((s) => s.type === SHT_PROGBITS && (s.flags & SHF_ALLOC) !== 0 && s.size > 0)
    .map((s) => ({ addr: s.addr, data: sectionContents(bytes, s, elf, header.elfClass) }));
  const read = (address: number, length: number): Uint8Array => {
    for (const s of sections) {
      if (address >= s.addr && address + length <= s.addr + s.data.length) return s.data.subarray(address - s.addr, address - s.addr + length);
    }
    return new Uint8Array(0);
  };
  const out = new Map<string, Map<number, LineCode[]>>();
  const starts = debug.lines.boundaries();
  for (let i = 0; i < starts.length; i++) {
    const address = starts[i];
    const loc = debug.lines.locate(address);
    const range = debug.lines.lineRange(address);
    if (loc === undefined || range === undefined || range.start !== address) continue;
    // The row range runs to the next row, which may be far away (`. = 0xfff0`, alignment):
    // end at the last instruction of the line instead.
    let last = address;
    while (i + 1 < starts.length && starts[i + 1] < range.end) last = starts[++i];
    let end = range.end;
    const tail = read(last, Math.min(15, range.end - last));
    if (tail.length > 0) {
      try {
        // Every POWER instruction is one 4-byte word.
        end = Math.min(range.end, last + (bitness === 'ppc64' ? 4 : instructionLength(tail, bitness)));
      } catch {
        // keep the row range
      }
    }
    const file = path.resolve(loc.file);
    let byLine = out.get(file);
    if (byLine === undefined) out.set(file, (byLine = new Map()));
    let list = byLine.get(loc.line - 1);
    if (list === undefined) byLine.set(loc.line - 1, (list = []));
    list.push({ address, bytes: read(address, Math.min(end - address, 64)) });
  }
  return out;
}

export function hex(n: number, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}
