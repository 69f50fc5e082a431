// virtio-rng (device id 4, §5.4): one queue, "requestq"; each device-writable buffer the driver
// posts is filled from the host's cryptographic RNG. No features, no config space.
import { randomFillSync } from 'node:crypto';
import type { VirtioDevice } from './virtio-device';
import type { QueueAccess } from './virtqueue';
import { VIRTIO_ID_RNG } from './virtio-abi';

/** Bytes filled per request at most (§5.4.6.1 lets the device use less than the whole buffer). */
export const RNG_MAX_REQUEST = 64 * 1024;
export const RNG_QUEUE_SIZE = 256;

export class VirtioRng implements VirtioDevice {
  readonly name = 'virtio-rng';
  readonly deviceId = VIRTIO_ID_RNG;
  readonly features = 0n;
  readonly queues = [{ name: 'requestq', maxSize: RNG_QUEUE_SIZE }];
  readonly config = new Uint8Array(0);
  /** Random bytes handed to the guest. */
  bytesServed = 0;

  reset(): void {}

  queueNotified(_index: number, queues: readonly QueueAccess[]): void {
    const q = queues[0];
    for (let chain = q.pop(); chain; chain = q.pop()) {
      let budget = RNG_MAX_REQUEST;
      for (const buffer of chain.writable) {
        if (budget === 0) break;
        const part = buffer.length <= budget ? buffer : buffer.subarray(0, budget);
        randomFillSync(part);
        budget -= part.length;
      }
      const written = RNG_MAX_REQUEST - budget;
      this.bytesServed += written;
      q.complete(chain, written);
    }
  }
}
