// The KVM vCPU, in the worker thread: creates the vCPU, issues every vCPU ioctl, blocks in KVM_RUN
// and serves port-I/O and MMIO exits through the monitor's buses. This host's KVM quirks stay here:
// kvm_pvm loses the single-step trap and the execute-breakpoint check of the instruction after an
// exit to user space, and steps over a HLT instead of halting — the engine above never sees DR6.
import { EXIT, GUESTDBG, INTERNAL_ERROR, IOCTL, OFFSET, SIZE, SYNC } from './kvm-abi';
import { decodeRegs, decodeSRegs, encodeGuestDebug, encodeRegs, encodeSRegs, KvmSRegs } from './kvm-structs';
import * as libc from '../libc';
import { exitReasonName, internalSuberrorName } from './exit-reasons';
import { serveIoExit } from './io-exit';
import type { CpuState, Regs, SRegs } from '../cpu-state';
import { CR0_PG } from '../cpu-state';
import type { DebugArm, KickHandle, MemoryAccess, Vcpu, VcpuEnvironment, VcpuExit } from '../accelerator';
import { CTL, STOP_REQUEST } from '../vcpu-protocol';
import type { UnmappedAccess } from '../devices/bus';
import type { RedirectionInfo } from '../devices/ioapic';
import type { LocalApicInfo } from '../devices/local-apic';
import { isHalted, readKernelIoapic, readKernelLapic, wakeFromHalt } from './kernel-irqchip';
import { VcpuStats } from './vcpu-stats';
/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const ioLocator = (): typeof import('../io-access-locator') => require('../io-access-locator');

export interface KvmVcpuInit {
  vmFd: number;
  /** KVM's in-kernel LAPIC/I/O APIC/PIT serve the guest: HLT and APIC accesses never exit. */
  kernelIrqchip: boolean;
  vcpuMmapSize: number;
  /** KVM copies regs and sregs into kvm_run on every exit (KVM_CAP_SYNC_REGS): no ioctl to read them. */
  syncRegs: boolean;
  /** struct kvm_cpuid2 for KVM_SET_CPUID2 (cpuid.ts); undefined: KVM would not say what it supports. */
  cpuid?: Uint8Array;
}

const EINTR = 4;
const EAGAIN = 11;
const HLT = 0xf4;
const DR6_BS = 1n << 14n;
const MAX_HW_BREAKPOINTS = 4;

const O_SYNC_RIP = OFFSET['kvm_run.s.regs.regs'] + OFFSET['kvm_regs.rip'];
const O_SYNC_RSP = OFFSET['kvm_run.s.regs.regs'] + 6 * 8; // kvm_regs.rsp (REG_NAMES order)
const O_SYNC_CS_BASE = OFFSET['kvm_run.s.regs.sregs'] + OFFSET['kvm_sregs.cs'] + OFFSET['kvm_segment.base'];
const O_SYNC_CR0 = OFFSET['kvm_run.s.regs.sregs'] + OFFSET['kvm_sregs.cr0'];
const O_MMIO_ADDR = OFFSET['kvm_run.mmio.phys_addr'];
const O_MMIO_DATA = OFFSET['kvm_run.mmio.data'];
const O_MMIO_LEN = OFFSET['kvm_run.mmio.len'];
const O_MMIO_WRITE = OFFSET['kvm_run.mmio.is_write'];
const EXIT_REASON_INDEX = OFFSET['kvm_run.exit_reason'] / 4;
const IMMEDIATE_EXIT = OFFSET['kvm_run.immediate_exit'];
const REQUEST_INTERRUPT_WINDOW = OFFSET['kvm_run.request_interrupt_window'];
const READY_FOR_INJECTION = OFFSET['kvm_run.ready_for_interrupt_injection'];
const RFLAGS_IF = 1n << 9n;

/** DR0–DR3 execute breakpoints and DR7 enabling them (L0–L3, RW = execute, LEN = 1). */
function hardwareDebugRegs(addresses: bigint[]): bigint[] {
  const dr = Array<bigint>(8).fill(0n);
  let dr7 = 0x400n;
  addresses.forEach((a, i) => {
    dr[i] = a;
    dr7 |= 1n << BigInt(i * 2);
  });
  dr[7] = dr7;
  return dr;
}

export class KvmVcpu implements Vcpu {
  private readonly fd: number;
  private readonly runMap: libc.Mapping;
  private readonly run8: Uint8Array;
  private readonly run32: Uint32Array;
  private readonly runView: DataView;
  private readonly regsBuf = Buffer.alloc(SIZE.kvm_regs);
  private readonly sregsBuf = Buffer.alloc(SIZE.kvm_sregs);
  private arm: DebugArm = { breakpoints: [], singleStep: false, watches: [] };
  private armedBreakpoints = new Set<bigint>();
  private guestDebugKey = '';
  /** An I/O or MMIO exit was served and KVM has not yet completed the instruction. */
  private pending = false;
  private watchHit?: MemoryAccess;
  /** kvm_run's synced registers describe the vCPU: true after KVM_RUN returns, false after a set. */
  private syncValid = false;
  /** The guest is in the HLT state (IF = 1) waiting for an interrupt; a stop request left it there. */
  private inHalt = false;
  private readonly interruptBuf = Buffer.alloc(SIZE.kvm_interrupt);

  constructor(private readonly init: KvmVcpuInit, private readonly env: VcpuEnvironment) {
    this.fd = libc.ioctlInt(init.vmFd, IOCTL.KVM_CREATE_VCPU, 0, 'KVM_CREATE_VCPU');
    if (init.cpuid) libc.ioctlPtr(this.fd, IOCTL.KVM_SET_CPUID2, Buffer.from(init.cpuid), 'KVM_SET_CPUID2');
    this.runMap = libc.mmap(init.vcpuMmapSize, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, this.fd, 'mmap kvm_run');
    this.run8 = new Uint8Array(this.runMap.buffer);
    this.run32 = new Uint32Array(this.runMap.buffer);
    this.runView = new DataView(this.runMap.buffer);
    if (init.syncRegs)
      this.runView.setBigUint64(OFFSET['kvm_run.kvm_valid_regs'], BigInt(SYNC.KVM_SYNC_X86_REGS | SYNC.KVM_SYNC_X86_SREGS), true);
  }

  // --- state ----------------------------------------------------------------------------------------

  private getRegs(): Regs {
    libc.ioctlPtr(this.fd, IOCTL.KVM_GET_REGS, this.regsBuf, 'KVM_GET_REGS');
    return decodeRegs(this.regsBuf);
  }

  private getSRegs(): KvmSRegs {
    libc.ioctlPtr(this.fd, IOCTL.KVM_GET_SREGS, this.sregsBuf, 'KVM_GET_SREGS');
    return decodeSRegs(this.sregsBuf);
  }

  getState(): CpuState {
    return { regs: this.getRegs(), sregs: this.getSRegs() };
  }

  setState(regs?: Regs, sregs?: SRegs): void {
    if (sregs) {
      // Keep what only KVM has (pending interrupts) from the vCPU's own state.
      const full = { ...sregs, interrupt_bitmap: (sregs as Partial<KvmSRegs>).interrupt_bitmap ?? this.getSRegs().interrupt_bitmap };
      libc.ioctlPtr(this.fd, IOCTL.KVM_SET_SREGS, encodeSRegs(full, this.sregsBuf), 'KVM_SET_SREGS');
    }
    if (regs) {
      libc.ioctlPtr(this.fd, IOCTL.KVM_SET_REGS, encodeRegs(regs, this.regsBuf), 'KVM_SET_REGS');
      this.inHalt = false; // the debugger moved the CPU on
    }
    this.syncValid = false;
  }

  private get synced(): boolean {
    return this.init.syncRegs && this.syncValid;
  }

  pc(): bigint {
    if (this.synced) return this.runView.getBigUint64(O_SYNC_RIP, true) + this.runView.getBigUint64(O_SYNC_CS_BASE, true);
    return this.getRegs().rip + this.getSRegs().cs.base;
  }

  sp(): bigint {
    return this.synced ? this.runView.getBigUint64(O_SYNC_RSP, true) : this.getRegs().rsp;
  }

  private paging(): boolean {
    const cr0 = this.synced ? this.runView.getBigUint64(O_SYNC_CR0, true) : this.getSRegs().cr0;
    return (cr0 & CR0_PG) !== 0n;
  }

  translate(linear: bigint): bigint | null {
    const b = Buffer.alloc(SIZE.kvm_translation);
    b.writeBigUInt64LE(linear, OFFSET['kvm_translation.linear_address']);
    try {
      libc.ioctlPtr(this.fd, IOCTL.KVM_TRANSLATE, b, 'KVM_TRANSLATE');
    } catch {
      return null;
    }
    return b[OFFSET['kvm_translation.valid']] ? b.readBigUInt64LE(OFFSET['kvm_translation.physical_address']) : null;
  }

  /** The byte at a linear address through the guest's paging, or -1. */
  private byteAt(linear: bigint): number {
    const phys = this.paging() ? this.translate(linear) : linear;
    const mem = this.env.memory;
    return phys === null || phys >= BigInt(mem.length) ? -1 : mem[Number(phys)];
  }

  instructionBytes(): number[] {
    const { regs, sregs } = this.getState();
    const linear = sregs.cs.base + regs.rip;
    const phys = (sregs.cr0 & CR0_PG) !== 0n ? this.translate(linear) : linear;
    const mem = this.env.memory;
    if (phys === null || phys >= BigInt(mem.length)) return [];
    const at = Number(phys);
    return Array.from(mem.subarray(at, Math.min(at + 15, mem.length)));
  }

  /**
   * A read (IN, MMIO load) exits with RIP at the instruction, which completes once the data is in.
   * A write may exit with RIP after it: KVM's emulator completes an MMIO store before exiting, and
   * some hosts (kvm_pvm) skip an OUT before exiting; the instruction ending at RIP is checked first.
   */
  accessPc(access: UnmappedAccess): bigint {
    const state = this.getState();
    const pc = state.sregs.cs.base + state.regs.rip;
    if (!access.write) return pc;
    const paging = (state.sregs.cr0 & CR0_PG) !== 0n;
    const rip = ioLocator().locateAtOrBefore(state, {
      fetch: (linear, n) => {
        const out: number[] = [];
        for (let i = 0n; i < BigInt(n); i++) {
          const b = this.byteAt(linear + i);
          if (b < 0) break;
          out.push(b);
        }
        return out;
      },
      toPhysical: (linear) => (paging ? this.translate(linear) : linear),
    }, access);
    return rip === undefined ? pc : state.sregs.cs.base + rip;
  }

  // --- debugging ------------------------------------------------------------------------------------

  setDebug(arm: DebugArm): void {
    if (arm.breakpoints.length > MAX_HW_BREAKPOINTS)
      throw new Error(`KVM arms at most ${MAX_HW_BREAKPOINTS} breakpoints (DR0–DR3); the debug engine scans beyond that`);
    if (arm.watches.some((w) => w.kind !== 'write')) throw new Error('KVM watches writes only (read-only memory slots)');
    this.arm = arm;
    this.armedBreakpoints = new Set(arm.breakpoints);
    this.applyGuestDebug(arm.singleStep);
  }

  private applyGuestDebug(step: boolean): void {
    const hw = this.arm.breakpoints.length > 0;
    const control =
      (step || hw ? GUESTDBG.KVM_GUESTDBG_ENABLE : 0) |
      (step ? GUESTDBG.KVM_GUESTDBG_SINGLESTEP : 0) |
      (hw ? GUESTDBG.KVM_GUESTDBG_USE_HW_BP : 0);
    const regs = hw ? hardwareDebugRegs(this.arm.breakpoints) : [];
    const key = `${control}:${regs.join(',')}`;
    if (key === this.guestDebugKey) return;
    libc.ioctlPtr(this.fd, IOCTL.KVM_SET_GUEST_DEBUG, encodeGuestDebug(control, regs), 'KVM_SET_GUEST_DEBUG');
    this.guestDebugKey = key;
  }

  private get debugging(): boolean {
    return this.arm.singleStep || this.arm.breakpoints.length > 0;
  }

  // --- running --------------------------------------------------------------------------------------

  /** Lets KVM finish an I/O or MMIO instruction whose exit was served, so registers are final. */
  private completePending(): void {
    this.run8[IMMEDIATE_EXIT] = 1;
    libc.rawIoctlInt(this.fd, IOCTL.KVM_RUN, 0);
    this.run8[IMMEDIATE_EXIT] = 0;
    this.pending = false;
    this.syncValid = true;
  }

  private handleMmio(): void {
    const { run8, runView, env } = this;
    const address = Number(runView.getBigUint64(O_MMIO_ADDR, true));
    const len = Math.min(runView.getUint32(O_MMIO_LEN, true), 8);
    const write = run8[O_MMIO_WRITE] !== 0;
    const data = run8.subarray(O_MMIO_DATA, O_MMIO_DATA + len);
    if (write && address + len <= env.memory.length) {
      // RAM behind a read-only slot: a write watch. Do the write the slot refused, then check it.
      env.memory.set(data, address);
      for (const w of this.arm.watches)
        if (address < w.end && w.start < address + len) this.watchHit = { address, length: len, write: true, data: Array.from(data) };
      return;
    }
    env.counters.mmioAccess(address, write);
    if (write) env.mmio.write(address, data);
    else env.mmio.read(address, data);
  }

  /**
   * After a served I/O or MMIO exit while debugging: the instruction counts as executed (kvm_pvm
   * would lose its single-step trap or the breakpoint check of the next instruction), so it is
   * completed here and judged at the new PC.
   */
  private afterUserExit(): VcpuExit | null {
    if (this.watchHit) {
      const access = this.watchHit;
      this.watchHit = undefined;
      this.completePending();
      return { kind: 'watch', pc: this.pc(), access };
    }
    if (!this.debugging) return null;
    this.completePending();
    const pc = this.pc();
    if (this.arm.singleStep) return { kind: 'step', pc };
    if (this.armedBreakpoints.has(pc)) return { kind: 'breakpoint', pc };
    return null;
  }

  /**
   * The monitor's local APIC is the interrupt controller (no in-kernel irqchip, so HLT and the APIC
   * reach user space as on the software CPU): a pending vector is injected with KVM_INTERRUPT when
   * KVM says the guest can take it, else KVM is asked to exit when the interrupt window opens.
   */
  private offerInterrupt(): void {
    const { run8, env } = this;
    if (this.init.kernelIrqchip) return; // KVM's LAPIC injects by itself
    if (env.interrupts.pending() === undefined) {
      run8[REQUEST_INTERRUPT_WINDOW] = 0;
      return;
    }
    if (run8[READY_FOR_INJECTION] && this.getRegs().rflags & RFLAGS_IF) {
      const vector = env.interrupts.acknowledge();
      if (vector !== undefined) {
        this.interruptBuf.writeUInt32LE(vector, 0);
        libc.ioctlPtr(this.fd, IOCTL.KVM_INTERRUPT, this.interruptBuf, 'KVM_INTERRUPT');
        env.counters.add('INTERRUPT');
      }
    }
    run8[REQUEST_INTERRUPT_WINDOW] = env.interrupts.pending() !== undefined ? 1 : 0;
  }

  run(): VcpuExit {
    const { fd, run8, run32, runView, env } = this;
    const runIoctl = libc.rawIoctlInt;
    const KVM_RUN = IOCTL.KVM_RUN;
    for (;;) {
      if (Atomics.load(env.ctl, CTL.STOP) !== STOP_REQUEST.NONE) {
        if (this.pending) this.completePending();
        run8[IMMEDIATE_EXIT] = 0;
        return { kind: 'kicked' };
      }
      if (this.inHalt) {
        const w = env.interrupts.idle(env.ctl);
        if (w === 'kicked') continue;
        this.inHalt = false;
        if (w === 'never') return { kind: 'halt' };
      }
      this.offerInterrupt();
      // Single-stepping a HLT does not halt on every KVM (kvm_pvm steps past it): run a HLT unstepped.
      if (this.arm.singleStep) this.applyGuestDebug(this.byteAt(this.pc()) !== HLT);
      const r = runIoctl(fd, KVM_RUN, 0);
      this.syncValid = true; // KVM stores the synced registers on every return from KVM_RUN
      if (r < 0) {
        const e = libc.errno();
        if (e === EINTR || e === EAGAIN) {
          this.pending = false; // KVM completes pending I/O before it honours immediate_exit or a signal
          // A kick: a stop request (seen at the top of the loop), the device thread's halt check, or
          // typed input for the monitor's devices to take while the guest runs.
          run8[IMMEDIATE_EXIT] = 0;
          if (this.init.kernelIrqchip) {
            const halted = this.haltedInKernel();
            if (halted) return halted;
          } else env.interrupts.poll?.();
          continue;
        }
        return { kind: 'run-error', errno: new libc.SysError('KVM_RUN', e).code };
      }
      const reason = run32[EXIT_REASON_INDEX];
      switch (reason) {
        case EXIT.KVM_EXIT_IO:
        case EXIT.KVM_EXIT_MMIO: {
          if (reason === EXIT.KVM_EXIT_IO) serveIoExit(run8, runView, env.ports, env.counters);
          else {
            this.handleMmio();
            // A device access may have just readied a queue for input that is already waiting.
            env.interrupts.poll?.();
          }
          this.pending = true;
          if (env.guestExit.code !== undefined) {
            // isa-debug-exit: the OUT completes (RIP after it), and the machine ends there.
            this.completePending();
            return { kind: 'guest-exit', code: env.guestExit.code };
          }
          const stop = this.afterUserExit();
          if (stop) return stop;
          continue;
        }
        case EXIT.KVM_EXIT_INTR:
          this.pending = false;
          continue;
        case EXIT.KVM_EXIT_HLT: {
          env.counters.add('HLT');
          // HLT with IF = 1 sleeps until an interrupt comes, if anything can raise one.
          if (!(this.getRegs().rflags & RFLAGS_IF)) return { kind: 'halt' };
          const w = env.interrupts.idle(env.ctl);
          if (w === 'never') return { kind: 'halt' };
          if (w === 'kicked') this.inHalt = true;
          continue;
        }
        case EXIT.KVM_EXIT_IRQ_WINDOW_OPEN:
          env.counters.add('IRQ_WINDOW_OPEN');
          continue;
        case EXIT.KVM_EXIT_SHUTDOWN:
          env.counters.add('SHUTDOWN');
          return { kind: 'shutdown', detail: 'KVM_EXIT_SHUTDOWN' };
        case EXIT.KVM_EXIT_FAIL_ENTRY:
          env.counters.add('FAIL_ENTRY');
          return { kind: 'entry-failure', hardwareReason: runView.getBigUint64(OFFSET['kvm_run.fail_entry.hardware_entry_failure_reason'], true) };
        case EXIT.KVM_EXIT_DEBUG: {
          this.pending = false;
          const exception = runView.getUint32(OFFSET['kvm_run.debug.arch.exception'], true);
          const pc = runView.getBigUint64(OFFSET['kvm_run.debug.arch.pc'], true);
          const dr6 = runView.getBigUint64(OFFSET['kvm_run.debug.arch.dr6'], true);
          if ((dr6 & 0xfn) !== 0n && this.arm.breakpoints.length > 0) return { kind: 'breakpoint', pc };
          if (this.arm.singleStep && ((dr6 & DR6_BS) !== 0n || exception === 1)) {
            if (this.armedBreakpoints.has(pc)) return { kind: 'breakpoint', pc };
            return { kind: 'step', pc };
          }
          return { kind: 'debug', exception, pc };
        }
        case EXIT.KVM_EXIT_INTERNAL_ERROR:
          env.counters.add('INTERNAL_ERROR');
          return this.internalError();
        default:
          env.counters.add(exitReasonName(reason));
          return { kind: 'unhandled', reason, name: `KVM_EXIT_${exitReasonName(reason)}` };
      }
    }
  }

  /**
   * With KVM's LAPIC a HLT sleeps inside KVM_RUN. Halted with IF = 0 nothing can wake the guest: the
   * run ends 'halt', and the vCPU is made runnable so that a later run goes on after the HLT, as
   * after a KVM_EXIT_HLT. Halted with IF = 1 it waits for its interrupt (stepping resumes after it).
   */
  private haltedInKernel(): VcpuExit | undefined {
    if (!isHalted(this.fd)) return undefined;
    if (this.getRegs().rflags & RFLAGS_IF) {
      if (this.arm.singleStep) this.applyGuestDebug(true);
      return undefined;
    }
    wakeFromHalt(this.fd);
    return { kind: 'halt' };
  }

  kernelInterruptControllers(keep: (pin: number) => boolean): { ioapic: RedirectionInfo[]; lapic: LocalApicInfo } | undefined {
    if (!this.init.kernelIrqchip) return undefined;
    return { ioapic: readKernelIoapic(this.init.vmFd, keep), lapic: readKernelLapic(this.fd) };
  }

  private statsFd?: number;

  /** The vCPU's statistics fd, for the device thread's halt checks (vcpu-stats.ts); closed with the vCPU. */
  statisticsFd(): number | undefined {
    this.statsFd ??= VcpuStats.fdOf(this.fd);
    return this.statsFd;
  }

  private internalError(): VcpuExit {
    const { runView, run8 } = this;
    const suberror = runView.getUint32(OFFSET['kvm_run.internal.suberror'], true);
    const ndata = Math.min(runView.getUint32(OFFSET['kvm_run.internal.ndata'], true), 16);
    const data: bigint[] = [];
    for (let i = 0; i < ndata; i++) data.push(runView.getBigUint64(OFFSET['kvm_run.internal.data'] + i * 8, true));
    let instructionBytes: number[] | undefined;
    if (suberror === INTERNAL_ERROR.KVM_INTERNAL_ERROR_EMULATION) {
      const flags = ndata > 0 ? data[0] : 0n;
      const size = run8[OFFSET['kvm_run.emulation_failure.insn_size']];
      const at = OFFSET['kvm_run.emulation_failure.insn_bytes'];
      instructionBytes =
        flags & BigInt(INTERNAL_ERROR.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) && size > 0
          ? Array.from(run8.subarray(at, at + Math.min(size, 15)))
          : this.instructionBytes();
    }
    return { kind: 'internal-error', message: `KVM internal error: ${internalSuberrorName(suberror)}`, suberror, data, instructionBytes };
  }

  kickHandle(): KickHandle {
    return { kind: 'kvm', tid: libc.gettid(), runAddress: this.runMap.address };
  }

  describe(): Record<string, string> {
    return {
      'run area': `kvm_run at 0x${this.runMap.address.toString(16)} (${this.init.vcpuMmapSize} bytes, mmap of the vCPU fd)`,
      'register access': this.init.syncRegs ? 'KVM_CAP_SYNC_REGS (regs and sregs in kvm_run at every exit)' : 'KVM_GET_REGS / KVM_GET_SREGS',
    };
  }

  close(): void {
    if (this.statsFd !== undefined) libc.close(this.statsFd);
    libc.munmap(this.runMap);
    libc.close(this.fd);
  }
}
