// The virtio-mmio device models, for the monitor to wire: one transport per device, each on its
// own 0x200-byte window and interrupt line.
export * from './virtio-abi';
export * from './virtio-host';
export type { VirtioDevice, QueueSpec } from './virtio-device';
export type { DescriptorChain, DescriptorEntry, QueueAccess, RequestRecord } from './virtqueue';
export type { VirtioSnapshot, VirtqueueSnapshot } from './virtio-snapshot';
export { VirtioMmioTransport } from './mmio-transport';
export { VirtioRng, RNG_MAX_REQUEST, RNG_QUEUE_SIZE } from './virtio-rng';
export { VirtioConsole, CONSOLE_QUEUE_SIZE, CONSOLE_RECEIVEQ, CONSOLE_TRANSMITQ } from './virtio-console';
export type { ConsoleSize } from './virtio-console';
