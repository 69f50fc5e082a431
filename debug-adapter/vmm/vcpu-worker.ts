// The vCPU worker thread: it owns the vCPU (whatever accelerator runs it), the devices and the exit
// statistics, so a port-I/O or MMIO exit is served without crossing threads. The main thread talks
// to it through messages (one command at a time) and the shared control block (stop requests).
import { parentPort } from 'node:worker_threads';
import * as libc from './libc';
import { initialState } from './cpu-modes';
import { MmioBus, PortBus, UnmappedAccess } from './devices/bus';
import { ByteSink, ByteSource, Uart16550, UART_COM1 } from './devices/uart16550';
import { DebugConsolePort, DEBUG_CONSOLE_PORT, PostCodePort, POST_CODE_PORT, PseudoSerialPort, PSEUDO_SERIAL_PORT } from './devices/output-ports';
import { ByteRing } from './byte-ring';
import { FwCfg, FW_CFG_PORT_SELECTOR } from './devices/fw-cfg';
import { fwCfgFiles } from './fw-cfg-files';
import { GuestExitLatch, IsaDebugExit, ISA_DEBUG_EXIT_PORT, ISA_DEBUG_EXIT_PORTS } from './devices/isa-debug-exit';
import { InterruptPlatform } from './devices/interrupt-platform';
import { PIT_BASE, PIT_PORTS } from './devices/pit8254';
import { attachVirtioDevices, virtioSnapshots } from './devices/virtio-slots';
import { IoClient, IoSnapshot, RemoteMmioWindow } from './io-thread/io-channel';
import type { InterruptSource } from './accelerator';
import { IOAPIC_BASE, IOAPIC_WINDOW } from './devices/ioapic';
import { LAPIC_BASE, LAPIC_WINDOW } from './devices/local-apic';
import { ExitCounters } from './exit-counters';
import * as L from './guest-layout';
import { debugRun } from './debug-engine';
import { createVcpu } from './vcpu-factory';
import type { Vcpu, VcpuEnvironment, VcpuExit } from './accelerator';
import { NO_DEBUG } from './accelerator';
import { CTL, DevicesSnapshot, OutputDevice, STOP_REQUEST, StopInfo, StopReason, WorkerInit, WorkerRequest, WorkerResponse } from './vcpu-protocol';

const port = parentPort!;
const post = (m: WorkerResponse): void => port.postMessage(m);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// The worker boots (Node + koffi) before any VM exists, so a pre-started one is ready at once; the
// VM arrives with the 'init' message.
port.once('message', (init: WorkerInit) => {
  try {
    serve(init);
  } catch (e) {
    post({ type: 'error', message: message(e) });
  }
});
post({ type: 'booted' });

/** With KVM's in-kernel controllers nothing is left for the vCPU to deliver: KVM's LAPIC does it all. */
const KVM_DELIVERS: InterruptSource = { pending: () => undefined, acknowledge: () => undefined, idle: () => 'never', live: () => false };

function serve(init: WorkerInit): void {
  const ctl = new Int32Array(init.ctl);
  const outRing = new ByteRing(init.output);
  const inRing = new ByteRing(init.input);
  const memory = new Uint8Array(libc.viewAt(init.memAddress, init.memSize));

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

  let vcpu: Vcpu | undefined;
  function reportUnmapped(access: UnmappedAccess): void {
    const s = vcpu?.getState();
    const csBase = s?.sregs.cs.base ?? 0n;
    let rip = s?.regs.rip ?? 0n;
    try {
      // The instruction that made the access: RIP alone may be past it or at the block's start.
      if (vcpu) rip = vcpu.accessPc(access) - csBase;
    } catch {
      // keep RIP as the accelerator shows it
    }
    post({ type: 'unmapped', access, rip, csBase });
  }
  const ports = new PortBus(reportUnmapped);
  const mmio = new MmioBus(reportUnmapped);
  ports.register(new Uart16550(UART_COM1, sinkFor('uart'), input, 'uart16550 (COM1 0x3f8)'), UART_COM1, 8);
  ports.register(new DebugConsolePort(sinkFor('debugcon')), DEBUG_CONSOLE_PORT);
  ports.register(new PseudoSerialPort(sinkFor('pseudo-serial'), input), PSEUDO_SERIAL_PORT);
  ports.register(new PostCodePort(), POST_CODE_PORT);
  const guestExit: GuestExitLatch = { code: undefined };
  ports.register(new IsaDebugExit(guestExit), ISA_DEBUG_EXIT_PORT, ISA_DEBUG_EXIT_PORTS);
  ports.register(new FwCfg({ ramSize: init.memSize, files: fwCfgFiles(init.memSize, init.accelerator) }), FW_CFG_PORT_SELECTOR, 2);
  const counters = new ExitCounters();
  const reported = new Set<string>();
  const reportDeviceEvent = (message: string): void => {
    if (reported.has(message)) return;
    reported.add(message);
    post({ type: 'device-event', message });
  };
  // The interrupt controllers and virtio devices: the monitor's, served on this thread, or (KVM's
  // in-kernel irqchip) KVM's controllers with the devices in the device thread.
  const deviceThread = init.deviceThread ? new IoClient(init.deviceThread) : undefined;
  let interrupts: InterruptSource;
  let devicesSnapshot: () => DevicesSnapshot;
  if (deviceThread) {
    interrupts = KVM_DELIVERS;
    init.devices.forEach((kind, i) =>
      mmio.register(new RemoteMmioWindow(`${kind} (device thread)`, deviceThread, i, L.virtioWindow(i)), L.virtioWindow(i), L.VIRTIO_MMIO_WINDOW));
    devicesSnapshot = () => {
      const io = deviceThread.call<IoSnapshot>({ op: 'snapshot' });
      // As the monitor's view does: the inputs a device drives, and those the guest programmed.
      const lineAt = (pin: number): IoSnapshot['lines'][number] | undefined => io.lines.find((l) => l.pin === pin);
      const controllers = cpu.kernelInterruptControllers!((pin) => lineAt(pin) !== undefined)!;
      const ioapic = controllers.ioapic.map((e) => {
        const line = lineAt(e.pin);
        return line ? { ...e, source: line.source, raised: line.raised, asserted: line.asserted } : e;
      });
      return { controllers: 'kernel', ioapic, lapic: controllers.lapic, interruptsTaken: {}, virtio: io.virtio, eventfds: io.eventfds };
    };
  } else {
    const platform = new InterruptPlatform(reportDeviceEvent);
    mmio.register(platform.ioapic, IOAPIC_BASE, IOAPIC_WINDOW);
    mmio.register(platform.lapic, LAPIC_BASE, LAPIC_WINDOW);
    ports.register(platform.pit, PIT_BASE, PIT_PORTS);
    platform.devicesAttached = init.devices.length > 0;
    const virtio = attachVirtioDevices(init.devices, {
      ram: memory, consoleOut: sinkFor('virtio-console'), consoleIn: input, report: reportDeviceEvent,
      line(pin, label) {
        platform.ioapic.connect(pin, label);
        return { set: (level: boolean) => platform.ioapic.setInput(pin, level) };
      },
      addSpontaneousSource: (s) => platform.addSpontaneousSource(s),
    });
    for (const d of virtio) mmio.register(d.transport, d.base, L.VIRTIO_MMIO_WINDOW);
    interrupts = platform;
    devicesSnapshot = () => ({
      controllers: 'monitor',
      ioapic: platform.ioapic.entries(),
      lapic: platform.lapic.info(),
      interruptsTaken: Object.fromEntries(platform.taken),
      virtio: virtioSnapshots(virtio),
    });
  }

  const env: VcpuEnvironment = { memory, memoryAddress: init.memAddress, ports, mmio, counters, ctl, interrupts, guestExit };
  const cpu = (vcpu = createVcpu(init.accelerator, init.vcpu, env));
  {
    const start = initialState(init.mode, init.entry, cpu.getState().sregs);
    if (init.bootRegisters) Object.assign(start.regs, init.bootRegisters);
    cpu.setState(start.regs, start.sregs);
  }
  if (deviceThread) {
    const kick = cpu.kickHandle();
    if (kick.kind === 'kvm') deviceThread.call({ op: 'attach', tid: kick.tid, runAddress: kick.runAddress, statsFd: cpu.statisticsFd?.() });
  }

  function requestedStop(): StopReason {
    const code = Atomics.exchange(ctl, CTL.STOP, STOP_REQUEST.NONE);
    return code === STOP_REQUEST.TIMEOUT ? 'timeout' : code === STOP_REQUEST.TERMINATE ? 'terminated' : 'paused';
  }

  /** The stop report of an exit: what happened, the registers and the statistics so far. */
  function stopInfo(exit: VcpuExit): StopInfo {
    const { regs, sregs } = cpu.getState();
    const base = { accelerator: init.accelerator, regs, sregs, stats: counters.snapshot(), devices: devicesSnapshot() };
    switch (exit.kind) {
      case 'halt':
        return { reason: 'halted', ...base };
      case 'guest-exit':
        return { reason: 'exited', ...base, guestExitCode: exit.code };
      case 'shutdown':
        return { reason: 'shutdown', ...base, detail: exit.detail, instructionBytes: cpu.instructionBytes() };
      case 'kicked':
        return { reason: requestedStop(), ...base };
      case 'step':
        return { reason: 'step', ...base, pc: exit.pc };
      case 'breakpoint':
        return { reason: 'breakpoint', ...base, pc: exit.pc };
      case 'watch':
        return { reason: 'data-breakpoint', ...base, pc: exit.pc, access: { ...exit.access, at: exit.at } };
      case 'debug':
        return { reason: 'debug', ...base, pc: exit.pc, debug: { exception: exit.exception, pc: exit.pc } };
      case 'internal-error':
        return {
          reason: 'internal-error', ...base, detail: exit.message, suberror: exit.suberror, internalData: exit.data,
          instructionBytes: exit.instructionBytes ?? cpu.instructionBytes(),
        };
      case 'entry-failure':
        return { reason: 'entry-failure', ...base, hardwareReason: exit.hardwareReason };
      case 'run-error':
        return { reason: 'run-error', ...base, errno: exit.errno };
      case 'unhandled':
        return { reason: 'unhandled-exit', ...base, unhandled: { reason: exit.reason, name: exit.name } };
    }
  }

  port.on('message', (req: WorkerRequest) => {
    try {
      switch (req.type) {
        case 'run': {
          Atomics.store(ctl, CTL.RUNNING, 1);
          let exit: VcpuExit;
          try {
            if (req.arm) {
              cpu.setDebug(req.arm);
              exit = cpu.run();
            } else if (req.debug) exit = debugRun(cpu, init.nativeBreakpoints, req.debug);
            else {
              cpu.setDebug(NO_DEBUG);
              exit = cpu.run();
            }
          } finally {
            Atomics.store(ctl, CTL.RUNNING, 0);
          }
          post({ type: 'stopped', stop: stopInfo(exit) });
          return;
        }
        case 'getState': {
          const s = cpu.getState();
          post({ type: 'state', regs: s.regs, sregs: s.sregs });
          return;
        }
        case 'setState':
          cpu.setState(req.regs, req.sregs);
          post({ type: 'ok' });
          return;
        case 'translate':
          post({ type: 'translated', physical: cpu.translate(req.linear) });
          return;
        case 'exit':
          deviceThread?.call({ op: 'exit' });
          cpu.close();
          post({ type: 'ok' });
          port.close();
          return;
      }
    } catch (e) {
      post({ type: 'error', message: message(e) });
    }
  });

  post({ type: 'ready', kick: cpu.kickHandle(), describe: cpu.describe() });
}
