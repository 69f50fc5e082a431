// The files this monitor offers through fw_cfg's file directory (devices/fw-cfg.ts), in directory
// order (keys 0x0020 on). `etc/e820` has QEMU's name and format; the rest are this machine's own,
// under `etc/kvm-guest/`.
import type { FwCfgFile } from './devices/fw-cfg';
import { e820File } from './devices/fw-cfg';
import { MAX_MEMORY } from './guest-layout';
import { multibootMemoryMap } from './multiboot-info';

export function fwCfgFiles(memorySize: number, accelerator: string): FwCfgFile[] {
  const maxRam = new Uint8Array(8);
  new DataView(maxRam.buffer).setBigUint64(0, BigInt(MAX_MEMORY), true);
  return [
    // The machine's memory as Multiboot kernels see it: the monitor's region and the legacy hole reserved.
    { name: 'etc/e820', data: e820File(multibootMemoryMap(memorySize)) },
    // What runs the vCPU: "kvm" or "tcg" (ASCII, no NUL), for guests that report where they ran.
    { name: 'etc/kvm-guest/accelerator', data: Uint8Array.from(Buffer.from(accelerator, 'latin1')) },
    // The most RAM this machine can be given (--memory's upper limit), u64 little-endian.
    { name: 'etc/kvm-guest/max-ram', data: maxRam },
  ];
}
