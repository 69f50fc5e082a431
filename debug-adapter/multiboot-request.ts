// What a user asks of a Multiboot boot (`--cmdline`, `--module FILE[=STRING]`, the launch attributes
// `cmdline` and `modules`) turned into what the loader places, and how a boot is described to the
// user (`kvm-guest run --json`'s `boot`, the Debug Console).
import fs from 'node:fs';
import path from 'node:path';
import { inputFileProblem, MAX_IMAGE_BYTES } from './toolchain/input-files';
import type { MultibootHeader } from './program/multiboot-header';
import type { MultibootFormat } from './program/multiboot-loader';
import type { MultibootBoot, MultibootModuleFile, MultibootPlan } from './vmm/multiboot-info';
import * as L from './vmm/guest-layout';

/** How the kernel was loaded: `kvm-guest run --json`'s `boot`. */
export interface BootDescription {
  protocol: 'multiboot' | 'multiboot2';
  /** "elf": by its ELF program headers; "aout-kludge": by the header's address fields. */
  format: MultibootFormat;
  headerOffset: string;
  entry: string;
  /** EBX at entry. */
  infoAddress: string;
  cmdline: string;
  loaderName: string;
  memLowerKiB: number;
  memUpperKiB: number;
  mmap: { base: string; length: string; type: number }[];
  modules: { path: string; string: string; start: string; end: string }[];
}

/**
 * Reads the modules (`FILE` or `FILE=STRING`; relative to `cwd`). The string defaults to FILE as
 * given, as GRUB's `module` line starts with the file's path. Throws Error with a message for the user.
 */
export function readModules(specs: readonly string[], cwd: string): MultibootModuleFile[] {
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    const file = eq < 0 ? spec : spec.slice(0, eq);
    const string = eq < 0 ? file : spec.slice(eq + 1);
    if (file === '') throw new Error(`invalid module '${spec}': use FILE or FILE=STRING`);
    const full = path.resolve(cwd, file);
    const problem = inputFileProblem(full, 'a Multiboot module', MAX_IMAGE_BYTES, file);
    if (problem !== undefined) throw new Error(problem);
    return { path: file, data: new Uint8Array(fs.readFileSync(full)), string };
  });
}

/** The command line the kernel gets: its own name first, then the user's text, as GRUB and QEMU pass it. */
export function kernelCommandLine(kernel: string, cmdline: string | undefined): string {
  return cmdline ? `${kernel} ${cmdline}` : kernel;
}

export function describeBoot(header: MultibootHeader, format: MultibootFormat, entry: number, plan: MultibootPlan, boot: MultibootBoot): BootDescription {
  return {
    protocol: header.version === 1 ? 'multiboot' : 'multiboot2',
    format,
    headerOffset: L.hex(header.offset),
    entry: L.hex(entry),
    infoAddress: L.hex(plan.infoAddress),
    cmdline: boot.cmdline,
    loaderName: plan.loaderName,
    memLowerKiB: plan.memLowerKiB,
    memUpperKiB: plan.memUpperKiB,
    mmap: plan.mmap.map((r) => ({ base: L.hex(r.base), length: L.hex(r.length), type: r.type })),
    modules: plan.modules.map((m) => ({ path: m.path, string: m.string, start: L.hex(m.start), end: L.hex(m.end) })),
  };
}

/** One line for stderr and the Debug Console. */
export function bootSummary(b: BootDescription): string {
  const how = b.format === 'elf' ? 'its ELF program headers' : "its header's address fields (a.out kludge)";
  const mods = b.modules.length ? `, ${b.modules.length} module${b.modules.length === 1 ? '' : 's'} (${b.modules.map((m) => `${m.path} at ${m.start}`).join(', ')})` : '';
  return `loaded as a ${b.protocol === 'multiboot' ? 'Multiboot' : 'Multiboot2'} kernel by ${how}: entry ${b.entry}, boot information at ${b.infoAddress} (EBX), command line "${b.cmdline}"${mods}`;
}
