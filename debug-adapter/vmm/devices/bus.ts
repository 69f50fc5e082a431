// The port-I/O bus and the MMIO bus: address → device, plus the policy for unmapped addresses
// (reads all-ones, writes dropped, counted, reported once per address).

export interface PortDevice {
  readonly name: string;
  /** `size` is 1, 2 or 4 bytes. */
  ioRead(port: number, size: number): number;
  ioWrite(port: number, size: number, value: number): void;
}

export interface MmioDevice {
  readonly name: string;
  mmioRead(address: number, data: Uint8Array): void;
  mmioWrite(address: number, data: Uint8Array): void;
}

export interface UnmappedAccess {
  space: 'port' | 'mmio';
  address: number;
  write: boolean;
  size: number;
}

export type UnmappedReporter = (access: UnmappedAccess) => void;

export class PortBus {
  private readonly devices: (PortDevice | undefined)[] = new Array(0x10000);
  private readonly reported = new Set<number>();
  unmappedCount = 0;

  constructor(private readonly onUnmapped: UnmappedReporter) {}

  register(device: PortDevice, base: number, length = 1): void {
    for (let p = base; p < base + length; p++) {
      const existing = this.devices[p];
      if (existing) throw new Error(`port 0x${p.toString(16)} is already taken by ${existing.name}`);
      this.devices[p] = device;
    }
  }

  deviceAt(port: number): PortDevice | undefined {
    return this.devices[port];
  }

  read(port: number, size: number): number {
    const d = this.devices[port];
    if (d) return d.ioRead(port, size);
    this.unmapped(port, false, size);
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  }

  write(port: number, size: number, value: number): void {
    const d = this.devices[port];
    if (d) d.ioWrite(port, size, value);
    else this.unmapped(port, true, size);
  }

  private unmapped(port: number, write: boolean, size: number): void {
    this.unmappedCount++;
    const key = write ? port | 0x10000 : port;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.onUnmapped({ space: 'port', address: port, write, size });
  }
}

interface MmioRange {
  start: number;
  end: number;
  device: MmioDevice;
}

export class MmioBus {
  private readonly ranges: MmioRange[] = [];
  private readonly reported = new Set<string>();
  unmappedCount = 0;

  constructor(private readonly onUnmapped: UnmappedReporter) {}

  register(device: MmioDevice, start: number, length: number): void {
    const end = start + length;
    const clash = this.ranges.find((r) => r.start < end && start < r.end);
    if (clash) throw new Error(`MMIO range 0x${start.toString(16)} overlaps ${clash.device.name}`);
    this.ranges.push({ start, end, device });
  }

  private find(address: number): MmioDevice | undefined {
    for (const r of this.ranges) if (address >= r.start && address < r.end) return r.device;
    return undefined;
  }

  read(address: number, data: Uint8Array): void {
    const d = this.find(address);
    if (d) d.mmioRead(address, data);
    else {
      data.fill(0xff);
      this.unmapped(address, false, data.length);
    }
  }

  write(address: number, data: Uint8Array): void {
    const d = this.find(address);
    if (d) d.mmioWrite(address, data);
    else this.unmapped(address, true, data.length);
  }

  private unmapped(address: number, write: boolean, size: number): void {
    this.unmappedCount++;
    const key = `${write ? 'w' : 'r'}${address}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.onUnmapped({ space: 'mmio', address, write, size });
  }
}
