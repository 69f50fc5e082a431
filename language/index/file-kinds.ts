// Which parser rules a file gets, and the preprocessor names its build defines.
import * as path from 'node:path';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';
import type { Bits, DefineInfo, FileKind } from '../parser/types';

export const SOURCE_EXTENSIONS = new Set(['.S', '.s', '.sx', '.asm', '.inc', '.h', '.c', '.i']);

export function fileKindOf(file: string, text: string): FileKind {
  const ext = path.extname(file);
  if (ext === '.S' || ext === '.sx' || ext === '.h') return 'asm-cpp';
  if (ext === '.c') return 'c';
  if (ext === '.s' || ext === '.asm') return 'asm';
  // `.inc` and friends: preprocessed when they use preprocessor directives.
  return /^[ \t]*#[ \t]*(?:define|include|ifn?def|if|endif)\b/m.test(text) ? 'asm-cpp' : 'asm';
}

export function bitsOfMode(mode: CpuMode | undefined): Bits | undefined {
  return mode === undefined ? undefined : mode === 'real' ? 16 : mode === 'long' ? 64 : 32;
}

const MODE_NAMES = ['KVM_GUEST_MODE_REAL', 'KVM_GUEST_MODE_PROTECTED', 'KVM_GUEST_MODE_PAGED32', 'KVM_GUEST_MODE_LONG'];
const ARCH_NAMES = ['__x86_64__', '__x86_64', '__amd64__', '__amd64', '__LP64__', '_LP64', '__i386__', '__i386', 'i386'];

const def = (name: string, body = '1'): [string, DefineInfo] => [name, { name, body, file: '', line: 0 }];

/**
 * What gcc -E defines for the build of a guest in `mode` (as buildGuest passes them): the
 * assembler marker, the architecture and KVM_GUEST_MODE_<MODE>/KVM_GUEST_BITS. With no known
 * mode, the mode-dependent names are reported as unknown so `#if` on them stays open.
 * `exactMode`: false when only the bitness is known (`.code32` is protected or paged32).
 */
export function predefinedFor(kind: FileKind, mode: CpuMode | undefined, exactMode: boolean): {
  predefined: Map<string, DefineInfo>;
  unknown: Set<string>;
} {
  const predefined = new Map<string, DefineInfo>([def('__GNUC__', '12'), def('__linux__'), def('__ELF__')]);
  if (kind === 'asm-cpp') predefined.set('__ASSEMBLER__', { name: '__ASSEMBLER__', body: '1', file: '', line: 0 });
  const unknown = new Set<string>();
  if (mode === undefined) {
    for (const n of [...MODE_NAMES, 'KVM_GUEST_BITS', ...ARCH_NAMES]) unknown.add(n);
    return { predefined, unknown };
  }
  const bits = bitsOfMode(mode) as Bits;
  predefined.set('KVM_GUEST_BITS', { name: 'KVM_GUEST_BITS', body: String(bits), file: '', line: 0 });
  if (bits === 64) for (const n of ['__x86_64__', '__x86_64', '__amd64__', '__amd64', '__LP64__', '_LP64']) predefined.set(n, def(n)[1]);
  else for (const n of ['__i386__', '__i386', 'i386']) predefined.set(n, def(n)[1]);
  if (exactMode) predefined.set(`KVM_GUEST_MODE_${mode.toUpperCase()}`, def(`KVM_GUEST_MODE_${mode.toUpperCase()}`)[1]);
  else if (bits === 32) {
    unknown.add('KVM_GUEST_MODE_PROTECTED');
    unknown.add('KVM_GUEST_MODE_PAGED32');
  } else predefined.set(`KVM_GUEST_MODE_${mode.toUpperCase()}`, def(`KVM_GUEST_MODE_${mode.toUpperCase()}`)[1]);
  return { predefined, unknown };
}
