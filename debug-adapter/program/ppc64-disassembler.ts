// POWER disassembly for the debugger, by the cross binutils' objdump on demand (iced-x86 is x86
// only, and no maintained POWER decoder exists on npm): the bytes of guest memory are written to a
// temporary file and decoded with `objdump -D -b binary -m powerpc:common64 -EB|-EL --adjust-vma`.
// Every POWER instruction is one 4-byte word, so addresses before the PC need no resynchronising.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Endian } from '../toolchain/arch';
import { resolvePpc64Tool } from '../toolchain/ppc64-build';
import { runProcess, toolEnv } from '../toolchain/process';

export interface Ppc64Instruction {
  address: bigint;
  /** The word in the guest's byte order, as hex "3a000008". */
  word: string;
  text: string;
}

/** Decodes `bytes` (a multiple of 4) at `address`; words objdump cannot decode come out as `.long`. */
export async function disassemblePpc64(bytes: Uint8Array, address: bigint, endian: Endian): Promise<Ppc64Instruction[]> {
  const words = Math.floor(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, words * 4);
  const out: Ppc64Instruction[] = [];
  for (let i = 0; i < words; i++) {
    const w = view.getUint32(i * 4, endian === 'little');
    out.push({ address: address + BigInt(i * 4), word: w.toString(16).padStart(8, '0'), text: `.long 0x${w.toString(16)}` });
  }
  if (words === 0) return out;
  const objdump = resolvePpc64Tool('objdump', endian);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-guest-ppc64-dis-'));
  try {
    const file = path.join(dir, 'code.bin');
    fs.writeFileSync(file, bytes.subarray(0, words * 4));
    const r = await runProcess(
      [objdump, '-D', '-b', 'binary', '-m', 'powerpc:common64', endian === 'big' ? '-EB' : '-EL', `--adjust-vma=0x${address.toString(16)}`, file],
      { env: toolEnv() },
    );
    if (r.code !== 0) return out;
    // "     100:\t3a 00 00 08 \tli      r16,8"
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} ){4})\s*(.*)$/.exec(line);
      if (!m) continue;
      const at = BigInt(`0x${m[1]}`);
      const index = Number((at - address) / 4n);
      if (index >= 0 && index < out.length && m[3].trim()) out[index].text = m[3].replace(/\s+/, ' ').trim();
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Branch-and-link (bl, bla, bcl, bclrl, bcctrl): what "step over" runs to the next instruction. */
export function isPpc64Call(word: number): boolean {
  const op = word >>> 26;
  const lk = (word & 1) === 1;
  if (op === 18 || op === 16) return lk;
  if (op === 19) {
    const xo = (word >>> 1) & 0x3ff;
    return lk && (xo === 16 || xo === 528);
  }
  return false;
}
