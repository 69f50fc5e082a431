// The contract between the virtio-mmio transport and a device type (rng, console, ...). A device
// knows no bus and no interrupt controller: it declares its id, features, queues and config space,
// and serves requests from the queues the transport hands it. The transport decides about
// notifications.
import type { QueueAccess } from './virtqueue';

export interface QueueSpec {
  readonly name: string;
  /** QueueNumMax: a power of two ≤ 32768. */
  readonly maxSize: number;
}

export interface VirtioDevice {
  readonly name: string;
  /** Virtio device id (§5): 3 console, 4 rng. */
  readonly deviceId: number;
  /** Device-type feature bits offered (bits 0..23); the transport adds its own transport bits. */
  readonly features: bigint;
  readonly queues: readonly QueueSpec[];
  /** Device configuration space as the driver reads it at window offset 0x100 (may be empty). */
  readonly config: Uint8Array;
  /** A driver write to config space; without it config space is read-only (writes ignored). */
  writeConfig?(offset: number, data: Uint8Array): void;
  /** Device reset (status written 0): forget any in-flight state. */
  reset(): void;
  /** The driver notified queue `index` (DRIVER_OK is set); serve what it made available. */
  queueNotified(index: number, queues: readonly QueueAccess[]): void;
  /** Host-side work, e.g. console input that arrived; called from the transport's poll(). */
  poll?(queues: readonly QueueAccess[]): void;
  /** The transport registers a callback the device calls after changing its config space. */
  onConfigChange?(listener: () => void): void;
}
