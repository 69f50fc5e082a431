// Which instruction made a port-I/O or MMIO access, when the accelerator does not say: the
// `unmapped` report names the guest instruction behind the first access to each unmapped port or
// MMIO address. Neither accelerator reports it directly:
// - the software CPU (Unicorn) serves the access inside a hook where RIP still holds the start of the
//   translated block (registers other than RIP are current): `locateForward` decodes from there;
// - KVM exits with RIP at the instruction for reads (IN, MMIO loads: the instruction completes when
//   the data comes back) but after it for MMIO stores (the emulator completes them before exiting)
//   and, on some hosts (kvm_pvm), for OUT: `locateAtOrBefore` checks the instruction ending at RIP.
// Instructions are decoded with iced-x86 and matched by what they access (port and direction;
// memory operand, computed with the registers, translated to guest-physical, and direction).
import { Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, MemorySizeExt, Mnemonic, OpAccess, OpKind, Register, RegisterExt } from 'iced-x86';
import { gpr, SEGMENT_OF } from './iced-operands';
import type { CpuState } from './cpu-state';
import type { UnmappedAccess } from './devices/bus';

export interface LocatorEnv {
  /** Up to `n` bytes of code at a linear address (fewer where unmapped). */
  fetch(linear: bigint, n: number): number[];
  /** Linear → guest-physical through the guest's paging (identity when paging is off), or null. */
  toPhysical(linear: bigint): bigint | null;
}

/**
 * How well an instruction matches an access: 3 exactly; 2 inside its operand (a wide access split
 * in parts); 1 near it (the registers moved by one element since: string instructions, PUSH); 0 not.
 */
type Match = 0 | 1 | 2 | 3;

function bitnessOf(state: CpuState): 16 | 32 | 64 {
  const s = state.sregs;
  return (s.efer & (1n << 10n)) !== 0n && s.cs.l ? 64 : (s.cr0 & 1n) !== 0n && s.cs.db ? 32 : 16;
}

function decodeAt(state: CpuState, env: LocatorEnv, rip: bigint): Instruction | undefined {
  const bytes = Uint8Array.from(env.fetch(state.sregs.cs.base + rip, 15));
  if (bytes.length === 0) return undefined;
  const decoder = new Decoder(bitnessOf(state), bytes, DecoderOptions.None);
  try {
    decoder.ip = rip;
    const ins = decoder.decode();
    if (!ins.isInvalid) return ins;
    ins.free();
    return undefined;
  } finally {
    decoder.free();
  }
}

const PORT_READ = new Set([Mnemonic.In, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd]);
const PORT_WRITE = new Set([Mnemonic.Out, Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd]);

function matches(ins: Instruction, state: CpuState, env: LocatorEnv, access: UnmappedAccess, factory: InstructionInfoFactory): Match {
  if (access.space === 'port') {
    const set = access.write ? PORT_WRITE : PORT_READ;
    if (!set.has(ins.mnemonic)) return 0;
    // IN AL, imm8 / OUT imm8, AL: the port is the immediate; otherwise DX.
    const portOp = ins.mnemonic === Mnemonic.In ? 1 : 0;
    const plain = ins.mnemonic === Mnemonic.In || ins.mnemonic === Mnemonic.Out;
    const port = plain && ins.opKind(portOp) === OpKind.Immediate8 ? ins.immediate8 : Number(state.regs.rdx & 0xffffn);
    if (port !== access.address) return 0;
    if (plain) {
      const reg = ins.mnemonic === Mnemonic.In ? ins.op0Register : ins.op1Register;
      if (RegisterExt.size(reg) !== access.size) return 0;
    }
    return 3;
  }
  const info = factory.info(ins);
  const used = info.usedMemory();
  let best: Match = 0;
  try {
    const bitness = bitnessOf(state);
    for (const u of used) {
      const access_ = u.access as OpAccess;
      const writes = access_ === OpAccess.Write || access_ === OpAccess.CondWrite || access_ === OpAccess.ReadWrite || access_ === OpAccess.ReadCondWrite;
      const reads = access_ === OpAccess.Read || access_ === OpAccess.CondRead || access_ === OpAccess.ReadWrite || access_ === OpAccess.ReadCondWrite;
      const base = u.base as Register;
      const index = u.index as Register;
      const baseValue = base === Register.RIP || base === Register.EIP ? 0n : gpr(state, base);
      const addrBits = base !== Register.None && base !== Register.RIP && base !== Register.EIP ? RegisterExt.size(base) * 8
        : index !== Register.None ? RegisterExt.size(index) * 8 : bitness;
      const ea = (baseValue + gpr(state, index) * BigInt(u.scale) + BigInt.asUintN(64, u.displacement as bigint)) & ((1n << BigInt(addrBits)) - 1n);
      const seg = SEGMENT_OF[u.segment as number];
      const segBase = seg === undefined || (bitness === 64 && seg !== 'fs' && seg !== 'gs') ? 0n : state.sregs[seg].base;
      const size = Math.max(1, MemorySizeExt.size(u.memorySize));
      if (!(access.write ? writes : reads)) continue;
      const physical = env.toPhysical(segBase + ea);
      if (physical === null) continue;
      const a = BigInt(access.address);
      // Exactly: the operand starts at the access with its size (KVM reports the whole operand; the
      // software CPU may split a wide access, whose parts then lie inside the operand).
      if (a === physical && size === access.size) return 3;
      if (a >= physical && a < physical + BigInt(size)) best = Math.max(best, 2) as Match;
      // The registers may have moved by one element (string instructions, PUSH) since the access.
      else if (a + 16n >= physical && a < physical + BigInt(size) + 16n) best = Math.max(best, 1) as Match;
    }
  } finally {
    for (const u of used) u.free();
    info.free();
  }
  return best;
}

/**
 * The instruction at `rip`: its length, and whether it is a plain store (MOV/MOVNTI to memory: the
 * store is its only effect, so once the store is done the instruction is); undefined where nothing
 * valid decodes.
 */
export function instructionAt(state: CpuState, env: LocatorEnv, rip: bigint): { length: number; plainStore: boolean } | undefined {
  const ins = decodeAt(state, env, rip);
  if (!ins) return undefined;
  try {
    const store = (ins.mnemonic === Mnemonic.Mov || ins.mnemonic === Mnemonic.Movnti) && ins.opKind(0) === OpKind.Memory;
    return { length: ins.length, plainStore: store };
  } finally {
    ins.free();
  }
}

/**
 * Software CPU: the RIP of the first instruction, decoding straight on from `startRip` (the start of
 * the translated block, at most one block), that makes `access` with `state`'s registers.
 */
export function locateForward(state: CpuState, env: LocatorEnv, startRip: bigint, access: UnmappedAccess): bigint | undefined {
  const ripMask = bitnessOf(state) === 64 ? (1n << 64n) - 1n : bitnessOf(state) === 32 ? 0xffffffffn : 0xffffn;
  const factory = new InstructionInfoFactory();
  const near: (bigint | undefined)[] = [];
  try {
    let rip = startRip;
    for (let n = 0; n < 512; n++) {
      const ins = decodeAt(state, env, rip);
      if (!ins) break;
      try {
        const m = matches(ins, state, env, access, factory);
        if (m === 3) return rip;
        if (m > 0) near[m] ??= rip;
        if (ins.flowControl !== FlowControl.Next) break; // the block ends at a branch
        rip = (rip + BigInt(ins.length)) & ripMask;
      } finally {
        ins.free();
      }
    }
  } finally {
    factory.free();
  }
  return near[2] ?? near[1];
}

/**
 * KVM, for a write (OUT, MMIO store): the RIP of the instruction that made `access`, given the RIP
 * KVM reports — the instruction ending there when one does (KVM completed it before exiting; when
 * both it and the instruction at RIP would match, the earlier one is the first access), else the
 * instruction at RIP (OUT on hosts that exit before completing it, a REP string store in progress).
 */
export function locateAtOrBefore(state: CpuState, env: LocatorEnv, access: UnmappedAccess): bigint | undefined {
  const rip = state.regs.rip;
  const factory = new InstructionInfoFactory();
  try {
    const near: (bigint | undefined)[] = [];
    // The shortest instruction ending exactly at RIP that matches: a longer one would take bytes of
    // the previous instruction as prefixes, and meaningful prefixes change the size or address.
    for (let len = 1n; len <= 15n && len <= rip; len++) {
      const ins = decodeAt(state, env, rip - len);
      if (!ins) continue;
      try {
        if (BigInt(ins.length) !== len || ins.flowControl !== FlowControl.Next) continue;
        const m = matches(ins, state, env, access, factory);
        if (m === 3) return rip - len;
        if (m > 0) near[m] ??= rip - len;
      } finally {
        ins.free();
      }
    }
    const before = near[2] ?? near[1];
    const beforeScore = near[2] !== undefined ? 2 : near[1] !== undefined ? 1 : 0;
    const at = decodeAt(state, env, rip);
    if (at) {
      try {
        // Only a closer match at RIP wins over one ending there (a REP string store in progress).
        if (matches(at, state, env, access, factory) > beforeScore) return rip;
      } finally {
        at.free();
      }
    }
    return before;
  } finally {
    factory.free();
  }
}
