// virtio-console (device id 3, §5.3) as a single serial stream, like the UART: receiveq0 carries
// host→guest bytes into device-writable buffers the driver posts, transmitq0 carries guest→host
// bytes to a ByteSink. No MULTIPORT. Config: cols/rows (offered as CONSOLE_F_SIZE only when a size
// is given) and emerg_wr (CONSOLE_F_EMERG_WRITE: a byte written there is output at once, handy
// before the queues are set up).
import type { ByteSink, ByteSource } from '../uart16550';
import type { VirtioDevice } from './virtio-device';
import type { QueueAccess } from './virtqueue';
import { VIRTIO_CONSOLE_F_EMERG_WRITE, VIRTIO_CONSOLE_F_SIZE, VIRTIO_ID_CONSOLE, featureBit } from './virtio-abi';

export const CONSOLE_RECEIVEQ = 0;
export const CONSOLE_TRANSMITQ = 1;
export const CONSOLE_QUEUE_SIZE = 64;
/** Config layout (§5.3.4): cols u16 @0, rows u16 @2, max_nr_ports u32 @4, emerg_wr u32 @8. */
export const CONSOLE_CONFIG_EMERG_WR = 8;
const CONFIG_SIZE = 12;

export interface ConsoleSize {
  cols: number;
  rows: number;
}

export class VirtioConsole implements VirtioDevice {
  readonly name = 'virtio-console';
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly features: bigint;
  readonly queues = [
    { name: 'receiveq0', maxSize: CONSOLE_QUEUE_SIZE },
    { name: 'transmitq0', maxSize: CONSOLE_QUEUE_SIZE },
  ];
  readonly config = new Uint8Array(CONFIG_SIZE);
  bytesReceived = 0;
  bytesTransmitted = 0;
  private configListener: (() => void) | undefined;

  constructor(private readonly out: ByteSink, private readonly input: ByteSource, size?: ConsoleSize) {
    this.features = featureBit(VIRTIO_CONSOLE_F_EMERG_WRITE) | (size ? featureBit(VIRTIO_CONSOLE_F_SIZE) : 0n);
    if (size) this.storeSize(size);
  }

  /** A terminal resize; only meaningful when constructed with a size (CONSOLE_F_SIZE offered). */
  resize(size: ConsoleSize): void {
    this.storeSize(size);
    this.configListener?.();
  }

  onConfigChange(listener: () => void): void {
    this.configListener = listener;
  }

  writeConfig(offset: number, data: Uint8Array): void {
    // emerg_wr: the low byte of whatever lands on offset 8 is one character of output.
    if (offset <= CONSOLE_CONFIG_EMERG_WR && offset + data.length > CONSOLE_CONFIG_EMERG_WR) {
      this.out.write(data[CONSOLE_CONFIG_EMERG_WR - offset]);
      this.bytesTransmitted++;
    }
  }

  reset(): void {}

  queueNotified(index: number, queues: readonly QueueAccess[]): void {
    if (index === CONSOLE_TRANSMITQ) this.transmit(queues[CONSOLE_TRANSMITQ]);
    else this.receive(queues[CONSOLE_RECEIVEQ]);
  }

  /** Input that arrived since: fill posted receive buffers (the transport raises the interrupt). */
  poll(queues: readonly QueueAccess[]): void {
    this.receive(queues[CONSOLE_RECEIVEQ]);
  }

  private transmit(q: QueueAccess): void {
    for (let chain = q.pop(); chain; chain = q.pop()) {
      for (const buffer of chain.readable) for (const byte of buffer) this.out.write(byte);
      this.bytesTransmitted += chain.readableLength;
      q.complete(chain, 0); // nothing written into a transmit buffer
    }
  }

  private receive(q: QueueAccess): void {
    while (this.input.available()) {
      const chain = q.pop();
      if (!chain) return;
      let written = 0;
      fill: for (const buffer of chain.writable) {
        for (let i = 0; i < buffer.length; i++) {
          if (!this.input.available()) break fill;
          const byte = this.input.read();
          if (byte < 0) break fill;
          buffer[i] = byte;
          written++;
        }
      }
      this.bytesReceived += written;
      q.complete(chain, written);
    }
  }

  private storeSize(size: ConsoleSize): void {
    const view = new DataView(this.config.buffer);
    view.setUint16(0, size.cols, true);
    view.setUint16(2, size.rows, true);
  }
}
