// The fields of a raw 8-byte GDT/LDT/IDT entry (Intel SDM vol. 3, 3.4.5 and 6.11). One decoding
// serves both the Machine view (inspect/decode.ts) and the software CPU's exception delivery
// (tcg/exception-delivery.ts), so the two never disagree about a descriptor. Number arithmetic on
// the two 32-bit halves: delivery decodes descriptors on every interrupt.

/** The attribute bits 40–55 of a segment or system descriptor. */
export interface DescriptorAttributes {
  type: number;
  s: number;
  dpl: number;
  present: number;
  avl: number;
  l: number;
  db: number;
  g: number;
}

const low32 = (raw: bigint): number => Number(raw & 0xffffffffn);
const high32 = (raw: bigint): number => Number((raw >> 32n) & 0xffffffffn);

export function descriptorAttributes(raw: bigint): DescriptorAttributes {
  const hi = high32(raw);
  return {
    type: (hi >>> 8) & 0xf,
    s: (hi >>> 12) & 1,
    dpl: (hi >>> 13) & 3,
    present: (hi >>> 15) & 1,
    avl: (hi >>> 20) & 1,
    l: (hi >>> 21) & 1,
    db: (hi >>> 22) & 1,
    g: (hi >>> 23) & 1,
  };
}

/** Base bits 31:0 (bits 39:16 and 63:56); a 16-byte system descriptor holds bits 63:32 in its upper half. */
export function descriptorBase(raw: bigint): bigint {
  const lo = low32(raw);
  const hi = high32(raw);
  return BigInt(((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0);
}

/** The raw 20-bit limit (bits 15:0 and 51:48). */
export function descriptorLimit(raw: bigint): number {
  return (low32(raw) & 0xffff) | (high32(raw) & 0xf0000);
}

/** The last valid offset: with G = 1 the limit counts 4 KiB units. */
export function scaledLimit(limit: number, g: number): number {
  return g ? limit * 4096 + 0xfff : limit;
}

/** A gate's target code (or, for a task gate, TSS) selector: bits 31:16. */
export function gateSelector(raw: bigint): number {
  return low32(raw) >>> 16;
}

/** A gate's entry point: bits 15:0 and 63:48, plus bits 31:0 of `upper` (a 64-bit gate's second qword). */
export function gateOffset(raw: bigint, upper = 0n): bigint {
  return BigInt(((high32(raw) & 0xffff0000) | (low32(raw) & 0xffff)) >>> 0) | ((upper & 0xffffffffn) << 32n);
}

/** A 64-bit interrupt or trap gate's interrupt stack table slot: bits 34:32 (0 = none). */
export function gateIst(raw: bigint): number {
  return high32(raw) & 7;
}
