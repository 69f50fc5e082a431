// Encoding and decoding of the register structs exchanged with KVM (kvm_regs, kvm_sregs,
// kvm_guest_debug), using the offsets of kvm-abi.ts: the one conversion between KVM's structs and
// the neutral CPU state of cpu-state.ts.
import { OFFSET, SIZE } from './kvm-abi';
import { REG_NAMES, SEGMENT_NAMES } from '../cpu-state';
import type { Regs, Segment, SRegs } from '../cpu-state';

/** kvm_sregs: the neutral SRegs plus the pending-interrupt bitmap only KVM has. */
export type KvmSRegs = SRegs & { interrupt_bitmap: bigint[] };

export function decodeRegs(b: Buffer): Regs {
  const r = {} as Regs;
  REG_NAMES.forEach((name, i) => (r[name] = b.readBigUInt64LE(i * 8)));
  return r;
}

export function encodeRegs(r: Regs, b: Buffer = Buffer.alloc(SIZE.kvm_regs)): Buffer {
  REG_NAMES.forEach((name, i) => b.writeBigUInt64LE(BigInt.asUintN(64, r[name]), i * 8));
  return b;
}

function decodeSegment(b: Buffer, at: number): Segment {
  return {
    base: b.readBigUInt64LE(at + OFFSET['kvm_segment.base']),
    limit: b.readUInt32LE(at + OFFSET['kvm_segment.limit']),
    selector: b.readUInt16LE(at + OFFSET['kvm_segment.selector']),
    type: b[at + OFFSET['kvm_segment.type']],
    present: b[at + OFFSET['kvm_segment.present']],
    dpl: b[at + OFFSET['kvm_segment.dpl']],
    db: b[at + OFFSET['kvm_segment.db']],
    s: b[at + OFFSET['kvm_segment.s']],
    l: b[at + OFFSET['kvm_segment.l']],
    g: b[at + OFFSET['kvm_segment.g']],
    avl: b[at + OFFSET['kvm_segment.avl']],
    unusable: b[at + OFFSET['kvm_segment.unusable']],
  };
}

function encodeSegment(s: Segment, b: Buffer, at: number): void {
  b.writeBigUInt64LE(BigInt.asUintN(64, s.base), at + OFFSET['kvm_segment.base']);
  b.writeUInt32LE(s.limit >>> 0, at + OFFSET['kvm_segment.limit']);
  b.writeUInt16LE(s.selector & 0xffff, at + OFFSET['kvm_segment.selector']);
  b[at + OFFSET['kvm_segment.type']] = s.type;
  b[at + OFFSET['kvm_segment.present']] = s.present;
  b[at + OFFSET['kvm_segment.dpl']] = s.dpl;
  b[at + OFFSET['kvm_segment.db']] = s.db;
  b[at + OFFSET['kvm_segment.s']] = s.s;
  b[at + OFFSET['kvm_segment.l']] = s.l;
  b[at + OFFSET['kvm_segment.g']] = s.g;
  b[at + OFFSET['kvm_segment.avl']] = s.avl;
  b[at + OFFSET['kvm_segment.unusable']] = s.unusable;
}

const CONTROL = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'] as const;

export function decodeSRegs(b: Buffer): KvmSRegs {
  const s = {} as KvmSRegs;
  for (const name of SEGMENT_NAMES) s[name] = decodeSegment(b, OFFSET[`kvm_sregs.${name}`]);
  for (const t of ['gdt', 'idt'] as const) {
    const at = OFFSET[`kvm_sregs.${t}`];
    s[t] = { base: b.readBigUInt64LE(at), limit: b.readUInt16LE(at + OFFSET['kvm_dtable.limit']) };
  }
  for (const name of CONTROL) s[name] = b.readBigUInt64LE(OFFSET[`kvm_sregs.${name}`]);
  s.interrupt_bitmap = [0, 1, 2, 3].map((i) => b.readBigUInt64LE(OFFSET['kvm_sregs.interrupt_bitmap'] + i * 8));
  return s;
}

export function encodeSRegs(s: SRegs & { interrupt_bitmap?: bigint[] }, b: Buffer = Buffer.alloc(SIZE.kvm_sregs)): Buffer {
  for (const name of SEGMENT_NAMES) encodeSegment(s[name], b, OFFSET[`kvm_sregs.${name}`]);
  for (const t of ['gdt', 'idt'] as const) {
    const at = OFFSET[`kvm_sregs.${t}`];
    b.writeBigUInt64LE(BigInt.asUintN(64, s[t].base), at);
    b.writeUInt16LE(s[t].limit & 0xffff, at + OFFSET['kvm_dtable.limit']);
  }
  for (const name of CONTROL) b.writeBigUInt64LE(BigInt.asUintN(64, s[name]), OFFSET[`kvm_sregs.${name}`]);
  (s.interrupt_bitmap ?? [0n, 0n, 0n, 0n]).forEach((v, i) => b.writeBigUInt64LE(v, OFFSET['kvm_sregs.interrupt_bitmap'] + i * 8));
  return b;
}

/** kvm_guest_debug: control flags and the eight debug registers (DR4/DR5 unused). */
export function encodeGuestDebug(control: number, debugreg: bigint[]): Buffer {
  const b = Buffer.alloc(SIZE.kvm_guest_debug);
  b.writeUInt32LE(control >>> 0, OFFSET['kvm_guest_debug.control']);
  for (let i = 0; i < 8; i++) b.writeBigUInt64LE(debugreg[i] ?? 0n, OFFSET['kvm_guest_debug.arch.debugreg'] + i * 8);
  return b;
}
