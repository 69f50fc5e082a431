// What gets placed in guest memory: segments with bytes and zero-filled tails, and an entry point.

export interface ImageSegment {
  /** Guest-physical load address. */
  address: number;
  data: Uint8Array;
  /** Bytes occupied in memory (>= data.length; the rest is zeroed, like .bss). */
  memSize: number;
}

export interface GuestImage {
  kind: 'elf32' | 'elf64' | 'flat';
  path: string;
  segments: ImageSegment[];
  /** e_entry for ELF images. */
  entry?: number;
  /** ELF e_machine: 3 (i386) or 62 (x86-64). */
  machine?: number;
}

/** A bad image file: the message names the file and what is wrong with it. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}
