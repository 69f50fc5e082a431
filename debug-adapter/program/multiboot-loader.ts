// Placing a Multiboot kernel's image as a Multiboot loader does: from its ELF program headers, or —
// when the header carries address fields (v1 flag 16, "the a.out kludge"; v2 address + entry tags)
// — by those addresses, whatever the file's format (Multiboot 0.6.96 §3.1.3; Multiboot2 §3.1.5).
import { GuestImage, ImageError } from './guest-image';
import { isElf, loadElf } from './elf-loader';
import type { MultibootHeader } from './multiboot-header';

/** How the image was placed, for messages and `--json` ("ELF program headers", "a.out kludge"). */
export type MultibootFormat = 'elf' | 'aout-kludge';

export function loadMultibootImage(bytes: Uint8Array, path: string, header: MultibootHeader): { image: GuestImage; format: MultibootFormat } {
  const k = header.kludge;
  if (!k) {
    if (!isElf(bytes))
      throw new ImageError(`${path}: it has a Multiboot header but is not an ELF file and gives no load addresses (Multiboot flag 16 / a Multiboot2 address tag)`);
    const elf = loadElf(bytes, path);
    const entry = header.entryAddr ?? elf.entry;
    return { image: { ...elf, entry }, format: 'elf' };
  }
  const where = `${path}: the Multiboot header's address fields`;
  // v2: load_addr -1 means "the text segment starts at the beginning of the image".
  const fromStart = header.version === 2 && k.loadAddr === 0xffffffff;
  const loadAddr = fromStart ? k.headerAddr - header.offset : k.loadAddr;
  if (loadAddr > k.headerAddr) throw new ImageError(`${where}: load_addr 0x${loadAddr.toString(16)} is above header_addr 0x${k.headerAddr.toString(16)}`);
  const fileOffset = header.offset - (k.headerAddr - loadAddr);
  if (fileOffset < 0) throw new ImageError(`${where}: header_addr − load_addr (0x${(k.headerAddr - loadAddr).toString(16)}) reaches before the start of the file`);
  const loadEnd = k.loadEndAddr === 0 ? loadAddr + (bytes.length - fileOffset) : k.loadEndAddr;
  if (loadEnd < loadAddr || fileOffset + (loadEnd - loadAddr) > bytes.length)
    throw new ImageError(`${where}: load_end_addr 0x${loadEnd.toString(16)} asks for ${loadEnd - loadAddr} bytes from offset 0x${fileOffset.toString(16)}, past the end of the file (${bytes.length} bytes)`);
  const bssEnd = k.bssEndAddr === 0 ? loadEnd : k.bssEndAddr;
  if (bssEnd < loadEnd) throw new ImageError(`${where}: bss_end_addr 0x${bssEnd.toString(16)} is below load_end_addr 0x${loadEnd.toString(16)}`);
  const data = bytes.slice(fileOffset, fileOffset + (loadEnd - loadAddr));
  return {
    image: { kind: 'flat', path, segments: [{ address: loadAddr, data, memSize: bssEnd - loadAddr }], entry: k.entryAddr },
    format: 'aout-kludge',
  };
}
