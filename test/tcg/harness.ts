// Test harness for the software CPU: guest RAM, buses, counters and a TcgVcpu on the calling thread,
// plus a GNU-as helper that turns a small source into flat bytes at a given address.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as libc from '../../debug-adapter/vmm/libc';
import { MmioBus, PortBus, UnmappedAccess } from '../../debug-adapter/vmm/devices/bus';
import { ExitCounters } from '../../debug-adapter/vmm/exit-counters';
import { InterruptPlatform } from '../../debug-adapter/vmm/devices/interrupt-platform';
import { EntryPoint, initialState, writeModeTables } from '../../debug-adapter/vmm/cpu-modes';
import { TcgVcpu } from '../../debug-adapter/vmm/tcg/tcg-vcpu';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';

export const OUT_PORT = 0xf1;
export const IN_PORT = 0xf2;
export const IN_VALUE = 0x5a;

export interface Rig {
  vcpu: TcgVcpu;
  mem: Uint8Array;
  view: DataView;
  output: number[];
  counters: ExitCounters;
  ctl: Int32Array;
  unmapped: UnmappedAccess[];
  /** The MMIO bus, for tests that put a device on it. */
  mmio: MmioBus;
  mapping: libc.Mapping;
  close(): void;
}

export function makeRig(memSize = 2 << 20, ctlBuffer = new SharedArrayBuffer(16)): Rig {
  const mapping = libc.mmap(memSize, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_PRIVATE | libc.MAP_ANONYMOUS | libc.MAP_NORESERVE, -1, 'guest RAM');
  const mem = new Uint8Array(mapping.buffer);
  const output: number[] = [];
  const unmapped: UnmappedAccess[] = [];
  const ports = new PortBus((a) => unmapped.push(a));
  ports.register({ name: 'out', ioRead: () => 0, ioWrite: (_p, _s, v) => output.push(v) }, OUT_PORT);
  ports.register({ name: 'in', ioRead: () => IN_VALUE, ioWrite: () => undefined }, IN_PORT);
  const mmio = new MmioBus((a) => unmapped.push(a));
  const counters = new ExitCounters();
  const ctl = new Int32Array(ctlBuffer);
  const interrupts = new InterruptPlatform(() => {}); // the rig maps no APIC: nothing reports
  const vcpu = new TcgVcpu({}, { memory: mem, memoryAddress: mapping.address, ports, mmio, counters, ctl, interrupts, guestExit: { code: undefined } });
  return {
    vcpu, mem, view: new DataView(mapping.buffer), output, counters, ctl, unmapped, mmio, mapping,
    close() {
      vcpu.close();
      libc.munmap(mapping);
    },
  };
}

/** Writes the mode's tables and sets the initial state the way the monitor does. */
export function startIn(rig: Rig, mode: CpuMode, entry: EntryPoint): void {
  writeModeTables(rig.view, mode);
  const s = initialState(mode, entry, rig.vcpu.getState().sregs);
  rig.vcpu.setState(s.regs, s.sregs);
}

/** Assembles GNU as source (AT&T) linked at `org` into flat bytes; labels are absolute from `org`. */
export function assemble(source: string, org: number): Uint8Array {
  // A folder per call, removed at once (worker threads use this too: no exit hook to rely on).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcg-test-'));
  try {
    const base = path.join(tmp, 'g');
    fs.writeFileSync(`${base}.s`, source + '\n');
    execFileSync('as', ['--64', '-o', `${base}.o`, `${base}.s`]);
    execFileSync('ld', ['-m', 'elf_x86_64', '-Ttext=0x' + org.toString(16), '-e', '0x' + org.toString(16), '--oformat', 'binary', '-o', `${base}.bin`, `${base}.o`]);
    return new Uint8Array(fs.readFileSync(`${base}.bin`));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Assembles and copies into guest memory at `org` (guest-physical = linear in these tests). */
export function load(rig: Rig, source: string, org: number): void {
  rig.mem.set(assemble(source, org), org);
}
