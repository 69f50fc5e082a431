// From "a file and some options" to a ppc64 machine description, as guest-setup.ts does for x86:
// which architecture and byte order (options, else the file), the build, the image, the entry (the
// ELF's, which the seed's linker script makes 0x100, the System Reset vector) and where the program
// ends (the end of .text: the seed's guest has no halt and runs into whatever follows).
import fs from 'node:fs';
import path from 'node:path';
import { Arch, archOfElf, detectArchFromSource, detectEndianFromSource, Endian, isArch, isEndian, ARCHES, ENDIANS } from '../toolchain/arch';
import { buildPpc64Guest, Ppc64BuildResult } from '../toolchain/ppc64-build';
import { inputFileProblem, MAX_IMAGE_BYTES, MAX_SOURCE_BYTES } from '../toolchain/input-files';
import { isElf, loadElf, readElfHeader } from '../program/elf-loader';
import { findSection, readSections } from '../program/elf-sections';
import type { GuestImage } from '../program/guest-image';
import { ImageError } from '../program/guest-image';
import { BuildFailure, SOURCE_EXTENSIONS, UsageError } from '../guest-setup';
import * as L from '../vmm/guest-layout';
import { OUTPUT_PORT, PPC64_DEFAULT_MEMORY, PPC64_RESET_VECTOR } from '../vmm/ppc64/ppc64-layout';

export interface ArchChoice {
  arch: Arch;
  /** For ppc64: the byte order when the file or the options say it. */
  endian?: Endian;
  /** How it was chosen, for messages. */
  via: string;
}

export function parseArch(v: unknown): Arch | undefined {
  if (v === undefined) return undefined;
  if (isArch(v)) return v;
  throw new UsageError(`unknown architecture '${String(v)}': choose one of ${ARCHES.join(', ')}`);
}

export function parseEndian(v: unknown): Endian | undefined {
  if (v === undefined) return undefined;
  if (isEndian(v)) return v;
  throw new UsageError(`unknown byte order '${String(v)}': choose one of ${ENDIANS.join(', ')}`);
}

/**
 * The guest's architecture: `requested` (--arch), else the ELF's machine, else the source's marker
 * or instructions, else x86 (every guest before ppc64 was x86; x86 mode detection then explains
 * what it needs). Never throws for unreadable files: the x86 path reports those.
 */
export function chooseArch(file: string, requested?: Arch): ArchChoice {
  let bytes: Uint8Array | undefined;
  const source = SOURCE_EXTENSIONS.includes(path.extname(file));
  try {
    if (fs.statSync(file).isFile() && inputFileProblem(file, 'a guest', source ? MAX_SOURCE_BYTES : MAX_IMAGE_BYTES) === undefined)
      bytes = new Uint8Array(fs.readFileSync(file));
  } catch {
    bytes = undefined;
  }
  if (bytes && !source && isElf(bytes)) {
    const fromElf = archOfElf(bytes);
    if (requested) return { arch: requested, endian: fromElf?.arch === 'ppc64' ? fromElf.endian : undefined, via: '--arch' };
    if (fromElf) return { ...fromElf, via: `the ELF's machine (${fromElf.arch === 'ppc64' ? `PowerPC 64, ${fromElf.endian}-endian` : 'x86'})` };
  }
  const text = bytes && source ? Buffer.from(bytes).toString('utf8') : undefined;
  if (requested) return { arch: requested, endian: text !== undefined ? detectEndianFromSource(text) : undefined, via: '--arch' };
  if (text !== undefined) {
    const found = detectArchFromSource(text, path.extname(file) === '.s');
    if (found) return found;
  }
  return { arch: 'x86', via: 'the default (x86)' };
}

export interface Ppc64GuestRequest {
  file: string;
  endian?: Endian;
  memory?: string | number;
  build?: boolean;
  signal?: AbortSignal;
  /** From chooseArch. */
  arch: ArchChoice;
}

export interface PreparedPpc64Guest {
  endian: Endian;
  endianSource: string;
  archSource: string;
  elfPath: string;
  image: GuestImage;
  memorySize: number;
  entry: bigint;
  programEnd: bigint;
  build?: Extract<Ppc64BuildResult, { ok: true }>;
}

/** Builds (when needed) and loads a ppc64 guest; throws UsageError, BuildFailure or ImageError. */
export async function preparePpc64Guest(req: Ppc64GuestRequest): Promise<PreparedPpc64Guest> {
  const file = path.resolve(req.file);
  if (!fs.existsSync(file)) throw new UsageError(`${req.file}: no such file`);
  let memorySize: number;
  try {
    memorySize = L.parseMemorySize(req.memory ?? PPC64_DEFAULT_MEMORY);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (memorySize > OUTPUT_PORT) throw new UsageError(`a ppc64 guest has at most ${OUTPUT_PORT >> 20} MiB of memory (its output port is at ${L.hex(OUTPUT_PORT)})`);
  const source = SOURCE_EXTENSIONS.includes(path.extname(file));
  let endian: Endian, endianSource: string;
  if (req.endian) [endian, endianSource] = [req.endian, '--endian'];
  else if (req.arch.endian) [endian, endianSource] = [req.arch.endian, source ? "the source's -mlittle/-mbig or kvm-guest: endian= comment" : "the ELF's byte order (EI_DATA)"];
  else [endian, endianSource] = ['big', 'the default (big-endian, as the seed first builds it)'];

  let elfPath: string;
  let build: PreparedPpc64Guest['build'];
  if (source) {
    if (req.build === false) throw new UsageError(`${req.file} is a source file and building is off: build it or give the ELF`);
    const problem = inputFileProblem(file, 'a guest source', MAX_SOURCE_BYTES, req.file);
    if (problem !== undefined) throw new UsageError(problem);
    const r = await buildPpc64Guest({ source: file, endian, signal: req.signal });
    if (!r.ok) throw new BuildFailure(r.message, r.diagnostics);
    build = r;
    elfPath = r.elf;
  } else {
    const problem = inputFileProblem(file, 'a guest image (ELF)', MAX_IMAGE_BYTES, req.file);
    if (problem !== undefined) throw new UsageError(problem);
    elfPath = file;
  }
  const bytes = new Uint8Array(fs.readFileSync(elfPath));
  if (!isElf(bytes)) throw new UsageError(`${req.file}: a ppc64 guest is a .s source or an ELF (a flat binary carries no byte order or program end)`);
  const header = readElfHeader(bytes, elfPath);
  const fileEndian: Endian = header.littleEndian ? 'little' : 'big';
  if (fileEndian !== endian)
    throw new UsageError(`${req.file} is a ${fileEndian}-endian ELF but ${endian}-endian was asked for (${endianSource}); the byte order of a built program cannot change`);
  const image = loadElf(bytes, elfPath);
  for (const seg of image.segments)
    if (seg.address + seg.memSize > memorySize)
      throw new ImageError(`${elfPath}: segment ${L.hex(seg.address)}–${L.hex(seg.address + seg.memSize - 1)} lies beyond guest memory (0x0–${L.hex(memorySize - 1)}); give more memory with --memory`);
  const entry = image.entry !== undefined && image.entry !== 0 ? BigInt(image.entry) : PPC64_RESET_VECTOR;
  const text = findSection(readSections(bytes, elfPath, header), '.text');
  let programEnd: bigint;
  if (text && text.size > 0) programEnd = BigInt(text.addr + text.size);
  else {
    const seg = image.segments.find((s) => BigInt(s.address) <= entry && entry < BigInt(s.address + s.memSize)) ?? image.segments[0];
    programEnd = BigInt(seg.address + seg.data.length);
  }
  return { endian, endianSource, archSource: req.arch.via, elfPath, image, memorySize, entry, programEnd, build };
}
