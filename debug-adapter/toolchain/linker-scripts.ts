// Which linker script and ld emulation each CPU mode links with (scripts are in guests/ld/).

import * as path from 'node:path';
import type { CpuMode } from './modes';
import { guestsDir } from './package-root';

/** Script file names in guests/ld/. `paged32` shares the protected-mode layout. */
export const LINKER_SCRIPT_NAMES: Readonly<Record<CpuMode, string>> = Object.freeze({
  real: 'real16.ld',
  protected: 'protected32.ld',
  paged32: 'protected32.ld',
  long: 'long64.ld',
});

export function linkerScriptDir(root?: string): string {
  return path.join(guestsDir(root), 'ld');
}

/** Absolute path of the linker script for `mode`. */
export function linkerScriptFor(mode: CpuMode, root?: string): string {
  return path.join(linkerScriptDir(root), LINKER_SCRIPT_NAMES[mode]);
}

/** The `ld -m` emulation: 16-bit code still links as ELF32 i386. */
export function ldEmulationFor(mode: CpuMode): 'elf_i386' | 'elf_x86_64' {
  return mode === 'long' ? 'elf_x86_64' : 'elf_i386';
}
