// From "a file and some options" to a machine description: build sources, read ELF or flat images,
// choose the CPU mode, load address and entry point. Shared by the CLI and the debug session.
import fs from 'node:fs';
import path from 'node:path';
import { buildGuest, BuildResult } from './toolchain/build';
import { inputFileProblem, MAX_IMAGE_BYTES, MAX_SOURCE_BYTES } from './toolchain/input-files';
import { CPU_MODES, CpuMode, detectModeFromSource, isCpuMode } from './toolchain/modes';
import type { BuildDiagnostic } from './toolchain/diagnostics';
import { isElf, loadElf, loadFlat } from './program/elf-loader';
import { GuestImage, ImageError } from './program/guest-image';
import { defaultEntry, describeEntry, EntryPoint, parseAddress, parseEntry } from './vmm/cpu-modes';
import * as L from './vmm/guest-layout';
import { checkImagePlacement, MachineOptions } from './vmm/machine';
import { OutputDevice, VIRTIO_DEVICE_KINDS, VirtioDeviceKind } from './vmm/vcpu-protocol';
import { IRQCHIP_CHOICES, IrqchipChoice } from './vmm/accelerator';
import { findMultibootHeader, MultibootHeader } from './program/multiboot-header';
import { loadMultibootImage, MultibootFormat } from './program/multiboot-loader';
import { MultibootBoot, planMultiboot } from './vmm/multiboot-info';
import { BootDescription, bootSummary, describeBoot, kernelCommandLine, readModules } from './multiboot-request';

export const SOURCE_EXTENSIONS = ['.S', '.s', '.c'];

export interface GuestRequest {
  file: string;
  mode?: string;
  memory?: string | number;
  loadAddress?: string | number;
  entry?: string;
  outputDevices?: OutputDevice[];
  /** virtio devices (`--device`, the `devices` launch attribute); default: the source's `kvm-guest: devices=` comment. */
  devices?: string[];
  /** Build sources (default true). */
  build?: boolean;
  /** Multiboot kernels: the command line after the kernel's name (`--cmdline`, launch attribute `cmdline`). */
  cmdline?: string;
  /** Multiboot kernels: `FILE` or `FILE=STRING` each (`--module`, launch attribute `modules`). */
  modules?: string[];
  /** What relative module paths are resolved against (default: the process's working directory). */
  cwd?: string;
  signal?: AbortSignal;
}

export interface PreparedGuest {
  machine: MachineOptions;
  mode: CpuMode;
  /** The ELF with debug information, when there is one. */
  elfPath?: string;
  /** For real mode: the load address that maps ELF offsets to linear addresses. */
  loadAddress?: number;
  build?: Extract<BuildResult, { ok: true }>;
  /** How the mode was chosen, for messages. */
  modeSource: string;
  /** A Multiboot kernel: how it was loaded. */
  boot?: BootDescription;
}

/** A problem with what the user asked for (exit status 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The guest did not build (exit status 2); diagnostics carry file:line. */
export class BuildFailure extends Error {
  constructor(message: string, readonly diagnostics: BuildDiagnostic[]) {
    super(message);
    this.name = 'BuildFailure';
  }
}

/** `--irqchip` / the `irqchip` launch attribute. */
export function parseIrqchip(v: unknown): IrqchipChoice {
  if (v === undefined) return 'auto';
  if ((IRQCHIP_CHOICES as readonly unknown[]).includes(v)) return v as IrqchipChoice;
  throw new UsageError(`unknown irqchip '${String(v)}': choose one of ${IRQCHIP_CHOICES.join(', ')}`);
}

/** Checks device names; says which exist when one does not. */
export function parseDevices(names: readonly string[]): VirtioDeviceKind[] {
  const out: VirtioDeviceKind[] = [];
  for (const n of names.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    if (!(VIRTIO_DEVICE_KINDS as readonly string[]).includes(n))
      throw new UsageError(`unknown device '${n}': choose from ${VIRTIO_DEVICE_KINDS.join(', ')} (repeat --device for several)`);
    out.push(n as VirtioDeviceKind);
  }
  if (out.length > L.VIRTIO_MAX_DEVICES) throw new UsageError(`at most ${L.VIRTIO_MAX_DEVICES} virtio devices fit the machine (${out.length} given)`);
  return out;
}

const DEVICES_MARKER = /kvm-guest:\s*devices\s*=\s*([A-Za-z0-9_,\s-]+?)\s*(?:\*\/|$)/m;

/** The devices a source asks for with a `kvm-guest: devices=virtio-rng,virtio-console` comment. */
export function devicesFromSource(text: string): string[] | undefined {
  const m = DEVICES_MARKER.exec(text);
  return m ? m[1].split(/[\s,]+/).filter(Boolean) : undefined;
}

export function parseMode(text: string): CpuMode {
  if (isCpuMode(text)) return text;
  throw new UsageError(`unknown mode '${text}': choose one of ${CPU_MODES.join(', ')}`);
}

function isSource(file: string): boolean {
  return SOURCE_EXTENSIONS.includes(path.extname(file));
}

function chooseMode(req: GuestRequest, file: string, bytes: Uint8Array | undefined): { mode: CpuMode; source: string } {
  if (req.mode !== undefined) return { mode: parseMode(req.mode), source: '--mode' };
  if (bytes === undefined) {
    const detected = detectModeFromSource(fs.readFileSync(file, 'utf8'), file);
    if (detected) return { mode: detected, source: `the source's ${detected === 'real' ? '.code16' : detected === 'long' ? '.code64' : '.code32'} directive` };
    throw new UsageError(
      `cannot tell which CPU mode ${path.basename(file)} is for: it has no .code16/.code32/.code64 directive. ` +
        `Pass --mode ${CPU_MODES.join('|')}, or add a comment "kvm-guest: mode=long" to the source.`,
    );
  }
  if (isElf(bytes)) {
    if (bytes.length >= 5 && bytes[4] === 2) return { mode: 'long', source: 'the ELF class (ELF64)' };
    if (bytes.length >= 5 && bytes[4] === 1) return { mode: 'protected', source: 'the ELF class (ELF32)' };
  }
  throw new UsageError(
    `cannot tell which CPU mode ${path.basename(file)} is for: a flat binary carries no mode. Pass --mode ${CPU_MODES.join('|')}.`,
  );
}

function parseNumberOption(v: string | number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  try {
    return parseAddress(v, what);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Builds (when needed) and loads `req.file`; throws UsageError, BuildFailure or ImageError. */
export async function prepareGuest(req: GuestRequest): Promise<PreparedGuest> {
  const file = path.resolve(req.file);
  if (!fs.existsSync(file)) throw new UsageError(`${req.file}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new UsageError(`${req.file} is a directory; give a guest source (.S, .s, .c), an ELF or a flat binary`);
  // Before anything reads it: a FIFO would block this process, /dev/zero or a huge file exhaust it.
  {
    const problem = isSource(file)
      ? inputFileProblem(file, 'a guest source', MAX_SOURCE_BYTES, req.file)
      : inputFileProblem(file, 'a guest image (ELF or flat binary)', MAX_IMAGE_BYTES, req.file);
    if (problem !== undefined) throw new UsageError(problem);
  }

  let memorySize: number;
  try {
    memorySize = L.parseMemorySize(req.memory ?? L.DEFAULT_MEMORY);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  const source = isSource(file);
  const fileBytes = source ? undefined : new Uint8Array(fs.readFileSync(file));
  // A kernel with a Multiboot header starts as a Multiboot loader starts it: 32-bit protected mode.
  let multiboot: MultibootHeader | undefined = fileBytes && (req.mode === undefined || req.mode === 'protected') ? findMultibootHeader(fileBytes, req.file) : undefined;
  const { mode, source: modeSource } = multiboot ? { mode: 'protected' as CpuMode, source: `its Multiboot${multiboot.version === 2 ? '2' : ''} header` } : chooseMode(req, file, fileBytes);
  let multibootFormat: MultibootFormat | undefined;
  let loadAddress = parseNumberOption(req.loadAddress, 'load address');

  let image: GuestImage;
  let elfPath: string | undefined;
  let built: Extract<BuildResult, { ok: true }> | undefined;
  if (source) {
    if (req.build === false) throw new UsageError(`${req.file} is a source file and building is off: build it or give the ELF`);
    const result = await buildGuest({ source: file, mode, signal: req.signal });
    if (!result.ok) throw new BuildFailure(result.message, result.diagnostics);
    built = result;
    elfPath = result.elf;
    if (mode === 'real') {
      if (!result.flat) throw new BuildFailure(`the real-mode build of ${req.file} produced no flat image`, result.diagnostics);
      loadAddress ??= L.RESET_LOAD_ADDRESS;
      image = loadFlat(new Uint8Array(fs.readFileSync(result.flat)), result.flat, loadAddress);
    } else {
      if (loadAddress !== undefined) throw new UsageError('--load-address applies to flat binaries and real mode; an ELF is placed at its segments\' physical addresses');
      const elfBytes = new Uint8Array(fs.readFileSync(result.elf));
      multiboot = mode === 'protected' ? findMultibootHeader(elfBytes, result.elf) : undefined;
      if (multiboot) ({ image, format: multibootFormat } = loadMultibootImage(elfBytes, result.elf, multiboot));
      else image = loadElf(elfBytes, result.elf);
    }
  } else if (multiboot) {
    if (loadAddress !== undefined) throw new UsageError(`--load-address does not apply to a Multiboot kernel: ${req.file} is placed where its header or ELF program headers say`);
    elfPath = isElf(fileBytes!) ? file : undefined;
    ({ image, format: multibootFormat } = loadMultibootImage(fileBytes!, req.file, multiboot));
  } else if (isElf(fileBytes!)) {
    elfPath = file;
    const elf = loadElf(fileBytes!, file);
    if (mode === 'real') {
      // Real-mode ELFs are linked at offsets inside their code segment: place them at the load address.
      loadAddress ??= L.RESET_LOAD_ADDRESS;
      const base = loadAddress;
      image = { ...elf, segments: elf.segments.map((s) => ({ ...s, address: s.address + base })) };
    } else {
      if (loadAddress !== undefined) throw new UsageError('--load-address applies to flat binaries and real mode; an ELF is placed at its segments\' physical addresses');
      image = elf;
    }
    if (elf.kind === 'elf64' && (mode === 'protected' || mode === 'paged32' || mode === 'real'))
      throw new UsageError(`${req.file} is a 64-bit ELF; it cannot start in ${mode} mode. Use --mode long.`);
  } else {
    loadAddress ??= mode === 'real' ? L.RESET_LOAD_ADDRESS : 0x100000;
    image = loadFlat(fileBytes!, file, loadAddress);
  }

  if (mode === 'real') {
    const size = image.segments.reduce((n, s) => Math.max(n, s.address + s.memSize), 0) - loadAddress!;
    if (size > 0x10000)
      throw new ImageError(`${req.file}: the real-mode image is ${size} bytes; it must fit in one 64 KiB segment at ${L.hex(loadAddress!)}`);
  }

  checkImagePlacement(image, memorySize);
  let entry: EntryPoint;
  try {
    entry = req.entry !== undefined ? parseEntry(req.entry, mode) : defaultEntry(mode, loadAddress ?? 0, image.entry);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (entry.kind === 'linear' && (entry.address >= memorySize))
    throw new UsageError(`entry point ${describeEntry(entry)} is outside guest memory (0x0–${L.hex(memorySize - 1)})`);

  let multibootSetup: MachineOptions['multiboot'];
  let boot: BootDescription | undefined;
  if (multiboot) {
    let modules;
    try {
      modules = readModules(req.modules ?? [], req.cwd ?? process.cwd());
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const mb: MultibootBoot = { version: multiboot.version, cmdline: kernelCommandLine(req.file, req.cmdline), modules };
    const plan = planMultiboot(memorySize, image, mb);
    boot = describeBoot(multiboot, multibootFormat!, entry.kind === 'linear' ? entry.address : 0, plan, mb);
    multibootSetup = { plan, boot: mb, summary: bootSummary(boot) };
  } else if (req.cmdline !== undefined || (req.modules?.length ?? 0) > 0) {
    throw new UsageError(`--cmdline and --module are for Multiboot kernels; ${req.file} has no Multiboot header${req.mode !== undefined && req.mode !== 'protected' ? ` (or is run with --mode ${req.mode}: Multiboot kernels start in protected mode)` : ''}`);
  }

  const devices = parseDevices(req.devices ?? (source ? devicesFromSource(fs.readFileSync(file, 'utf8')) ?? [] : []));
  if (devices.length > 0 && mode === 'real')
    throw new UsageError(`virtio devices need a protected, paged32 or long-mode guest (they are found through start_info at EBX/RBX); ${req.file} starts in real mode`);

  return {
    machine: { memorySize, mode, image, entry, outputDevices: req.outputDevices, devices, multiboot: multibootSetup },
    mode,
    elfPath,
    loadAddress,
    build: built,
    modeSource,
    boot,
  };
}
