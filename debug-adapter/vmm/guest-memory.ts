// Guest RAM: one anonymous mapping at guest-physical 0. The main thread and the vCPU worker both see
// it as an ArrayBuffer over the mapping itself (no copies); the accelerator maps the same pages
// (KVM as a memory slot, the software CPU with uc_mem_map_ptr).
import * as libc from './libc';
import { hex } from './guest-layout';

export class GuestMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly mapping: libc.Mapping;
  private released = false;

  constructor(readonly size: number) {
    this.mapping = libc.mmap(
      size,
      libc.PROT_READ | libc.PROT_WRITE,
      libc.MAP_PRIVATE | libc.MAP_ANONYMOUS | libc.MAP_NORESERVE,
      -1,
      `mmap of ${size} bytes of guest memory`,
    );
    this.bytes = new Uint8Array(this.mapping.buffer);
    this.view = new DataView(this.mapping.buffer);
  }

  get hostAddress(): bigint {
    return this.mapping.address;
  }

  private check(address: number, length: number): void {
    if (!Number.isSafeInteger(address) || address < 0 || length < 0 || address + length > this.size)
      throw new RangeError(`guest-physical range ${hex(address)}+${length} is outside guest memory (0x0–${hex(this.size - 1)})`);
  }

  /** A copy of guest-physical bytes. */
  read(address: number, length: number): Uint8Array {
    this.check(address, length);
    return this.bytes.slice(address, address + length);
  }

  write(address: number, data: Uint8Array): void {
    this.check(address, data.length);
    this.bytes.set(data, address);
  }

  fill(address: number, length: number, value: number): void {
    this.check(address, length);
    this.bytes.fill(value, address, address + length);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    libc.munmap(this.mapping);
  }
}
