// Which architecture an editor file is for, as the build would decide it (toolchain/arch.ts: a
// `kvm-guest: arch=ppc64` comment, -mpower8, POWER-only instructions), cached per text so that
// hover and completion on a large x86 file pay for the scan once per edit.
import { Arch, detectArchFromSource, Endian } from '../../debug-adapter/toolchain/arch';

export interface FileArch {
  arch: Arch;
  endian: Endian;
}

const X86: FileArch = { arch: 'x86', endian: 'little' };

export class FileArchCache {
  private readonly cache = new Map<string, { text: string; arch: FileArch }>();

  of(file: string, text: string | undefined): FileArch {
    if (text === undefined || !file.endsWith('.s')) return X86; // ppc64 builds take plain .s only
    const hit = this.cache.get(file);
    if (hit && hit.text === text) return hit.arch;
    const found = detectArchFromSource(text);
    const arch: FileArch = found?.arch === 'ppc64' ? { arch: 'ppc64', endian: found.endian ?? 'big' } : X86;
    this.cache.set(file, { text, arch });
    return arch;
  }

  forget(file: string): void {
    this.cache.delete(file);
  }
}
