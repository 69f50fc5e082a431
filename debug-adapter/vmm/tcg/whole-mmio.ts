// MMIO accesses as the instruction makes them, as KVM reports them (kvm_run.mmio: one exit of the
// operand's size at its address), although Unicorn cuts some of them up on the way to the region.
//
// Measured (Unicorn 2.0.1, C probes; pinned by test/tcg/whole-mmio.test.ts):
// - An aligned 8-byte access to a uc_mmio_map region reaches its callbacks as two 4-byte accesses,
//   low half first. uc_mmio_map leaves the region's MemoryRegionOps.impl.max_access_size at 0, which
//   QEMU's access_with_adjusted_size reads as 4; the API cannot change it.
// - An unaligned read of 2, 4 or 8 bytes becomes the two aligned reads of that size around it; an
//   unaligned write becomes one 1-byte write per byte.
// - A UC_HOOK_MEM_READ / UC_HOOK_MEM_WRITE hook on the region is called once per instruction access
//   with its address, size and (store) value, before any of those pieces; an unaligned read's aligned
//   reads call it again, each before its own pieces.
// So the hook announces the access (begin), and the callbacks' pieces are matched to it (claim): the
// first piece makes the one bus access of the announced size — a read fills `data`, from which every
// piece is served — and the others are only served. Aligned accesses of 1, 2 or 4 bytes are not cut
// up and pass as they are. Every MMIO access is announced before its pieces, so an announcement no
// piece matches (a hook address that is not the callbacks' guest-physical one) is replaced by the
// next, and its pieces are served as they come.

const toBig = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v));

/** The `size`-byte little-endian value at `bytes[at]`. */
export function littleEndian(bytes: Uint8Array, at: number, size: number): number | bigint {
  if (size === 8) return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
  return v;
}

/** How a region callback's piece relates to the access the hook announced. */
export type Piece = 'own' | 'first' | 'rest';

export class WholeMmioAccess {
  /** Guest-physical range the announced access's pieces fall in ([start, end)); start -1: none. */
  private start = -1;
  private end = 0;
  private write = false;
  /** An unaligned read: Unicorn's aligned reads inside it announce themselves too. */
  private splitRead = false;
  /** Bytes of [start, end) no piece has reached yet. */
  private left = 0;
  /** The guest-physical address of data[0] (start, kept after the last piece). */
  private origin = 0;
  /** Bytes of [start, end): a store's value, or what the one bus read returned (0 elsewhere). */
  private readonly data = new Uint8Array(16);
  /** The one bus access: its address, and its bytes (a view into `data`). */
  busAddress = 0;
  busBytes: Uint8Array = this.data.subarray(0, 8);

  /** From the memory hook: an access of `size` bytes at `address` is about to reach the region. */
  begin(address: number, size: number, write: boolean, value: number | bigint): void {
    if (this.start >= 0 && this.splitRead && !write && address >= this.start && address + size <= this.end) return; // its own aligned reads
    const unaligned = (address & (size - 1)) !== 0;
    if (size < 8 && !unaligned) {
      this.start = -1; // reaches the region whole
      return;
    }
    this.write = write;
    this.splitRead = unaligned && !write;
    this.start = this.splitRead ? address - (address & (size - 1)) : address;
    this.end = this.start + (this.splitRead ? 2 * size : size);
    this.left = this.end - this.start;
    this.origin = this.start;
    this.busAddress = address;
    this.data.fill(0);
    this.busBytes = this.data.subarray(address - this.start, address - this.start + size);
    if (write) {
      let v = BigInt.asUintN(64, toBig(value));
      for (let i = 0; i < size; i++, v >>= 8n) this.busBytes[i] = Number(v & 0xffn);
    }
  }

  /** From a region callback: whether its piece is an access of its own, the first piece of the announced one, or a later piece. */
  claim(address: number, size: number, write: boolean): Piece {
    if (this.start < 0 || write !== this.write || address < this.start || address + size > this.end) return 'own';
    const first = this.left === this.end - this.start;
    this.left -= size;
    if (this.left <= 0) this.start = -1;
    return first ? 'first' : 'rest';
  }

  /** A read piece's value, from the announced access's one bus read. */
  value(address: number, size: number): number | bigint {
    return littleEndian(this.data, address - this.origin, size);
  }

  /** Nothing is announced (a new run starts). */
  reset(): void {
    this.start = -1;
  }
}
