// The vCPU worker thread: it creates the vCPU, issues every vCPU ioctl, blocks in KVM_RUN and
// serves port-I/O and MMIO exits itself (devices live here so an exit never crosses threads).
// The main thread talks to it through messages (one command at a time) and the control block.
import { parentPort } from 'node:worker_threads';
import { EXIT, GUESTDBG, INTERNAL_ERROR, IOCTL, OFFSET, SIZE, SYNC } from './kvm-abi';
import { decodeRegs, decodeSRegs, encodeGuestDebug, encodeRegs, encodeSRegs, Regs, SRegs } from './kvm-structs';
import * as libc from './libc';
import { initialState } from './cpu-modes';
import { exitReasonName } from './exit-reasons';
import { MmioBus, PortBus, UnmappedAccess } from './devices/bus';
import { ByteSink, ByteSource, Uart16550, UART_COM1 } from './devices/uart16550';
import { DebugConsolePort, DEBUG_CONSOLE_PORT, PostCodePort, POST_CODE_PORT, PseudoSerialPort, PSEUDO_SERIAL_PORT } from './devices/output-ports';
import { ByteRing } from './byte-ring';
import { PortCounters, serveIoExit } from './io-exit';
import { CTL, DebugRun, ExitStats, OutputDevice, STOP_REQUEST, StopInfo, StopReason, WorkerInit, WorkerRequest, WorkerResponse } from './vcpu-protocol';

const EINTR = 4;
const EAGAIN = 11;

const port = parentPort!;
const post = (m: WorkerResponse): void => port.postMessage(m);

// The worker boots (Node + koffi) before any VM exists, so a pre-started one is ready at once; the
// VM arrives with the 'init' message.
port.once('message', (init: WorkerInit) => {
  try {
    serve(init);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});
post({ type: 'booted' });

function serve(init: WorkerInit): void {

  const ctl = new Int32Array(init.ctl);
  const outRing = new ByteRing(init.output);
  const inRing = new ByteRing(init.input);

  // --- the vCPU and its kvm_run area -------------------------------------------------------------
  const vcpuFd = libc.ioctlInt(init.vmFd, IOCTL.KVM_CREATE_VCPU, 0, 'KVM_CREATE_VCPU');
  const runMap = libc.mmap(init.vcpuMmapSize, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, vcpuFd, 'mmap kvm_run');
  const run8 = new Uint8Array(runMap.buffer);
  const run32 = new Uint32Array(runMap.buffer);
  const runView = new DataView(runMap.buffer);
  const EXIT_REASON_INDEX = OFFSET['kvm_run.exit_reason'] / 4;
  const IMMEDIATE_EXIT = OFFSET['kvm_run.immediate_exit'];
  const mem = new Uint8Array(libc.viewAt(init.memAddress, init.memSize));
  if (init.syncRegs) runView.setBigUint64(OFFSET['kvm_run.kvm_valid_regs'], BigInt(SYNC.KVM_SYNC_X86_REGS | SYNC.KVM_SYNC_X86_SREGS), true);
  const O_SYNC_RIP = OFFSET['kvm_run.s.regs.regs'] + OFFSET['kvm_regs.rip'];
  const O_SYNC_CS_BASE = OFFSET['kvm_run.s.regs.sregs'] + OFFSET['kvm_sregs.cs'] + OFFSET['kvm_segment.base'];
  const O_SYNC_CR0 = OFFSET['kvm_run.s.regs.sregs'] + OFFSET['kvm_sregs.cr0'];
  const O_SYNC_RSP = OFFSET['kvm_run.s.regs.regs'] + 6 * 8; // kvm_regs.rsp (REG_NAMES order)

  const regsBuf = Buffer.alloc(SIZE.kvm_regs);
  const sregsBuf = Buffer.alloc(SIZE.kvm_sregs);

  function getRegs(): Regs {
    libc.ioctlPtr(vcpuFd, IOCTL.KVM_GET_REGS, regsBuf, 'KVM_GET_REGS');
    return decodeRegs(regsBuf);
  }
  function getSRegs(): SRegs {
    libc.ioctlPtr(vcpuFd, IOCTL.KVM_GET_SREGS, sregsBuf, 'KVM_GET_SREGS');
    return decodeSRegs(sregsBuf);
  }
  function setRegs(r: Regs): void {
    libc.ioctlPtr(vcpuFd, IOCTL.KVM_SET_REGS, encodeRegs(r, regsBuf), 'KVM_SET_REGS');
  }
  function setSRegs(s: SRegs): void {
    libc.ioctlPtr(vcpuFd, IOCTL.KVM_SET_SREGS, encodeSRegs(s, sregsBuf), 'KVM_SET_SREGS');
  }

  {
    const start = initialState(init.mode, init.entry, getSRegs());
    setSRegs(start.sregs);
    setRegs(start.regs);
  }

  // --- devices -----------------------------------------------------------------------------------
  function sinkFor(device: OutputDevice): ByteSink {
    if (!init.outputDevices.includes(device)) return { write() {} };
    return {
      write(b: number) {
        while (!outRing.writeByte(b)) outRing.waitForSpace(50);
      },
    };
  }
  const input: ByteSource = { read: () => inRing.readByte(), available: () => inRing.pending() > 0 };

  function reportUnmapped(access: UnmappedAccess): void {
    const r = getRegs();
    const s = getSRegs();
    post({ type: 'unmapped', access, rip: r.rip, csBase: s.cs.base });
  }
  const ports = new PortBus(reportUnmapped);
  const mmio = new MmioBus(reportUnmapped);
  ports.register(new Uart16550(UART_COM1, sinkFor('uart'), input, 'uart16550 (COM1 0x3f8)'), UART_COM1, 8);
  ports.register(new DebugConsolePort(sinkFor('debugcon')), DEBUG_CONSOLE_PORT);
  ports.register(new PseudoSerialPort(sinkFor('pseudo-serial'), input), PSEUDO_SERIAL_PORT);
  ports.register(new PostCodePort(), POST_CODE_PORT);

  // --- statistics ----------------------------------------------------------------------------------
  const exitCounts = new Float64Array(64);
  const portCounters: PortCounters = { in: new Uint32Array(0x10000), out: new Uint32Array(0x10000) };
  const mmioCounts = new Map<number, { read: number; write: number }>();

  function stats(): ExitStats {
    const exits: Record<string, number> = {};
    let total = 0;
    exitCounts.forEach((n, reason) => {
      if (n > 0) {
        exits[exitReasonName(reason)] = n;
        total += n;
      }
    });
    const portStats: ExitStats['ports'] = {};
    for (let p = 0; p < 0x10000; p++)
      if (portCounters.in[p] || portCounters.out[p]) portStats[p] = { in: portCounters.in[p], out: portCounters.out[p] };
    return { exits, ports: portStats, mmio: Object.fromEntries(mmioCounts), total };
  }

  // --- exit handlers -------------------------------------------------------------------------------
  const O_MMIO_ADDR = OFFSET['kvm_run.mmio.phys_addr'];
  const O_MMIO_DATA = OFFSET['kvm_run.mmio.data'];
  const O_MMIO_LEN = OFFSET['kvm_run.mmio.len'];
  const O_MMIO_WRITE = OFFSET['kvm_run.mmio.is_write'];

  /** Write-watched ranges of the current run (guest-physical [start, end)). */
  let watches: [number, number][] = [];
  let watchHit: StopInfo['write'] | undefined;

  function handleMmio(): void {
    const address = Number(runView.getBigUint64(O_MMIO_ADDR, true));
    const len = Math.min(runView.getUint32(O_MMIO_LEN, true), 8);
    const write = run8[O_MMIO_WRITE] !== 0;
    const data = run8.subarray(O_MMIO_DATA, O_MMIO_DATA + len);
    if (write && address + len <= init.memSize) {
      // RAM behind a read-only slot: a write watch. Do the write the slot refused, then check it.
      mem.set(data, address);
      for (const [start, end] of watches)
        if (address < end && start < address + len) watchHit = { address, length: len, data: Array.from(data) };
      return;
    }
    let c = mmioCounts.get(address);
    if (!c) mmioCounts.set(address, (c = { read: 0, write: 0 }));
    if (write) {
      c.write++;
      mmio.write(address, data);
    } else {
      c.read++;
      mmio.read(address, data);
    }
  }

  /** Linear → guest-physical through the vCPU's current paging (KVM_TRANSLATE). */
  function translate(linear: bigint): bigint | null {
    const b = Buffer.alloc(SIZE.kvm_translation);
    b.writeBigUInt64LE(linear, OFFSET['kvm_translation.linear_address']);
    try {
      libc.ioctlPtr(vcpuFd, IOCTL.KVM_TRANSLATE, b, 'KVM_TRANSLATE');
    } catch {
      return null;
    }
    return b[OFFSET['kvm_translation.valid']] ? b.readBigUInt64LE(OFFSET['kvm_translation.physical_address']) : null;
  }

  /** Up to 15 instruction bytes at CS:RIP, read from guest memory. */
  function instructionBytesAt(regs: Regs, sregs: SRegs): number[] {
    const linear = sregs.cs.base + regs.rip;
    const phys = (sregs.cr0 & (1n << 31n)) !== 0n ? translate(linear) : linear;
    if (phys === null || phys >= BigInt(init.memSize)) return [];
    const at = Number(phys);
    return Array.from(mem.subarray(at, Math.min(at + 15, init.memSize)));
  }

  /** Lets KVM finish an I/O or MMIO instruction whose exit we served, so registers are final. */
  function completePending(): void {
    run8[IMMEDIATE_EXIT] = 1;
    libc.rawIoctlInt(vcpuFd, IOCTL.KVM_RUN, 0);
    run8[IMMEDIATE_EXIT] = 0;
  }

  function stopInfo(reason: StopReason, exitReason: number, extra: Partial<StopInfo> = {}): StopInfo {
    return { reason, exitReason, exitName: exitReasonName(exitReason), regs: getRegs(), sregs: getSRegs(), stats: stats(), ...extra };
  }

  function requestedStop(): StopReason {
    const code = Atomics.exchange(ctl, CTL.STOP, STOP_REQUEST.NONE);
    return code === STOP_REQUEST.TIMEOUT ? 'timeout' : code === STOP_REQUEST.TERMINATE ? 'terminated' : 'paused';
  }

  type DebugHandler = (exception: number, pc: bigint, dr6: bigint) => StopInfo | null;
  /** DR6 of an instruction completed through an I/O or MMIO exit: BS, as if single-stepped. */
  const SYNTHETIC_STEP = 1n << 14n;

  /**
   * `onDebug` judges debug exits (null = keep running). When it is given, an I/O or MMIO exit also
   * counts as one executed instruction: the exit is completed at once and judged at the new PC,
   * because some KVMs (kvm_pvm) lose the single-step trap and skip the execute-breakpoint check of
   * the instruction after an exit to user space.
   */
  function runLoop(onDebug?: DebugHandler): StopInfo {
    const runIoctl = libc.rawIoctlInt;
    const KVM_RUN = IOCTL.KVM_RUN;
    let pending = false; // an I/O or MMIO exit was served and awaits re-entry
    for (;;) {
      if (Atomics.load(ctl, CTL.STOP) !== STOP_REQUEST.NONE) {
        if (pending) completePending();
        run8[IMMEDIATE_EXIT] = 0;
        return stopInfo(requestedStop(), run32[EXIT_REASON_INDEX]);
      }
      const r = runIoctl(vcpuFd, KVM_RUN, 0);
      if (r < 0) {
        const e = libc.errno();
        if (e === EINTR || e === EAGAIN) {
          pending = false; // KVM completes pending I/O before it honours immediate_exit or a signal
          continue;
        }
        return stopInfo('run-error', run32[EXIT_REASON_INDEX], { errno: new libc.SysError('KVM_RUN', e).code });
      }
      const reason = run32[EXIT_REASON_INDEX];
      exitCounts[reason & 63]++;
      switch (reason) {
        case EXIT.KVM_EXIT_IO:
        case EXIT.KVM_EXIT_MMIO: {
          if (reason === EXIT.KVM_EXIT_IO) serveIoExit(run8, runView, ports, portCounters);
          else handleMmio();
          pending = true;
          if (watchHit) {
            const write = watchHit;
            watchHit = undefined;
            completePending(); // the write is done; let the instruction finish
            return stopInfo('data-breakpoint', reason, { write });
          }
          if (onDebug) {
            completePending();
            pending = false;
            const stop = onDebug(1, linearPcAfterExit(), SYNTHETIC_STEP);
            if (stop) return stop;
          }
          continue;
        }
        case EXIT.KVM_EXIT_INTR:
          pending = false;
          continue;
        case EXIT.KVM_EXIT_HLT:
          return stopInfo('halted', reason);
        case EXIT.KVM_EXIT_SHUTDOWN:
          return stopInfo('shutdown', reason);
        case EXIT.KVM_EXIT_FAIL_ENTRY:
          return stopInfo('entry-failure', reason, {
            hardwareReason: runView.getBigUint64(OFFSET['kvm_run.fail_entry.hardware_entry_failure_reason'], true),
          });
        case EXIT.KVM_EXIT_DEBUG: {
          pending = false;
          const exception = runView.getUint32(OFFSET['kvm_run.debug.arch.exception'], true);
          const pc = runView.getBigUint64(OFFSET['kvm_run.debug.arch.pc'], true);
          const dr6 = runView.getBigUint64(OFFSET['kvm_run.debug.arch.dr6'], true);
          if (onDebug) {
            const stop = onDebug(exception, pc, dr6);
            if (stop) return stop;
            continue;
          }
          return stopInfo('debug', reason, {
            debug: { exception, pc, dr6, dr7: runView.getBigUint64(OFFSET['kvm_run.debug.arch.dr7'], true) },
          });
        }
        case EXIT.KVM_EXIT_INTERNAL_ERROR: {
          const suberror = runView.getUint32(OFFSET['kvm_run.internal.suberror'], true);
          const ndata = Math.min(runView.getUint32(OFFSET['kvm_run.internal.ndata'], true), 16);
          const internalData: bigint[] = [];
          for (let i = 0; i < ndata; i++) internalData.push(runView.getBigUint64(OFFSET['kvm_run.internal.data'] + i * 8, true));
          const info = stopInfo('internal-error', reason, { suberror, internalData });
          if (suberror === INTERNAL_ERROR.KVM_INTERNAL_ERROR_EMULATION) {
            const flags = ndata > 0 ? internalData[0] : 0n;
            const size = run8[OFFSET['kvm_run.emulation_failure.insn_size']];
            info.instructionBytes =
              flags & BigInt(INTERNAL_ERROR.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) && size > 0
                ? Array.from(run8.subarray(OFFSET['kvm_run.emulation_failure.insn_bytes'], OFFSET['kvm_run.emulation_failure.insn_bytes'] + Math.min(size, 15)))
                : instructionBytesAt(info.regs, info.sregs);
          }
          return info;
        }
        default:
          return stopInfo('unhandled-exit', reason);
      }
    }
  }

  let guestDebugControl = -1;
  let guestDebugRegs = '';
  function setGuestDebug(control: number, debugreg: bigint[]): void {
    const key = debugreg.join(',');
    if (control === guestDebugControl && key === guestDebugRegs) return;
    libc.ioctlPtr(vcpuFd, IOCTL.KVM_SET_GUEST_DEBUG, encodeGuestDebug(control, debugreg), 'KVM_SET_GUEST_DEBUG');
    guestDebugControl = control;
    guestDebugRegs = key;
  }

  const BS = 1n << 14n; // DR6 single-step
  const DBG_ENABLE = GUESTDBG.KVM_GUESTDBG_ENABLE;
  const DBG_STEP = GUESTDBG.KVM_GUESTDBG_ENABLE | GUESTDBG.KVM_GUESTDBG_SINGLESTEP;

  function linearPc(): bigint {
    return getRegs().rip + getSRegs().cs.base;
  }

  /** CS.base + RIP right after an exit: from kvm_run's synced registers where KVM provides them. */
  function linearPcAfterExit(): bigint {
    return init.syncRegs ? runView.getBigUint64(O_SYNC_RIP, true) + runView.getBigUint64(O_SYNC_CS_BASE, true) : linearPc();
  }

  function pagingAfterExit(): boolean {
    const cr0 = init.syncRegs ? runView.getBigUint64(O_SYNC_CR0, true) : getSRegs().cr0;
    return (cr0 & (1n << 31n)) !== 0n;
  }

  /** The byte at a linear address (through the guest's paging) right after an exit, or -1. */
  function byteAtLinear(linear: bigint, afterExit = true): number {
    const paging = afterExit ? pagingAfterExit() : (getSRegs().cr0 & (1n << 31n)) !== 0n;
    const phys = paging ? translate(linear) : linear;
    return phys === null || phys >= BigInt(init.memSize) ? -1 : mem[Number(phys)];
  }
  const HLT = 0xf4;

  /** DR0–DR3 execute breakpoints and DR7 enabling them (L0–L3, RW = execute, LEN = 1). */
  function hardwareDebugRegs(addresses: bigint[]): bigint[] {
    const dr = Array<bigint>(8).fill(0n);
    let dr7 = 0x400n;
    addresses.slice(0, 4).forEach((a, i) => {
      dr[i] = a;
      dr7 |= 1n << BigInt(i * 2);
    });
    dr[7] = dr7;
    return dr;
  }

  function debugRun(d: DebugRun): StopInfo {
    watches = d.watches ?? [];
    const bps = new Set(d.breakpoints);
    const stepping = d.singleStep === true || d.stepRanges !== undefined || d.stepOutSp !== undefined;
    const scanning = bps.size > 0 && (!d.hardware || bps.size > 4);
    const hw = bps.size > 0 && !scanning;
    const stopPoints = new Set(d.stopPoints ?? []);
    const ranges = d.stepRanges ?? [];
    const inRanges = (pc: bigint): boolean => ranges.some(([a, b]) => pc >= a && pc < b);
    const start = linearPc();
    const hit = (pc: bigint): StopInfo => stopInfo('breakpoint', EXIT.KVM_EXIT_DEBUG, { pc });

    // Leave a breakpoint we are sitting on with one step, breakpoints off (an execute breakpoint
    // would fire again at once); where that step lands is judged like any other step.
    if (bps.has(start) && !stepping) {
      setGuestDebug(DBG_STEP, []);
      const s = runLoop((_exception, pc) => stopInfo('step', EXIT.KVM_EXIT_DEBUG, { pc }));
      if (s.reason !== 'step') return s; // it halted, faulted or was paused during that step
      if (bps.has(s.pc!)) return hit(s.pc!);
    }

    const stepControl = (stepping || scanning ? DBG_STEP : DBG_ENABLE) | (hw ? GUESTDBG.KVM_GUESTDBG_USE_HW_BP : 0);
    const debugRegs = hw ? hardwareDebugRegs([...bps]) : [];
    const noStepControl = hw ? DBG_ENABLE | GUESTDBG.KVM_GUESTDBG_USE_HW_BP : 0;
    // Single-stepping a HLT does not halt on every KVM (kvm_pvm steps past it): run a HLT unstepped.
    const armFor = (pc: bigint, afterExit = true): void => {
      if (stepControl & GUESTDBG.KVM_GUESTDBG_SINGLESTEP && byteAtLinear(pc, afterExit) === HLT) setGuestDebug(noStepControl, debugRegs);
      else if (stepControl || debugRegs.length) setGuestDebug(stepControl, debugRegs);
      else setGuestDebug(0, []);
    };
    armFor(start, false);
    const judge = (exception: number, pc: bigint, dr6: bigint): StopInfo | null => {
      if ((dr6 & 0xfn) !== 0n && hw) return hit(pc); // DR0–DR3 fired
      if ((dr6 & BS) === 0n && exception !== 1) return stopInfo('debug', EXIT.KVM_EXIT_DEBUG, { pc, debug: { exception, pc, dr6, dr7: 0n } });
      if (bps.has(pc)) return hit(pc);
      if (!stepping) return null; // scanning for breakpoints
      if (d.singleStep) return stopInfo('step', EXIT.KVM_EXIT_DEBUG, { pc });
      if (stopPoints.has(pc)) return stopInfo('step', EXIT.KVM_EXIT_DEBUG, { pc });
      if (d.stepOutSp !== undefined) {
        const rsp = init.syncRegs ? runView.getBigUint64(O_SYNC_RSP, true) : getRegs().rsp;
        if (rsp <= d.stepOutSp || inRanges(pc)) return null;
        return stopInfo('step', EXIT.KVM_EXIT_DEBUG, { pc });
      }
      if (pc === start || !inRanges(pc)) return stopInfo('step', EXIT.KVM_EXIT_DEBUG, { pc });
      return null;
    };
    return runLoop((exception, pc, dr6) => {
      const stop = judge(exception, pc, dr6);
      if (!stop) armFor(pc);
      return stop;
    });
  }

  port.on('message', (req: WorkerRequest) => {
    try {
      switch (req.type) {
        case 'run': {
          Atomics.store(ctl, CTL.RUNNING, 1);
          let stop: StopInfo;
          try {
            if (req.debug) stop = debugRun(req.debug);
            else {
              watches = [];
              stop = runLoop(); // guest debug stays as 'setGuestDebug' left it (the host probes use that)
            }
          } finally {
            Atomics.store(ctl, CTL.RUNNING, 0);
          }
          post({ type: 'stopped', stop });
          return;
        }
        case 'getState':
          post({ type: 'state', regs: getRegs(), sregs: getSRegs() });
          return;
        case 'setState':
          if (req.sregs) setSRegs(req.sregs);
          if (req.regs) setRegs(req.regs);
          post({ type: 'ok' });
          return;
        case 'setGuestDebug':
          setGuestDebug(req.control, req.debugreg);
          post({ type: 'ok' });
          return;
        case 'translate':
          post({ type: 'translated', physical: translate(req.linear) });
          return;
        case 'exit':
          libc.munmap(runMap);
          libc.close(vcpuFd);
          post({ type: 'ok' });
          port.close();
          return;
      }
    } catch (e) {
      post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  });

  post({ type: 'ready', tid: libc.gettid(), runAddress: runMap.address });
}
