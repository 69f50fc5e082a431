// The guest-visible virtio numbers, in one place so guests/include/kvm-guest.h can mirror them:
// the virtio-mmio register map (version 2, "modern"), device status bits, feature bits, device
// ids and the split-virtqueue layout. Values are from the virtio 1.2 specification (§2.1, §2.7,
// §4.2.2, §5.3, §5.4, §6).

/** Bytes of each device's MMIO window (registers 0x000..0x0ff, device config from 0x100). */
export const VIRTIO_MMIO_WINDOW = 0x200;

export const VIRTIO_MMIO_MAGIC = 0x74726976; // "virt" little-endian
export const VIRTIO_MMIO_VERSION = 2;
/** "QEMU" little-endian: the vendor id Linux and most bare-metal drivers already know. */
export const VIRTIO_MMIO_VENDOR_ID = 0x554d4551;

/** Register offsets within the window (§4.2.2). All registers are 32 bits wide. */
export const VIRTIO_MMIO = {
  MAGIC_VALUE: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  SHM_SEL: 0x0ac,
  SHM_LEN_LOW: 0x0b0,
  SHM_LEN_HIGH: 0x0b4,
  SHM_BASE_LOW: 0x0b8,
  SHM_BASE_HIGH: 0x0bc,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** Device status bits (§2.1). */
export const VIRTIO_STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** InterruptStatus / InterruptACK bits (§4.2.2). */
export const VIRTIO_INT_USED_BUFFER = 1;
export const VIRTIO_INT_CONFIG_CHANGE = 2;

/** Transport feature bit numbers (§6); device-type bits are 0..23. */
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** virtio-console feature bit numbers (§5.3.3). MULTIPORT (1) is not offered. */
export const VIRTIO_CONSOLE_F_SIZE = 0;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;

/** Device ids (§5). */
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;

/** Split virtqueue descriptor flags (§2.7.5) and ring flags (§2.7.6, §2.7.8). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Bytes of one descriptor; the avail ring is 6 + 2·N bytes, the used ring 6 + 8·N (with the event fields). */
export const VIRTQ_DESC_SIZE = 16;
export const VIRTQ_USED_ELEM_SIZE = 8;
/** Alignments the spec requires of the three areas (§2.7, table "Virtqueue Part Alignment"). */
export const VIRTQ_DESC_ALIGN = 16;
export const VIRTQ_AVAIL_ALIGN = 2;
export const VIRTQ_USED_ALIGN = 4;
/** The largest queue size the split ring allows (§2.7: Queue Size ≤ 32768). */
export const VIRTQ_MAX_SIZE = 32768;

/** Bit mask of a feature bit number. */
export function featureBit(bit: number): bigint {
  return 1n << BigInt(bit);
}
