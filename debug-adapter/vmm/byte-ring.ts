// A single-consumer byte ring in a SharedArrayBuffer, used between the main thread and the vCPU
// worker (serial output one way, serial input the other) without a message per byte. writeByte may
// be called from two threads (the vCPU's UART and the device thread's console share the output
// ring, so the serial stream keeps the order the guest wrote in); write() has one producer.
// Header: [0] total bytes written, [1] total bytes read (both wrap at 2^32), [2] wake-up
// sequence, [3] the producers' lock.

const WRITE = 0;
const READ = 1;
const SEQ = 2;
const LOCK = 3;
const HEADER_BYTES = 16;

export class ByteRing {
  readonly sab: SharedArrayBuffer;
  private readonly hdr: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;

  /** capacity must be a power of two. */
  constructor(sabOrCapacity: SharedArrayBuffer | number) {
    this.sab = typeof sabOrCapacity === 'number' ? new SharedArrayBuffer(HEADER_BYTES + sabOrCapacity) : sabOrCapacity;
    this.hdr = new Int32Array(this.sab, 0, 4);
    this.data = new Uint8Array(this.sab, HEADER_BYTES);
    this.mask = this.data.length - 1;
    if ((this.data.length & this.mask) !== 0) throw new Error('ring capacity must be a power of two');
  }

  get capacity(): number {
    return this.data.length;
  }

  /** Bytes waiting to be read. */
  pending(): number {
    return (Atomics.load(this.hdr, WRITE) - Atomics.load(this.hdr, READ)) >>> 0;
  }

  /**
   * Producer: appends as many bytes as fit; returns how many were written. Wakes a waiting consumer
   * only when the ring was empty before, so a burst costs one wake-up.
   */
  write(bytes: Uint8Array | number[], from = 0): number {
    const w = Atomics.load(this.hdr, WRITE);
    const r = Atomics.load(this.hdr, READ);
    const free = this.data.length - ((w - r) >>> 0);
    const n = Math.min(free, bytes.length - from);
    for (let i = 0; i < n; i++) this.data[(w + i) & this.mask] = bytes[from + i];
    Atomics.store(this.hdr, WRITE, (w + n) | 0);
    if (n > 0 && w === r) this.wake();
    return n;
  }

  /** Producer (any thread): one byte; false when full. */
  writeByte(b: number): boolean {
    while (Atomics.compareExchange(this.hdr, LOCK, 0, 1) !== 0);
    try {
      const w = Atomics.load(this.hdr, WRITE);
      const r = Atomics.load(this.hdr, READ);
      if (((w - r) >>> 0) >= this.data.length) return false;
      this.data[w & this.mask] = b;
      Atomics.store(this.hdr, WRITE, (w + 1) | 0);
      if (w === r) this.wake();
      return true;
    } finally {
      Atomics.store(this.hdr, LOCK, 0);
    }
  }

  /** Consumer: takes everything pending. */
  read(): Uint8Array {
    const w = Atomics.load(this.hdr, WRITE);
    const r = Atomics.load(this.hdr, READ);
    const n = (w - r) >>> 0;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.data[(r + i) & this.mask];
    Atomics.store(this.hdr, READ, w);
    Atomics.notify(this.hdr, READ);
    return out;
  }

  /** Consumer: one byte, or -1 when empty. */
  readByte(): number {
    const w = Atomics.load(this.hdr, WRITE);
    const r = Atomics.load(this.hdr, READ);
    if (w === r) return -1;
    const b = this.data[r & this.mask];
    Atomics.store(this.hdr, READ, (r + 1) | 0);
    return b;
  }

  /** Producer: blocks (worker threads only) until the consumer frees space or `ms` pass. */
  waitForSpace(ms: number): void {
    const r = Atomics.load(this.hdr, READ);
    if (this.pending() < this.data.length) return;
    Atomics.wait(this.hdr, READ, r, ms);
  }

  private wake(): void {
    Atomics.add(this.hdr, SEQ, 1);
    Atomics.notify(this.hdr, SEQ);
  }

  /** Consumer (main thread): resolves when the producer wrote since `seq` was read. */
  async waitForData(timeoutMs?: number): Promise<void> {
    const seq = Atomics.load(this.hdr, SEQ);
    if (this.pending() > 0) return;
    const res = Atomics.waitAsync(this.hdr, SEQ, seq, timeoutMs);
    if (res.async) await res.value;
  }
}
