// Finding the instruction behind a page fault that Unicorn reported without it: decoding forward
// from the start of the translated block (iced-x86) for the first memory operand that touches the
// faulting address, computed with the registers as they were before that instruction.
import { Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, MemorySizeExt, OpAccess, Register, RegisterExt } from 'iced-x86';
import { gpr, SEGMENT_OF } from '../iced-operands';
import type { CpuState } from '../cpu-state';

/**
 * The RIP of the first instruction, decoding straight on from state's CS:RIP (at most one
 * translated block), whose memory operands — computed with state's registers — touch `linear`.
 */
export function locateAccess(state: CpuState, fetch: (linear: bigint, n: number) => number[], linear: bigint, write: boolean): bigint | undefined {
  const s = state.sregs;
  const bitness = (s.efer & (1n << 10n)) !== 0n && s.cs.l ? 64 : (s.cr0 & 1n) !== 0n && s.cs.db ? 32 : 16;
  const ripMask = bitness === 64 ? (1n << 64n) - 1n : bitness === 32 ? 0xffffffffn : 0xffffn;
  let rip = state.regs.rip;
  const factory = new InstructionInfoFactory();
  try {
    for (let n = 0; n < 512; n++) {
      const bytes = Uint8Array.from(fetch(s.cs.base + rip, 15));
      if (bytes.length === 0) return undefined;
      const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
      decoder.ip = rip;
      const ins = decoder.decode();
      try {
        if (ins.isInvalid) return undefined;
        const info = factory.info(ins);
        try {
          for (const u of info.usedMemory()) {
            const access = u.access as OpAccess;
            const isWrite = access === OpAccess.Write || access === OpAccess.CondWrite || access === OpAccess.ReadWrite || access === OpAccess.ReadCondWrite;
            const base = u.base as Register;
            const baseValue = base === Register.RIP || base === Register.EIP ? 0n : gpr(state, base);
            const addrBits = base !== Register.None && base !== Register.RIP && base !== Register.EIP ? RegisterExt.size(base) * 8
              : (u.index as Register) !== Register.None ? RegisterExt.size(u.index as Register) * 8 : bitness;
            const ea = (baseValue + gpr(state, u.index as Register) * BigInt(u.scale) + BigInt.asUintN(64, u.displacement as bigint)) & ((1n << BigInt(addrBits)) - 1n);
            const seg = SEGMENT_OF[u.segment as number];
            const segBase = seg === undefined || (bitness === 64 && seg !== 'fs' && seg !== 'gs') ? 0n : s[seg].base;
            const start = segBase + ea;
            const size = BigInt(Math.max(1, MemorySizeExt.size(u.memorySize)));
            u.free();
            if (access !== OpAccess.NoMemAccess && access !== OpAccess.None && (isWrite || !write) && linear >= (start & ~0xfffn) && linear < start + size)
              return rip;
          }
        } finally {
          info.free();
        }
        if (ins.flowControl !== FlowControl.Next) return undefined; // the block ends at a branch
        rip = (rip + BigInt(ins.length)) & ripMask;
      } finally {
        ins.free();
        decoder.free();
      }
    }
  } finally {
    factory.free();
  }
  return undefined;
}
