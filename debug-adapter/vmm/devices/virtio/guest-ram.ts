// Bounds-checked little-endian access to guest RAM (guest-physical 0 .. length-1). Every address a
// guest hands a virtio device goes through `contains` first, so no access can leave the array.
// Addresses are 64-bit in the ABI; above 2^53 they cannot be exact numbers, but any such address is
// far outside RAM anyway, so `address64` maps it to Infinity, which `contains` refuses.

export function address64(low: number, high: number): number {
  // high < 2^21 keeps high·2^32 + low below 2^53, where numbers are exact.
  return high < 0x200000 ? high * 0x1_0000_0000 + (low >>> 0) : Number.POSITIVE_INFINITY;
}

export function hex64(low: number, high: number): string {
  return '0x' + (high >>> 0).toString(16).padStart(8, '0') + (low >>> 0).toString(16).padStart(8, '0');
}

export class GuestRam {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Whether [address, address + length) lies inside RAM. */
  contains(address: number, length: number): boolean {
    return Number.isFinite(address) && address >= 0 && length >= 0 && address + length <= this.bytes.length;
  }

  /** Callers check `contains` first; these throw (RangeError) rather than wrap if they did not. */
  u16(address: number): number {
    return this.view.getUint16(address, true);
  }
  u32(address: number): number {
    return this.view.getUint32(address, true);
  }
  setU16(address: number, value: number): void {
    this.view.setUint16(address, value & 0xffff, true);
  }
  setU32(address: number, value: number): void {
    this.view.setUint32(address, value >>> 0, true);
  }
  /** A live view of guest RAM; `contains(address, length)` must hold. */
  window(address: number, length: number): Uint8Array {
    return this.bytes.subarray(address, address + length);
  }
}
