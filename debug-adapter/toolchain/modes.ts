// CPU modes a guest can be built for and started in, and how to tell a source's mode from its text.

export type CpuMode = 'real' | 'protected' | 'paged32' | 'long';

export const CPU_MODES: readonly CpuMode[] = Object.freeze(['real', 'protected', 'paged32', 'long'] as const);

export function isCpuMode(value: unknown): value is CpuMode {
  return typeof value === 'string' && (CPU_MODES as readonly string[]).includes(value);
}

/** Parses a user-given mode name (case-insensitive); throws listing the valid names. */
export function parseCpuMode(text: string): CpuMode {
  const mode = text.trim().toLowerCase();
  if (isCpuMode(mode)) return mode;
  throw new Error(`unknown CPU mode "${text}": expected one of ${CPU_MODES.join(', ')}`);
}

export function modeBitness(mode: CpuMode): 16 | 32 | 64 {
  switch (mode) {
    case 'real':
      return 16;
    case 'protected':
    case 'paged32':
      return 32;
    case 'long':
      return 64;
  }
}

export interface ModeDetection {
  mode: CpuMode;
  /** 1-based line of the marker or directive that decided. */
  line: number;
  /** `marker`: a `kvm-guest: mode=<mode>` comment; `directive`: the first `.code16/32/64`. */
  via: 'marker' | 'directive';
  /** The matched text, e.g. `.code16` or `kvm-guest: mode=long`. */
  text: string;
}

const MARKER = /kvm-guest:\s*mode\s*=\s*([A-Za-z0-9]+)/g;
// `.code16gcc` is gcc's flavour of 16-bit code: still a real-mode source.
const DIRECTIVE = /(^|[\s;:"'(])\.code(16gcc|16|32|64)(?![\w$.])/gm;

/**
 * The mode a source asks for: an explicit `kvm-guest: mode=<mode>` marker anywhere in the file
 * wins (the way to say it in C); otherwise the first `.code16` (real), `.code32` (protected) or
 * `.code64` (long) outside comments. `fileName` picks the comment rules: for `.c`/`.h` files,
 * directives inside string literals count (that is how `asm(".code16gcc")` sets the mode); for
 * assembly, `#` also starts a comment and strings are data. Undefined when nothing says.
 */
export function detectModeDetails(text: string, fileName?: string): ModeDetection | undefined {
  for (const m of text.matchAll(MARKER)) {
    const mode = m[1].toLowerCase();
    if (isCpuMode(mode)) {
      return { mode, line: lineOf(text, m.index ?? 0), via: 'marker', text: m[0] };
    }
  }
  const isC = fileName !== undefined && /\.(c|h)$/i.test(fileName);
  const code = blankComments(text, isC ? 'c' : 'asm');
  DIRECTIVE.lastIndex = 0;
  const m = DIRECTIVE.exec(code);
  if (!m) return undefined;
  const at = (m.index ?? 0) + m[1].length;
  const bits = m[2];
  const mode: CpuMode = bits === '64' ? 'long' : bits === '32' ? 'protected' : 'real';
  return { mode, line: lineOf(text, at), via: 'directive', text: `.code${bits}` };
}

export function detectModeFromSource(text: string, fileName?: string): CpuMode | undefined {
  return detectModeDetails(text, fileName)?.mode;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Replaces comments (and, for assembly, string contents) by spaces, keeping every newline so
 * offsets still map to the same lines.
 */
function blankComments(text: string, lang: 'c' | 'asm'): string {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) out.push(text[k] === '\n' ? '\n' : ' ');
  };
  while (i < n) {
    const c = text[i];
    const next = i + 1 < n ? text[i + 1] : '';
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if ((c === '/' && next === '/') || (c === '#' && lang === 'asm')) {
      let stop = text.indexOf('\n', i);
      if (stop < 0) stop = n;
      blank(i, stop);
      i = stop;
    } else if (c === '"') {
      let stop = i + 1;
      while (stop < n && text[stop] !== '"' && text[stop] !== '\n') stop += text[stop] === '\\' ? 2 : 1;
      stop = Math.min(stop + 1, n);
      if (lang === 'c') out.push(text.slice(i, stop));
      else blank(i, stop);
      i = stop;
    } else if (c === "'") {
      // C: a character literal up to its closing quote; gas: `'c` is one character constant.
      let stop: number;
      if (lang === 'c') {
        stop = i + 1;
        while (stop < n && text[stop] !== "'" && text[stop] !== '\n') stop += text[stop] === '\\' ? 2 : 1;
        stop = Math.min(stop + 1, n);
      } else {
        stop = Math.min(i + (next === '\\' ? 3 : 2), n);
        if (stop < n && text[stop] === "'") stop++;
      }
      blank(i, stop);
      i = stop;
    } else {
      out.push(c);
      i++;
    }
  }
  return out.join('');
}
