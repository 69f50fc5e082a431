// Serving a KVM_EXIT_IO from the kvm_run area: one or many elements (string I/O may arrive as one
// exit with count > 1 on hardware KVM, or one exit per element elsewhere).
import { EXIT_IO, OFFSET } from './kvm-abi';
import type { PortBus } from '../devices/bus';
import type { ExitCounters } from '../exit-counters';

const O_DIR = OFFSET['kvm_run.io.direction'];
const O_SIZE = OFFSET['kvm_run.io.size'];
const O_PORT = OFFSET['kvm_run.io.port'];
const O_COUNT = OFFSET['kvm_run.io.count'];
const O_DATA = OFFSET['kvm_run.io.data_offset'];

export function serveIoExit(run8: Uint8Array, run: DataView, ports: PortBus, counters: ExitCounters): void {
  const dir = run8[O_DIR];
  const size = run8[O_SIZE];
  const port = run.getUint16(O_PORT, true);
  const count = run.getUint32(O_COUNT, true);
  let at = Number(run.getBigUint64(O_DATA, true));
  if (dir === EXIT_IO.KVM_EXIT_IO_OUT) {
    counters.portAccess(port, true, count);
    for (let i = 0; i < count; i++, at += size) {
      const v = size === 1 ? run8[at] : size === 2 ? run.getUint16(at, true) : run.getUint32(at, true);
      ports.write(port, size, v);
    }
  } else {
    counters.portAccess(port, false, count);
    for (let i = 0; i < count; i++, at += size) {
      const v = ports.read(port, size);
      if (size === 1) run8[at] = v;
      else if (size === 2) run.setUint16(at, v, true);
      else run.setUint32(at, v >>> 0, true);
    }
  }
}
