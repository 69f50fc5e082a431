// The ppc64 machine on KVM, for POWER hosts (kvm-hv or kvm-pr) only: the PowerPC 64 seed's own
// sequence — KVM_CREATE_VM, one memory slot at guest-physical 0, KVM_CREATE_VCPU, KVM_GET_SREGS then
// KVM_SET_SREGS with PVR 0x004d0200 and SDR1 0x3fff80400004, KVM_SET_REGS with PC and MSR, KVM_RUN —
// plus the output port (KVM_EXIT_MMIO writes at OUTPUT_PORT) and a stop report for any other exit.
//
// NOT TESTED: these machines are x86-64, and KVM runs only guests of the host's architecture. The
// layouts below follow <linux/kvm.h> and arch/powerpc/include/uapi/asm/{kvm,ioctl}.h, and
// test/ppc64/kvm-layout.test.ts checks every number against Debian's powerpc kernel headers
// (linux-libc-dev-ppc64el-cross) compiled on this host. Run
// the seed on a POWER host with `kvm-guest run guests/ppc64/seed.s --accel kvm` before relying on it.
import os from 'node:os';
import * as libc from '../libc';
import type { GuestImage } from '../../program/guest-image';
import type { Ppc64Regs } from './ppc64-state';
import { zeroPpc64Regs } from './ppc64-state';
import { OUTPUT_PORT } from './ppc64-layout';
import type { Endian, Ppc64Stop } from './ppc64-machine';
import { initialMsr } from './ppc64-machine';

/** PowerPC's _IOC encoding differs from x86's: 13 size bits, 3 direction bits, NONE = 1, READ = 2, WRITE = 4. */
export function ppcIoc(dir: 'none' | 'read' | 'write', nr: number, size = 0): number {
  const d = dir === 'none' ? 1 : dir === 'read' ? 2 : 4;
  return ((d << 29) | (size << 16) | (0xae << 8) | nr) >>> 0;
}

/** struct kvm_regs (powerpc): pc cr ctr lr xer msr srr0 srr1 pid sprg0–7 (17 × 8 bytes), then gpr[32]; all __u64. */
export const PPC_KVM_REGS = { SIZE: 392, PC: 0, CR: 8, CTR: 16, LR: 24, XER: 32, MSR: 40, GPR: 136 } as const;
/** struct kvm_sregs (powerpc): __u32 pvr, then an 8-aligned union whose largest member (u.s: sdr1, slb[64], ppc32) is 1224 bytes. */
export const PPC_KVM_SREGS = { SIZE: 1232, PVR: 0, SDR1: 8 } as const;
/** struct kvm_userspace_memory_region: slot, flags, guest_phys_addr, memory_size, userspace_addr. */
const REGION = { SIZE: 32, SLOT: 0, FLAGS: 4, GPA: 8, SIZE_FIELD: 16, UADDR: 24 } as const;
/** struct kvm_run: exit_reason at 8; the exit union at 32 (mmio: phys_addr, data[8], len, is_write). */
export const PPC_KVM_RUN = { EXIT_REASON: 8, MMIO_ADDR: 32, MMIO_DATA: 40, MMIO_LEN: 48, MMIO_IS_WRITE: 52 } as const;

export const PPC_KVM_IOCTL = {
  GET_API_VERSION: ppcIoc('none', 0x00),
  CREATE_VM: ppcIoc('none', 0x01),
  GET_VCPU_MMAP_SIZE: ppcIoc('none', 0x04),
  CREATE_VCPU: ppcIoc('none', 0x41),
  SET_USER_MEMORY_REGION: ppcIoc('write', 0x46, REGION.SIZE),
  RUN: ppcIoc('none', 0x80),
  GET_REGS: ppcIoc('read', 0x81, PPC_KVM_REGS.SIZE),
  SET_REGS: ppcIoc('write', 0x82, PPC_KVM_REGS.SIZE),
  GET_SREGS: ppcIoc('read', 0x83, PPC_KVM_SREGS.SIZE),
  SET_SREGS: ppcIoc('write', 0x84, PPC_KVM_SREGS.SIZE),
} as const;

/** The seed's values (vm.c): a POWER8's PVR and the SDR1 QEMU uses. */
export const SEED_PVR = 0x004d0200;
export const SEED_SDR1 = 0x3fff80400004n;

const EXIT_NAMES: Record<number, string> = {
  0: 'KVM_EXIT_UNKNOWN', 4: 'KVM_EXIT_DEBUG', 6: 'KVM_EXIT_MMIO', 8: 'KVM_EXIT_SHUTDOWN', 9: 'KVM_EXIT_FAIL_ENTRY',
  17: 'KVM_EXIT_INTERNAL_ERROR', 19: 'KVM_EXIT_PAPR_HCALL',
};
const KVM_EXIT_MMIO = 6;

export interface Ppc64KvmOptions {
  image: GuestImage;
  memorySize: number;
  endian: Endian;
  entry: bigint;
  /** The first address after the program's code (as on the software CPU). */
  programEnd: bigint;
}

export class Ppc64KvmMachine {
  readonly label = 'KVM (POWER host)';
  private readonly le = os.endianness() === 'LE';
  private readonly kvm: number;
  private readonly vm: number;
  private readonly vcpu: number;
  private readonly memory: libc.Mapping;
  private readonly runArea: libc.Mapping;
  private readonly run: DataView;
  private outputListeners: ((bytes: Uint8Array) => void)[] = [];
  outputBytes = 0;

  constructor(readonly options: Ppc64KvmOptions) {
    this.kvm = libc.open('/dev/kvm', libc.O_RDWR | libc.O_CLOEXEC);
    this.vm = libc.ioctlInt(this.kvm, PPC_KVM_IOCTL.CREATE_VM, 0, 'KVM_CREATE_VM');
    // MAP_PRIVATE | MAP_ANONYMOUS have the same values on powerpc; MAP_NORESERVE does not, so it is left out.
    this.memory = libc.mmap(options.memorySize, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_PRIVATE | libc.MAP_ANONYMOUS, -1, 'mmap of guest memory');
    const bytes = new Uint8Array(this.memory.buffer);
    for (const seg of options.image.segments) bytes.set(seg.data, seg.address);
    const region = Buffer.alloc(REGION.SIZE);
    region.writeUInt32LE(0, REGION.SLOT);
    this.put64(region, REGION.GPA, 0n);
    this.put64(region, REGION.SIZE_FIELD, BigInt(options.memorySize));
    this.put64(region, REGION.UADDR, this.memory.address);
    libc.ioctlPtr(this.vm, PPC_KVM_IOCTL.SET_USER_MEMORY_REGION, region, 'KVM_SET_USER_MEMORY_REGION');
    this.vcpu = libc.ioctlInt(this.vm, PPC_KVM_IOCTL.CREATE_VCPU, 0, 'KVM_CREATE_VCPU');
    const runSize = libc.ioctlInt(this.kvm, PPC_KVM_IOCTL.GET_VCPU_MMAP_SIZE, 0, 'KVM_GET_VCPU_MMAP_SIZE');
    this.runArea = libc.mmap(runSize, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, this.vcpu, 'mmap of kvm_run');
    this.run = new DataView(this.runArea.buffer);
    // As the seed: read the special registers, set the PVR and SDR1, write them back.
    const sregs = Buffer.alloc(PPC_KVM_SREGS.SIZE);
    libc.ioctlPtr(this.vcpu, PPC_KVM_IOCTL.GET_SREGS, sregs, 'KVM_GET_SREGS');
    if (this.le) sregs.writeUInt32LE(SEED_PVR, PPC_KVM_SREGS.PVR);
    else sregs.writeUInt32BE(SEED_PVR, PPC_KVM_SREGS.PVR);
    this.put64(sregs, PPC_KVM_SREGS.SDR1, SEED_SDR1);
    libc.ioctlPtr(this.vcpu, PPC_KVM_IOCTL.SET_SREGS, sregs, 'KVM_SET_SREGS');
    // Then the registers: all zero but PC and MSR (64-bit, + LE for little-endian guests).
    const regs = Buffer.alloc(PPC_KVM_REGS.SIZE);
    this.put64(regs, PPC_KVM_REGS.PC, options.entry);
    this.put64(regs, PPC_KVM_REGS.MSR, initialMsr(options.endian));
    libc.ioctlPtr(this.vcpu, PPC_KVM_IOCTL.SET_REGS, regs, 'KVM_SET_REGS');
  }

  private put64(b: Buffer, at: number, v: bigint): void {
    if (this.le) b.writeBigUInt64LE(v, at);
    else b.writeBigUInt64BE(v, at);
  }

  private get64(b: Buffer, at: number): bigint {
    return this.le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at);
  }

  onOutput(listener: (bytes: Uint8Array) => void): void {
    this.outputListeners.push(listener);
  }

  state(): Ppc64Regs {
    const b = Buffer.alloc(PPC_KVM_REGS.SIZE);
    libc.ioctlPtr(this.vcpu, PPC_KVM_IOCTL.GET_REGS, b, 'KVM_GET_REGS');
    const r = zeroPpc64Regs();
    for (let i = 0; i < 32; i++) r.gpr[i] = this.get64(b, PPC_KVM_REGS.GPR + 8 * i);
    r.pc = this.get64(b, PPC_KVM_REGS.PC);
    r.msr = this.get64(b, PPC_KVM_REGS.MSR);
    r.lr = this.get64(b, PPC_KVM_REGS.LR);
    r.ctr = this.get64(b, PPC_KVM_REGS.CTR);
    r.cr = Number(this.get64(b, PPC_KVM_REGS.CR) & 0xffffffffn);
    r.xer = this.get64(b, PPC_KVM_REGS.XER);
    return r;
  }

  /** KVM_RUN until an exit other than an output-port write; blocks this thread while the guest runs. */
  runToExit(): Ppc64Stop {
    for (;;) {
      libc.ioctlInt(this.vcpu, PPC_KVM_IOCTL.RUN, 0, 'KVM_RUN');
      const reason = this.run.getUint32(PPC_KVM_RUN.EXIT_REASON, this.le);
      if (reason === KVM_EXIT_MMIO && this.run.getUint8(PPC_KVM_RUN.MMIO_IS_WRITE) === 1 && this.run.getBigUint64(PPC_KVM_RUN.MMIO_ADDR, this.le) === BigInt(OUTPUT_PORT)) {
        const byte = this.run.getUint8(PPC_KVM_RUN.MMIO_DATA);
        this.outputBytes++;
        for (const l of this.outputListeners) l(new Uint8Array([byte]));
        continue;
      }
      const pc = this.state().pc;
      const name = EXIT_NAMES[reason] ?? `exit reason ${reason}`;
      const why = `${name} (exit reason 0x${reason.toString(16)}) at PC 0x${pc.toString(16)}`;
      // The seed's guest ends this way: it runs into the zeros after its code, and KVM returns
      // exit reason 0 ("exit reason: 0x0" in the seed's output). Where the PC is past the program's
      // end, that is the end the software CPU reports too.
      if (pc >= this.options.programEnd && pc < BigInt(this.options.memorySize))
        return { reason: 'end-of-program', pc, message: `ran off the end of the program at 0x${this.options.programEnd.toString(16)}: KVM stopped it with ${why}` };
      return { reason: 'interrupt', pc, message: `KVM stopped the guest: ${why}` };
    }
  }

  /** A copy of guest-physical bytes. */
  read(address: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer).slice(address, address + length);
  }

  close(): void {
    libc.munmap(this.runArea);
    libc.close(this.vcpu);
    libc.close(this.vm);
    libc.close(this.kvm);
    libc.munmap(this.memory);
  }
}
