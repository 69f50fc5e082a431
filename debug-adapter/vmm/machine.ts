// A virtual machine: guest memory with the image and the mode's tables, the accelerator's VM, and
// the vCPU worker. The main thread uses this; it never blocks on the guest. Nothing here knows an
// accelerator's API: it sees the accelerator by name and capabilities (accelerator.ts).
import path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import * as libc from './libc';
import type { IoWorkerInit, IoWorkerMessage } from './io-worker';
import { newMailbox } from './io-thread/io-channel';
import type { CpuMode } from '../toolchain/modes';
import type { GuestImage } from '../program/guest-image';
import { ImageError } from '../program/guest-image';
import { GuestMemory } from './guest-memory';
import { EntryPoint, writeModeTables } from './cpu-modes';
import * as L from './guest-layout';
import { ByteRing } from './byte-ring';
import type { UnmappedAccess } from './devices/bus';
import type { Regs, SRegs } from './cpu-state';
import type { AcceleratorInfo, DebugArm, IrqchipChoice, MemoryRegionInfo, VmBackend } from './accelerator';
import { chooseAccelerator, createVmBackend } from './accelerators';
import { IOAPIC_BASE } from './devices/ioapic';
import { memoryMap, StartInfo, writeStartInfo } from './start-info';
import { MultibootBoot, multibootRegisters, MultibootPlan, writeMultiboot } from './multiboot-info';
import {
  CTL, DebugRun, DevicesSnapshot, ExitStats, OUTPUT_DEVICES, OutputDevice, STOP_REQUEST, StopInfo, VirtioDeviceKind, WorkerInit, WorkerRequest, WorkerResponse,
} from './vcpu-protocol';

export interface MachineOptions {
  memorySize: number;
  mode: CpuMode;
  image: GuestImage;
  entry: EntryPoint;
  outputDevices?: OutputDevice[];
  /** virtio-mmio devices, in the order of their windows (guest-layout.ts). */
  devices?: VirtioDeviceKind[];
  /** What runs the vCPU (default: chooseAccelerator('auto')). */
  accelerator?: AcceleratorInfo;
  /** Whose interrupt controllers (default auto: KVM's in-kernel ones for machines with virtio devices, where offered). */
  irqchip?: IrqchipChoice;
  /** With KVM's controllers: irqfd and ioeventfd where offered (default true). */
  eventfds?: boolean;
  /** Boot as a Multiboot loader does: the information structure and modules instead of start_info. */
  multiboot?: { plan: MultibootPlan; boot: MultibootBoot; /** For the views: how the kernel was loaded, in a line. */ summary: string };
}

export interface UnmappedEvent extends UnmappedAccess {
  /** Linear address of the instruction (CS.base + RIP). */
  rip: bigint;
}

/** A vCPU worker thread that has booted (Node + koffi loaded) and waits for its VM. */
export interface BootedWorker {
  worker: Worker;
  ready: Promise<void>;
}

/**
 * Starts a vCPU worker ahead of time: booting a thread costs tens of milliseconds, so callers that
 * know a VM is coming (the CLI while it builds, the debugger at launch) start one early.
 */
export function prestartWorker(): BootedWorker {
  const worker = new Worker(path.join(__dirname, 'vcpu-worker.js'));
  const ready = new Promise<void>((resolve, reject) => {
    const onMessage = (m: WorkerResponse): void => {
      worker.off('error', reject);
      if (m.type === 'booted') resolve();
      else reject(new Error(`vCPU worker said ${m.type} before booting`));
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
  });
  ready.catch(() => {}); // observed by whoever uses it
  return { worker, ready };
}

/**
 * Ends a pre-started worker that will not be used. Never mid-boot: terminating a worker while it is
 * still loading koffi aborts the whole process (a napi_throw inside the native module), so this
 * waits for the boot to finish (or fail) first.
 */
export async function disposeWorker(booted: BootedWorker | undefined): Promise<void> {
  if (!booted) return;
  await booted.ready.catch(() => {});
  await booted.worker.terminate();
}
/** The start_info the guest finds at EBX/RBX: memory map, the I/O APIC and the virtio devices. */
export function startInfoFor(options: MachineOptions): StartInfo {
  return {
    ioapicBase: IOAPIC_BASE,
    memSize: options.memorySize,
    devSize: L.VIRTIO_MMIO_WINDOW,
    memory: memoryMap(options.memorySize, options.image),
    devices: (options.devices ?? []).map((_, i) => ({ base: L.virtioWindow(i), irq: L.VIRTIO_FIRST_IRQ + i })),
  };
}

/** Refuses segments beyond guest memory or over the monitor's reserved region. */
export function checkImagePlacement(image: GuestImage, memorySize: number): void {
  const reserved = { start: L.RESERVED_START, end: L.RESERVED_END };
  for (const seg of image.segments) {
    const range = { start: seg.address, end: seg.address + seg.memSize };
    if (range.end > memorySize)
      throw new ImageError(
        `${image.path}: segment ${L.describeRange(range)} lies beyond guest memory (0x0–${L.hex(memorySize - 1)}); give more memory with --memory or link the guest lower`,
      );
    if (L.overlaps(range, reserved))
      throw new ImageError(
        `${image.path}: segment ${L.describeRange(range)} overlaps the monitor's reserved region ${L.describeRange(reserved)} (GDT, page tables, stack); link or load the guest elsewhere (e.g. at 0x100000)`,
      );
  }
}

/** Places every segment of `image` in guest memory (bss zeroed), after checkImagePlacement. */
export function placeImage(memory: GuestMemory, image: GuestImage): void {
  checkImagePlacement(image, memory.size);
  for (const seg of image.segments) {
    memory.write(seg.address, seg.data);
    if (seg.memSize > seg.data.length) memory.fill(seg.address + seg.data.length, seg.memSize - seg.data.length, 0);
  }
}

interface Pending {
  expect: WorkerResponse['type'];
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
}

export class Machine {
  readonly memory: GuestMemory;
  readonly accelerator: AcceleratorInfo;
  private readonly vm: VmBackend;
  private worker?: Worker;
  private nativeBreakpoints = 0;
  /** The vCPU's own description (run area or its stand-in), from the worker. */
  vcpuInfo: Record<string, string> = {};
  private readonly ctl = new Int32Array(new SharedArrayBuffer(CTL.SIZE * 4));
  private readonly output = new ByteRing(1 << 16);
  private readonly input = new ByteRing(1 << 12);
  /** KVM's in-kernel irqchip: the device thread, its console's input ring and the eventfd that wakes it. */
  private deviceThread?: { worker: Worker; input: ByteRing; requestFd: number; fds: number[] };
  private readonly queue: Pending[] = [];
  private running = false;
  private destroyed = false;
  private pumping = false;
  private outputListeners: ((bytes: Uint8Array) => void)[] = [];
  private unmappedListeners: ((e: UnmappedEvent) => void)[] = [];
  private deviceEventListeners: ((message: string) => void)[] = [];
  private workerError?: Error;
  /** Exit statistics as of the last stop (cumulative since the VM started). */
  lastStats?: ExitStats;
  /** The interrupt controllers and virtio devices as of the last stop. */
  lastDevices?: DevicesSnapshot;

  private constructor(readonly options: MachineOptions) {
    this.accelerator = options.accelerator ?? chooseAccelerator('auto').info;
    this.memory = new GuestMemory(options.memorySize);
    try {
      this.vm = createVmBackend(this.accelerator, this.memory, {
        irqchip: options.irqchip ?? 'auto', eventfds: options.eventfds ?? true, devices: (options.devices ?? []).length > 0,
      });
    } catch (e) {
      this.memory.release();
      throw e;
    }
  }

  /** Creates the VM, places the image and starts the vCPU worker (ready to run). */
  static async create(options: MachineOptions, booted?: BootedWorker): Promise<Machine> {
    const bw = booted ?? prestartWorker(); // boots while the VM is being set up
    let m: Machine;
    try {
      m = new Machine(options);
    } catch (e) {
      await disposeWorker(bw);
      throw e;
    }
    try {
      writeModeTables(m.memory.view, options.mode);
      placeImage(m.memory, options.image);
      if (options.multiboot) writeMultiboot(m.memory.bytes, options.multiboot.plan, options.multiboot.boot);
      else if (options.mode !== 'real') writeStartInfo(m.memory.bytes, startInfoFor(options));
      await m.startWorker(bw);
    } catch (e) {
      if (!m.worker) await disposeWorker(bw);
      await m.destroy();
      throw e;
    }
    return m;
  }

  /**
   * KVM's in-kernel irqchip: the virtio devices run in their own thread (io-worker.ts),
   * which KVM wakes through eventfds; the vCPU thread reaches it through the returned channel.
   */
  private async startDeviceThread(): Promise<WorkerInit['deviceThread']> {
    const k = this.vm.kernelIrqchip;
    if (!k) return undefined;
    const worker = new Worker(path.join(__dirname, 'io-worker.js'));
    const requestFd = libc.eventfd('device thread requests');
    const dt = (this.deviceThread = { worker, input: new ByteRing(1 << 12), requestFd, fds: [] as number[] });
    const { port1, port2 } = new MessageChannel();
    const mailbox = newMailbox();
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: IoWorkerMessage) => {
        if (m.type === 'ready') {
          dt.fds = m.fds;
          resolve();
        }
        else if (m.type === 'error') {
          reject(new Error(`device thread: ${m.message}`));
          this.failAll(new Error(`device thread: ${m.message}`));
        } else for (const l of this.deviceEventListeners) l(m.message);
      });
      worker.once('error', (e) => {
        reject(e);
        this.failAll(e);
      });
    });
    const init: IoWorkerInit = {
      vmFd: k.vmFd, memAddress: this.memory.hostAddress, memSize: this.memory.size, devices: this.options.devices ?? [], eventfds: k.eventfds,
      channel: { port: port2, mailbox, requestFd }, output: this.output.sab, input: dt.input.sab,
      consoleOutput: (this.options.outputDevices ?? OUTPUT_DEVICES).includes('virtio-console'),
    };
    worker.postMessage(init, [port2]);
    await ready;
    return { port: port1, mailbox, requestFd };
  }

  private async startWorker(booted: BootedWorker): Promise<void> {
    const deviceThread = await this.startDeviceThread();
    await booted.ready;
    const worker = (this.worker = booted.worker);
    this.nativeBreakpoints = this.accelerator.capabilities.nativeBreakpoints;
    const init: WorkerInit = {
      accelerator: this.accelerator.name,
      vcpu: this.vm.vcpuInit(),
      nativeBreakpoints: this.nativeBreakpoints,
      memAddress: this.memory.hostAddress,
      memSize: this.memory.size,
      mode: this.options.mode,
      entry: this.options.entry,
      ctl: this.ctl.buffer as SharedArrayBuffer,
      output: this.output.sab,
      input: this.input.sab,
      outputDevices: this.options.outputDevices ?? [...OUTPUT_DEVICES],
      devices: this.options.devices ?? [],
      bootRegisters: this.options.multiboot ? multibootRegisters(this.options.multiboot.plan) : undefined,
      deviceThread,
    };
    worker.on('message', (m: WorkerResponse) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', () => this.failAll(new Error('the vCPU worker exited')));
    const ready = this.expect('ready');
    worker.postMessage(init, deviceThread ? [deviceThread.port] : []);
    const r = await ready;
    if (r.type !== 'ready') return;
    this.vm.attach(r.kick);
    this.vcpuInfo = r.describe;
    this.startOutputPump();
  }

  private onMessage(m: WorkerResponse): void {
    if (m.type === 'device-event') {
      for (const l of this.deviceEventListeners) l(m.message);
      return;
    }
    if (m.type === 'unmapped') {
      const ev: UnmappedEvent = { ...m.access, rip: m.csBase + m.rip };
      for (const l of this.unmappedListeners) l(ev);
      return;
    }
    const p = this.queue.shift();
    if (!p) return;
    if (m.type === 'error') p.reject(new Error(m.message));
    else if (m.type !== p.expect) p.reject(new Error(`vCPU worker answered ${m.type}, expected ${p.expect}`));
    else p.resolve(m);
  }

  private failAll(e: Error): void {
    this.workerError ??= e;
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  private expect(type: WorkerResponse['type']): Promise<WorkerResponse> {
    if (this.workerError) return Promise.reject(this.workerError);
    return new Promise((resolve, reject) => this.queue.push({ expect: type, resolve, reject }));
  }

  private request(req: WorkerRequest, expect: WorkerResponse['type']): Promise<WorkerResponse> {
    const p = this.expect(expect);
    this.worker!.postMessage(req);
    return p;
  }

  /** Serial output (all enabled output devices), as it arrives. */
  onOutput(listener: (bytes: Uint8Array) => void): void {
    this.outputListeners.push(listener);
  }

  /** The first access to each unmapped port or MMIO address. */
  onUnmapped(listener: (e: UnmappedEvent) => void): void {
    this.unmappedListeners.push(listener);
  }

  /** A device's report of a guest mistake (each kind once): a bad virtqueue, a refused interrupt… */
  onDeviceEvent(listener: (message: string) => void): void {
    this.deviceEventListeners.push(listener);
  }

  private drainOutput(): void {
    if (this.output.pending() === 0) return;
    const bytes = this.output.read();
    for (const l of this.outputListeners) l(bytes);
  }

  private startOutputPump(): void {
    this.pumping = true;
    const loop = async (): Promise<void> => {
      while (this.pumping) {
        await this.output.waitForData(100);
        this.drainOutput();
      }
    };
    void loop();
  }

  /**
   * Bytes for the UART / pseudo-serial receive queue and the virtio console. With a device thread
   * each side gets its own copy (the guest reads whichever device it drives).
   */
  sendInput(bytes: Uint8Array): number {
    if (this.deviceThread) this.deviceThread.input.write(bytes);
    const n = this.input.write(bytes);
    // The monitor's devices on KVM look at input only when the vCPU leaves KVM_RUN: a guest that
    // spins without exiting would never see it, so the vCPU is kicked out once to take it (the
    // software CPU looks between the pieces it runs, the device thread on its own).
    if (n > 0 && this.running && this.accelerator.name === 'kvm' && !this.deviceThread) this.vm.kick();
    return n;
  }

  /**
   * Runs the guest until it stops (halt, shutdown, error, debug exit, pause or timeout).
   * `timeoutMs` stops it with reason 'timeout'.
   */
  async run(timeoutMs?: number, debug?: DebugRun): Promise<StopInfo> {
    return this.runRequest({ type: 'run', debug }, timeoutMs, debug?.watches);
  }

  /**
   * Runs once with the vCPU armed exactly as `arm` says, without the debug engine: for probes of
   * what an accelerator does (e.g. whether its hardware breakpoints fire).
   */
  async runArmed(arm: DebugArm, timeoutMs?: number): Promise<StopInfo> {
    return this.runRequest({ type: 'run', arm }, timeoutMs, arm.watches);
  }

  private async runRequest(req: WorkerRequest, timeoutMs: number | undefined, watches: DebugRun['watches']): Promise<StopInfo> {
    if (this.running) throw new Error('the guest is already running');
    const kinds = this.accelerator.capabilities.watchKinds;
    const unsupported = (watches ?? []).find((w) => !kinds.includes(w.kind));
    if (unsupported) throw new Error(`${this.accelerator.label} cannot watch ${unsupported.kind} accesses (it watches: ${kinds.join(', ')})`);
    this.vm.prepareWatches(watches ?? []);
    this.running = true;
    const timer = timeoutMs !== undefined ? setTimeout(() => this.kick(STOP_REQUEST.TIMEOUT), timeoutMs) : undefined;
    const stopped = this.request(req, 'stopped');
    this.currentRun = stopped.then(() => undefined, () => undefined);
    try {
      const r = await stopped;
      this.drainOutput();
      const stop = (r as Extract<WorkerResponse, { type: 'stopped' }>).stop;
      this.lastStats = stop.stats;
      this.lastDevices = stop.devices;
      return stop;
    } finally {
      if (timer) clearTimeout(timer);
      this.running = false;
      this.stopKicking();
    }
  }

  private stopKicking(): void {
    if (this.rekick) clearInterval(this.rekick);
    this.rekick = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Stops a running guest: its run() resolves with reason 'paused'. No effect when not running. */
  pause(): void {
    this.kick(STOP_REQUEST.PAUSE);
  }

  private rekick?: ReturnType<typeof setInterval>;
  /** Settles when the run in progress has stopped. */
  private currentRun?: Promise<void>;

  /**
   * Asks the vCPU to stop. The request stays in the control block until the worker takes it, and
   * the kick repeats every few milliseconds until then: a kick can land just before the vCPU enters
   * its run (Unicorn forgets a uc_emu_stop that arrives before uc_emu_start; KVM's immediate_exit
   * covers that case, but a repeat costs nothing).
   */
  private kick(code: number): void {
    if (!this.running) return;
    Atomics.store(this.ctl, CTL.STOP, code);
    this.vm.kick();
    this.rekick ??= setInterval(() => {
      if (!this.running || Atomics.load(this.ctl, CTL.STOP) === STOP_REQUEST.NONE) {
        clearInterval(this.rekick);
        this.rekick = undefined;
      } else this.vm.kick();
    }, 5);
  }

  async getState(): Promise<{ regs: Regs; sregs: SRegs }> {
    const r = (await this.request({ type: 'getState' }, 'state')) as Extract<WorkerResponse, { type: 'state' }>;
    return { regs: r.regs, sregs: r.sregs };
  }

  async setState(regs?: Regs, sregs?: SRegs): Promise<void> {
    await this.request({ type: 'setState', regs, sregs }, 'ok');
  }

  /** The memory regions as the accelerator maps them (KVM: slots; software CPU: one region). */
  regions(): MemoryRegionInfo[] {
    return this.vm.regions();
  }

  /** Rows for the machine view: the accelerator's VM and vCPU (as the vCPU described itself at start). */
  describeRows(): Record<string, string> {
    return { ...this.vm.describe(), ...this.vcpuInfo };
  }

  async translate(linear: bigint): Promise<bigint | null> {
    const r = (await this.request({ type: 'translate', linear }, 'translated')) as Extract<WorkerResponse, { type: 'translated' }>;
    return r.physical;
  }

  /** Tears everything down: worker, vCPU, VM, memory. Safe to call more than once. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pumping = false;
    if (this.worker) {
      if (this.running) {
        // The vCPU must be out of its run before the worker frees it: no kick may reach a freed
        // engine or an unmapped kvm_run.
        this.kick(STOP_REQUEST.TERMINATE);
        await Promise.race([this.currentRun, new Promise((r) => setTimeout(r, 5000).unref())]);
      }
      this.stopKicking();
      try {
        if (!this.workerError) await this.request({ type: 'exit' }, 'ok');
      } catch {
        /* the worker is gone already */
      }
      await this.worker.terminate();
    }
    if (this.deviceThread) {
      await this.deviceThread.worker.terminate();
      for (const fd of [this.deviceThread.requestFd, ...this.deviceThread.fds]) libc.close(fd);
    }
    this.drainOutput();
    this.vm.destroy();
    this.memory.release();
  }
}
