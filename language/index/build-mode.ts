// The bitness a line is assembled in, and why, for every feature that depends on it (hover,
// completion, signature help, our mode checks): the `.code` directive in force, else the bitness
// the live diagnostics and the build assemble the file with (its mode: WorkspaceIndex.parseText
// decides it, ending with ASSUMED_MODE), so a hover never describes other code than as makes.
import { asmBitnessFlag, asmStartBits, sourceKindOf } from '../../debug-adapter/toolchain/build';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';
import type { Bits, ParsedFile } from '../parser/types';
import { bitsOfMode } from './file-kinds';

/**
 * The mode of an assembly source nothing describes (no compile_commands.json entry, marker,
 * `.code` directive, setting or 64-bit clue): its diagnostics then run `gcc -m32` / `as --32`,
 * so it is 32-bit code.
 */
export const ASSUMED_MODE: CpuMode = 'protected';

/**
 * The bitness of a statement whose parse says `lineBits`: the `.code` in force, else what the
 * file's compile step starts in (asmStartBits: a real-mode source is 32-bit code until its
 * `.code16`); a header, assembled inside its includer's code, in its mode's bitness.
 */
export function effectiveBits(parsed: ParsedFile, lineBits: Bits | undefined): Bits | undefined {
  const mode = parsed.detectedMode;
  if (lineBits !== undefined || mode === undefined) return lineBits;
  return asmKind(parsed) !== undefined ? asmStartBits(mode) : bitsOfMode(mode);
}

/** Why line `line` of `parsed` is `bits`-bit, in markdown for the hover ("This line is 32-bit (…)"). */
export function bitsReason(parsed: ParsedFile, line: number, bits: Bits): string {
  const directive = codeDirectiveBefore(parsed, line);
  return directive !== undefined ? `\`${directive}\`` : fileModeReason(parsed, bits);
}

/** Why a line no `.code` directive precedes is `bits`-bit: where the file's build mode comes from. */
export function fileModeReason(parsed: ParsedFile, bits: Bits): string {
  const mode = parsed.detectedMode;
  const modeBits = bitsOfMode(mode) ?? bits;
  const kind = asmKind(parsed);
  const flag = mode !== undefined && kind !== undefined ? `\`${kind === 'asm' ? 'as' : 'gcc'} ${asmBitnessFlag(kind, mode)}\`` : undefined;
  let why: string;
  switch (parsed.modeSource) {
    case 'compile_commands':
      return `its compile_commands.json entry builds it ${bits}-bit`;
    case 'includer':
      return `the compile_commands.json entry of the file including it builds it ${bits}-bit`;
    case 'marker':
      return `its \`kvm-guest: mode=${mode}\` marker`;
    case 'own-build':
      why = `our build's mode for this guest, from its first \`.code${modeBits}\``;
      break;
    case 'setting':
      why = `the \`defaultMode\` setting (or the bitness in \`extraFlags\`): ${mode} mode`;
      break;
    case 'heuristic':
      why = modeBits === 64
        ? 'no compile_commands.json entry: a `.code64` anywhere, a 64-bit register or a `.quad` of a symbol make it a 64-bit object'
        : `no compile_commands.json entry: guessed from its \`.code${modeBits}\``;
      break;
    case 'default':
      return `assembled as ${bits}-bit${flag ? `, ${flag}` : ''}: no \`.code\` directive and no compile_commands.json entry`;
    default:
      return `\`.code${bits}\``;
  }
  // A real-mode source: the compile step's 32-bit start holds until its .code16.
  if (modeBits !== bits && flag) why += `; ${flag} assembles what precedes a \`.code${modeBits}\` as ${bits}-bit code`;
  return why;
}

/** The compile-step kind of an assembly source assembled on its own (not a header), if any. */
function asmKind(parsed: ParsedFile): 'asm' | 'asm-cpp' | undefined {
  const kind = parsed.kind === 'c' ? undefined : sourceKindOf(parsed.path);
  return kind === 'asm' || kind === 'asm-cpp' ? kind : undefined;
}

/** The last `.code16/32/64` statement at or before `line` (what set the parse's bits there). */
function codeDirectiveBefore(parsed: ParsedFile, line: number): string | undefined {
  let l = Math.min(line, parsed.lineCount - 1);
  while (l >= 0 && !(parsed.lineStatement[l] >= 0)) l--;
  if (l < 0) return undefined;
  let i = parsed.lineStatement[l];
  while (i + 1 < parsed.statements.length && parsed.statements[i + 1].line === l) i++;
  for (; i >= 0; i--) {
    const s = parsed.statements[i];
    const head = s.kind === 'directive' ? s.head?.text.toLowerCase() : undefined;
    if (head !== undefined && isCodeDirective(head)) return head;
  }
  return undefined;
}

export function isCodeDirective(name: string): boolean {
  return /^\.code(?:16gcc|16|32|64)$/i.test(name);
}
