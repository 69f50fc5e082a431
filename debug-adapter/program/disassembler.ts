// x86 disassembly with iced-x86 (16/32/64-bit, AT&T or Intel syntax).
import { iced } from './iced';

export type Bitness = 16 | 32 | 64;
export type Syntax = 'att' | 'intel';

export interface DisassembledInstruction {
  address: bigint;
  bytes: number[];
  text: string;
  invalid: boolean;
}

/** Decodes instructions from `bytes` (which start at `address`) until the bytes or `max` run out. */
export function disassemble(bytes: Uint8Array, address: bigint, bitness: Bitness, max = Infinity, syntax: Syntax = 'att'): DisassembledInstruction[] {
  const { Decoder, DecoderOptions } = iced();
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  const { Formatter, FormatterSyntax } = iced();
  const formatter = new Formatter(syntax === 'att' ? FormatterSyntax.Gas : FormatterSyntax.Intel);
  // Every number in hex, as objdump prints them. (iced-x86's "small numbers in decimal" check also
  // misjudges 64-bit immediates whose low half is zero: movabs $0x100000000000 came out as $0.)
  formatter.smallHexNumbersInDecimal = false;
  if (syntax === 'intel') {
    formatter.hexPrefix = '0x';
    formatter.hexSuffix = '';
  }
  const out: DisassembledInstruction[] = [];
  try {
    decoder.ip = address;
    while (decoder.canDecode && out.length < max) {
      const offset = Number(decoder.ip - address);
      const ins = decoder.decode();
      try {
        out.push({
          address: ins.ip,
          bytes: Array.from(bytes.subarray(offset, offset + ins.length)),
          text: ins.isInvalid ? '(bad)' : formatter.format(ins),
          invalid: ins.isInvalid,
        });
      } finally {
        ins.free();
      }
    }
  } finally {
    decoder.free();
    formatter.free();
  }
  return out;
}

/** Start addresses of the instructions decoded from `bytes` (no formatting: fast). */
export function instructionStarts(bytes: Uint8Array, address: bigint, bitness: Bitness, until: bigint): { starts: bigint[]; invalidAt?: bigint } {
  const { Decoder, DecoderOptions } = iced();
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  const starts: bigint[] = [];
  try {
    decoder.ip = address;
    while (decoder.canDecode) {
      const ip = decoder.ip;
      if (ip >= until) break;
      const ins = decoder.decode();
      const invalid = ins.isInvalid;
      ins.free();
      if (invalid) return { starts, invalidAt: ip };
      starts.push(ip);
    }
  } finally {
    decoder.free();
  }
  return { starts };
}
