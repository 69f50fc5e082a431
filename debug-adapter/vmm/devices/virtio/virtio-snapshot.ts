// The read-only picture of a virtio-mmio device for the views (.virtio, the Devices section,
// --stats). Plain JSON-safe data: 64-bit values are hex strings.
import type { RequestRecord } from './virtqueue';
import {
  VIRTIO_CONSOLE_F_EMERG_WRITE, VIRTIO_CONSOLE_F_SIZE, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1,
  VIRTIO_ID_CONSOLE, VIRTIO_STATUS,
} from './virtio-abi';

export interface VirtqueueSnapshot {
  index: number;
  name: string;
  size: number;
  maxSize: number;
  ready: boolean;
  /** Guest-physical addresses of the descriptor table, driver area and device area, as 0x-hex. */
  descAddress: string;
  driverAddress: string;
  deviceAddress: string;
  /** The driver's avail idx as it stands in guest RAM (undefined while the ring is outside RAM). */
  availIdx: number | undefined;
  /** The next avail idx the device will read (free-running, mod 2^16). */
  lastAvailIdx: number;
  /** The device's used idx (free-running, mod 2^16). */
  usedIdx: number;
  served: number;
  /** The last few requests served, oldest first. */
  recent: RequestRecord[];
  /** A fault stopped this queue until the driver resets the device. */
  broken: boolean;
}

export interface VirtioSnapshot {
  name: string;
  deviceId: number;
  base: number;
  status: number;
  statusNames: string[];
  offeredFeatures: string;
  driverFeatures: string;
  /** What the device works with: the driver's features once FEATURES_OK was accepted, else 0. */
  negotiatedFeatures: string;
  negotiatedFeatureNames: string[];
  interruptStatus: number;
  /** Whether the interrupt line is asserted. */
  interruptLine: boolean;
  configGeneration: number;
  queues: VirtqueueSnapshot[];
  /** Notifications sent to the driver (used-buffer and config-change). */
  interrupts: number;
  /** QueueNotify writes the driver made. */
  notifications: number;
  problems: string[];
}

export function statusNames(status: number): string[] {
  return Object.entries(VIRTIO_STATUS).filter(([, bit]) => (status & bit) !== 0).map(([name]) => name);
}

export function featureHex(features: bigint): string {
  return '0x' + features.toString(16).padStart(16, '0');
}

const TRANSPORT_FEATURES: [number, string][] = [
  [VIRTIO_F_INDIRECT_DESC, 'INDIRECT_DESC'],
  [VIRTIO_F_EVENT_IDX, 'EVENT_IDX'],
  [VIRTIO_F_VERSION_1, 'VERSION_1'],
];
const CONSOLE_FEATURES: [number, string][] = [
  [VIRTIO_CONSOLE_F_SIZE, 'CONSOLE_F_SIZE'],
  [VIRTIO_CONSOLE_F_EMERG_WRITE, 'CONSOLE_F_EMERG_WRITE'],
];

export function featureNames(features: bigint, deviceId: number): string[] {
  const known = deviceId === VIRTIO_ID_CONSOLE ? [...CONSOLE_FEATURES, ...TRANSPORT_FEATURES] : TRANSPORT_FEATURES;
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((features >> BigInt(bit)) & 1n) === 0n) continue;
    names.push(known.find(([b]) => b === bit)?.[1] ?? `bit ${bit}`);
  }
  return names;
}
