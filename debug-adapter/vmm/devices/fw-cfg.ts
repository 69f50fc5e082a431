// QEMU's firmware configuration device, legacy I/O interface (QEMU docs/specs/fw_cfg.rst): a 16-bit
// selector register at port 0x510 picks an item and rewinds it; each 8-bit read of the data register
// at 0x511 returns the item's next byte, and 0 past its end or for an item that does not exist.
// Writes to the data register are ignored (as in QEMU since 2.4); there is no DMA interface (ID bit 1
// clear, no port 0x514). Firmware and test kernels (kvm-unit-tests reads NB_CPUS and RAM_SIZE here)
// learn the machine from it. Measured on QEMU 7.2 and done the same here: the two ports are one
// register pair in which a 16-bit write selects and an 8-bit read at either port reads data; a
// 16-bit read returns 0 and does not advance; the write-channel bit (0x4000) of a key is ignored.
//
// Items: signature "QEMU" (0x0000), ID (0x0001: bit 0, the traditional interface), UUID (0x0002:
// zeros, as QEMU without -uuid), RAM size (0x0003, u64), NB_CPUS (0x0005) and MAX_CPUS (0x000f): 1, and the file directory (0x0019: a big-endian count,
// then per file a big-endian size, select key and reserved u16, and a 56-byte NUL-padded name). The
// files (from key 0x0020) are what this monitor offers, listed in fwCfgFiles(). Integers in items are
// little-endian; the directory's are big-endian, as the specification says.
import type { PortDevice } from './bus';

export const FW_CFG_PORT_SELECTOR = 0x510;
export const FW_CFG_PORT_DATA = 0x511;

export const FW_CFG = {
  SIGNATURE: 0x0000, ID: 0x0001, UUID: 0x0002, RAM_SIZE: 0x0003, NB_CPUS: 0x0005,
  MAX_CPUS: 0x000f, FILE_DIR: 0x0019, FILE_FIRST: 0x0020,
} as const;
/** ID bit 0: the traditional (selector + data register) interface; bit 1 (DMA) is not offered. */
export const FW_CFG_ID_TRADITIONAL = 1;
const FILE_NAME_BYTES = 56;

export interface FwCfgFile {
  name: string;
  data: Uint8Array;
}

const le = (value: bigint, bytes: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++, value >>= 8n) out[i] = Number(value & 0xffn);
  return out;
};

/** The e820 entry types (etc/e820 is QEMU's file of the same name: packed {u64 address, u64 length, u32 type}). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

export function e820File(regions: readonly { base: number; length: number; type: number }[]): Uint8Array {
  const out = new Uint8Array(regions.length * 20);
  regions.forEach((r, i) => {
    out.set(le(BigInt(r.base), 8), i * 20);
    out.set(le(BigInt(r.length), 8), i * 20 + 8);
    out.set(le(BigInt(r.type), 4), i * 20 + 16);
  });
  return out;
}

export class FwCfg implements PortDevice {
  readonly name = 'fw_cfg (0x510–0x511)';
  private readonly items = new Map<number, Uint8Array>();
  private current: Uint8Array | undefined;
  private offset = 0;

  constructor(opts: { ramSize: number; files: readonly FwCfgFile[] }) {
    this.items.set(FW_CFG.SIGNATURE, Uint8Array.from(Buffer.from('QEMU', 'latin1')));
    this.items.set(FW_CFG.ID, le(BigInt(FW_CFG_ID_TRADITIONAL), 4));
    this.items.set(FW_CFG.UUID, new Uint8Array(16));
    this.items.set(FW_CFG.RAM_SIZE, le(BigInt(opts.ramSize), 8));
    this.items.set(FW_CFG.NB_CPUS, le(1n, 2));
    this.items.set(FW_CFG.MAX_CPUS, le(1n, 2));
    const dir = new Uint8Array(4 + opts.files.length * 64);
    const view = new DataView(dir.buffer);
    view.setUint32(0, opts.files.length, false);
    opts.files.forEach((f, i) => {
      const key = FW_CFG.FILE_FIRST + i;
      this.items.set(key, f.data);
      view.setUint32(4 + i * 64, f.data.length, false);
      view.setUint16(8 + i * 64, key, false);
      dir.set(Buffer.from(f.name, 'latin1').subarray(0, FILE_NAME_BYTES - 1), 12 + i * 64);
    });
    this.items.set(FW_CFG.FILE_DIR, dir);
  }

  ioRead(_port: number, size: number): number {
    if (size !== 1 || !this.current || this.offset >= this.current.length) return 0;
    return this.current[this.offset++];
  }

  ioWrite(port: number, size: number, value: number): void {
    if (port !== FW_CFG_PORT_SELECTOR || size !== 2) return; // 8-bit writes are data writes: ignored
    // Bit 15 (architecture-local) is part of the key; bit 14 (write channel) is not. Unknown keys read as 0.
    this.current = this.items.get(value & 0xbfff);
    this.offset = 0;
  }
}
