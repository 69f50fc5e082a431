// A 16550A UART (COM1 at 0x3F8 by default), register-compatible with what polling guest drivers
// expect: THR/RBR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR (THRE|TEMT always, DR when input is
// queued), MSR, SCR and the divisor latch. No interrupt line is wired yet (the VM has no irqchip), but
// IIR reports what would be pending so polling on IIR works too.
import type { PortDevice } from './bus';

export const UART_COM1 = 0x3f8;

const DATA = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
export const LSR_DR = 0x01;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IIR_NONE = 0x01;
const IIR_THR_EMPTY = 0x02;
const IIR_RDA = 0x04;
const IIR_FIFO_ENABLED = 0xc0;

export interface ByteSink {
  write(byte: number): void;
}

export interface ByteSource {
  /** The next input byte, or -1 when there is none. */
  read(): number;
  /** Whether a byte is waiting, without taking it. */
  available(): boolean;
}

export class Uart16550 implements PortDevice {
  readonly name: string;
  private ier = 0;
  private lcr = 0x03; // 8N1
  private mcr = 0x08; // OUT2
  private scr = 0;
  private fcr = 0;
  private dll = 0x0c; // 9600 baud
  private dlm = 0;
  private readonly loopback: number[] = [];
  transmitted = 0;

  constructor(private readonly base: number, private readonly out: ByteSink, private readonly input: ByteSource, name = 'uart16550') {
    this.name = name;
  }

  private hasInput(): boolean {
    return (this.mcr & MCR_LOOP) !== 0 ? this.loopback.length > 0 : this.input.available();
  }

  ioRead(port: number, _size: number): number {
    switch (port - this.base) {
      case DATA:
        if (this.lcr & LCR_DLAB) return this.dll;
        if (this.mcr & MCR_LOOP) return this.loopback.shift() ?? 0;
        {
          const b = this.input.read();
          return b < 0 ? 0 : b;
        }
      case IER:
        return this.lcr & LCR_DLAB ? this.dlm : this.ier;
      case IIR_FCR: {
        const fifo = this.fcr & 1 ? IIR_FIFO_ENABLED : 0;
        if (this.ier & IER_RDI && this.hasInput()) return fifo | IIR_RDA;
        if (this.ier & IER_THRI) return fifo | IIR_THR_EMPTY;
        return fifo | IIR_NONE;
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR:
        return LSR_THRE | LSR_TEMT | (this.hasInput() ? LSR_DR : 0);
      case MSR:
        if (this.mcr & MCR_LOOP) {
          // Loopback wires DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
          const m = this.mcr;
          return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
        }
        return 0xb0; // DCD, DSR, CTS
      case SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  ioWrite(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    switch (port - this.base) {
      case DATA:
        if (this.lcr & LCR_DLAB) this.dll = v;
        else if (this.mcr & MCR_LOOP) this.loopback.push(v);
        else {
          this.transmitted++;
          this.out.write(v);
        }
        return;
      case IER:
        if (this.lcr & LCR_DLAB) this.dlm = v;
        else this.ier = v & 0x0f;
        return;
      case IIR_FCR:
        this.fcr = v;
        return;
      case LCR:
        this.lcr = v;
        return;
      case MCR:
        this.mcr = v & 0x1f;
        return;
      case SCR:
        this.scr = v;
        return;
      default:
        return; // LSR and MSR are read-only
    }
  }

  /** The divisor latch value (baud = 115200 / divisor). */
  get divisor(): number {
    return (this.dlm << 8) | this.dll;
  }
}
