// Single-port consoles: the Bochs/QEMU 0xE9 debug console (kvm-hello-world) and the Linux Journal
// launcher's 0xF1 pseudo-serial port. A write prints the byte; the POST-code port 0x80 keeps the last
// value written (guests and benchmarks use it as a cheap I/O exit).
import type { PortDevice } from './bus';
import type { ByteSink, ByteSource } from './uart16550';

export const DEBUG_CONSOLE_PORT = 0xe9;
export const PSEUDO_SERIAL_PORT = 0xf1;
export const POST_CODE_PORT = 0x80;

export class DebugConsolePort implements PortDevice {
  readonly name = 'debug-console (0xe9)';
  constructor(private readonly out: ByteSink) {}
  ioRead(): number {
    return DEBUG_CONSOLE_PORT; // Bochs convention: reading 0xE9 tells the guest the port exists
  }
  ioWrite(_port: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.out.write((value >>> (8 * i)) & 0xff);
  }
}

export class PseudoSerialPort implements PortDevice {
  readonly name = 'pseudo-serial (0xf1)';
  constructor(private readonly out: ByteSink, private readonly input: ByteSource) {}
  ioRead(): number {
    const b = this.input.read();
    return b < 0 ? 0 : b;
  }
  ioWrite(_port: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.out.write((value >>> (8 * i)) & 0xff);
  }
}

export class PostCodePort implements PortDevice {
  readonly name = 'post-code (0x80)';
  last = 0;
  ioRead(): number {
    return this.last;
  }
  ioWrite(_port: number, _size: number, value: number): void {
    this.last = value;
  }
}
