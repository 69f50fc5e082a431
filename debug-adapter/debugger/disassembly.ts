// Disassembly for the Disassembly view: exactly `count` instructions around a reference, with
// instructions *before* it found by decoding forward from a known instruction boundary (a symbol or
// a line-table address) that lands exactly on the reference — x86 cannot be decoded backwards.
import { Bitness, disassemble, DisassembledInstruction, instructionStarts, Syntax } from '../program/disassembler';

export interface DisassemblySource {
  bitness: Bitness;
  syntax: Syntax;
  /** Readable bytes from `address` (possibly fewer than asked). */
  read(address: bigint, length: number): Uint8Array;
  /** Known instruction starts, sorted ascending. */
  boundaries: bigint[];
}

export interface Instruction extends DisassembledInstruction {
  /** No bytes could be read here, or no decoding reached it. */
  placeholder?: boolean;
}

const MAX_INSN = 15;

function decodeFrom(src: DisassemblySource, start: bigint, count: number): Instruction[] {
  const bytes = src.read(start, count * MAX_INSN);
  const out: Instruction[] = disassemble(bytes, start, src.bitness, count, src.syntax);
  // An instruction cut short by the end of readable memory is not an instruction.
  while (out.length && out[out.length - 1].invalid && Number(out[out.length - 1].address - start) + MAX_INSN > bytes.length) out.pop();
  let next = out.length ? out[out.length - 1].address + BigInt(out[out.length - 1].bytes.length) : start;
  while (out.length < count) {
    out.push({ address: next, bytes: [], text: '(unreadable memory)', invalid: true, placeholder: true });
    next += 1n;
  }
  return out;
}

/** Instruction starts in [from, to) decoded from `from`, if the decoding lands exactly on `to`. */
function startsBetween(src: DisassemblySource, from: bigint, to: bigint): bigint[] | undefined {
  const span = Number(to - from);
  const bytes = src.read(from, span + MAX_INSN);
  if (bytes.length < span) return undefined;
  const { starts, invalidAt } = instructionStarts(bytes, from, src.bitness, to + 1n);
  if (invalidAt !== undefined && invalidAt < to) return undefined;
  if (starts[starts.length - 1] !== to && invalidAt !== to) return undefined;
  return starts.filter((a) => a < to);
}

/**
 * The `want` instruction starts just before `ref`: decode forward from the lowest known boundary in a
 * window below `ref` that lands exactly on `ref`, widening the window until enough are found.
 */
function startsBefore(src: DisassemblySource, ref: bigint, want: number): bigint[] {
  let best: bigint[] = [];
  for (let window = BigInt(want * 8 + 16); ; window *= 2n) {
    const low = ref > window ? ref - window : 0n;
    for (const b of src.boundaries) {
      if (b < low) continue;
      if (b >= ref) break;
      const starts = startsBetween(src, b, ref);
      if (starts) {
        if (starts.length > best.length) best = starts;
        break; // the lowest boundary that works gives the most instructions in this window
      }
    }
    if (best.length >= want || low === 0n || window > 1n << 16n) break;
  }
  if (best.length < want) {
    // No boundary far enough back: x86 decoding resynchronises within a few instructions, so the
    // lowest start address that decodes exactly onto the first known boundary gives the most.
    const anchor = best.length ? best[0] : ref;
    const lowest = anchor - BigInt(Math.min(Number(anchor), (want - best.length) * MAX_INSN));
    for (let from = lowest; from < anchor; from++) {
      const starts = startsBetween(src, from, anchor);
      if (starts) {
        best = [...starts, ...best];
        break;
      }
    }
  }
  return best.slice(-want);
}

/** Exactly `count` instructions starting `offset` instructions from `ref` (offset may be negative). */
export function disassembleAround(src: DisassemblySource, ref: bigint, offset: number, count: number): Instruction[] {
  if (count <= 0) return [];
  if (offset >= 0) {
    const all = decodeFrom(src, ref, offset + count);
    return all.slice(offset, offset + count);
  }
  const before = -offset;
  const starts = startsBefore(src, ref, before);
  const out: Instruction[] = [];
  // Placeholders for what could not be reached, at descending addresses below the first found start.
  const lowest = starts.length ? starts[0] : ref;
  for (let i = before - starts.length; i > 0; i--)
    out.push({ address: lowest - BigInt(i), bytes: [], text: '(no instruction boundary known here)', invalid: true, placeholder: true });
  if (starts.length) out.push(...decodeFrom(src, starts[0], starts.length));
  const rest = count - out.length;
  if (rest > 0) out.push(...decodeFrom(src, ref, rest));
  return out.slice(0, count);
}
