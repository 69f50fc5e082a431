// The Debug Adapter Protocol session: translates DAP requests into monitor (vmm/), program and
// inspection calls. One VM, one vCPU (thread 1). Guest code runs only inside `execute()`.
import path from 'node:path';
import {
  BreakpointEvent, Event, ExitedEvent, InitializedEvent, InvalidatedEvent, LoggingDebugSession, MemoryEvent,
  OutputEvent, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { BuildFailure, prepareGuest, PreparedGuest, UsageError, parseIrqchip } from './guest-setup';
import { Machine, prestartWorker, BootedWorker, disposeWorker } from './vmm/machine';
import type { StopInfo, OutputDevice, DebugRun } from './vmm/vcpu-protocol';
import type { Regs, SRegs } from './vmm/cpu-state';
import type { AcceleratorChoice, AcceleratorInfo, WatchKind } from './vmm/accelerator';
import { chooseAccelerator, isAcceleratorChoice } from './vmm/accelerators';
import { ACCELERATOR_CHOICES } from './vmm/accelerator';
import { currentBitness, describeStop, currentModeName, describePc } from './vmm/stop-report';
import { loadDebugInfo, DebugInfo } from './program/debug-info';
import { disassemble, Syntax } from './program/disassembler';
import { Breakpoint, BreakpointStore, LineBinding } from './debugger/breakpoints';
import { bindLineIn, breakpointsThatStop, dataBreakpointInfo, toDapBreakpoint } from './debugger/dap-breakpoints';
import { GuestAddressSpace, MemoryReference, parseMemoryReference, linearRef } from './debugger/guest-address-space';
import { disassembleAround } from './debugger/disassembly';
import { VariableTree, MachineState, DataSymbol } from './debugger/variables';
import { createEvalContext, evaluate, EvalContext, formatValue } from './inspect/expression';
import { writeRegister } from './inspect/register-names';
import { decodeRflags } from './inspect/decode';
import { runReplCommand } from './debugger/repl-commands';
import { EXIT_STATUS, exitStatusOf } from './exit-status';
import { bootSummary } from './multiboot-request';
import { Ppc64Debugger } from './debugger/ppc64-debugger';
import { chooseArch, parseArch } from './ppc64/ppc64-guest';
import type { Arch } from './toolchain/arch';

export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  program: string;
  mode?: string;
  memory?: string;
  loadAddress?: string;
  entry?: string;
  stopOnEntry?: boolean;
  build?: boolean;
  serial?: OutputDevice[] | 'all' | 'none';
  /** virtio devices ("virtio-rng", "virtio-console"); default: the source's devices= comment. */
  devices?: string[];
  /** Whose interrupt controllers: auto, monitor or kernel (KVM's). */
  irqchip?: string;
  /** With KVM's controllers: irqfd and ioeventfd (default true). */
  eventfds?: boolean;
  timeout?: number;
  disassemblySyntax?: Syntax;
  cwd?: string;
  /** What runs the vCPU: "kvm", "tcg" (the software CPU) or "auto" (KVM when it works). */
  accel?: AcceleratorChoice;
  /** x86 or ppc64 (default: from the program). */
  arch?: string;
  /** ppc64: big or little (default: from the program). */
  endian?: string;
  /** Multiboot kernels: the command line after the kernel's name. */
  cmdline?: string;
  /** Multiboot kernels: modules, each "FILE" or "FILE=STRING" (FILE relative to cwd). */
  modules?: string[];
}

/** DAP's data breakpoint access types ↔ the accelerators' watch kinds (the same words). */
const WATCH_KINDS: readonly WatchKind[] = ['read', 'write', 'readWrite'];

const THREAD_ID = 1;
/** Instructions that "step over" runs as one: calls, software interrupts and rep-prefixed strings. */
const STEPPED_OVER = /^(call|lcall|int\b|into|syscall|rep|repe|repz|repne|repnz)/;

interface Stopped {
  regs: Regs;
  sregs: SRegs;
  pc: bigint;
  tree?: VariableTree;
}

/** An error the client sees as a failed request, with a message the user can act on. */
class RequestError extends Error {}

export class KvmGuestSession extends LoggingDebugSession {
  private launchArgs?: LaunchArguments;
  private prepared?: PreparedGuest;
  private machine?: Machine;
  private info?: DebugInfo;
  /** The accelerator of this session (chosen at launch; KVM's capabilities as probed). */
  private accelerator?: AcceleratorInfo;
  private booted?: BootedWorker;
  private readonly breakpoints = new BreakpointStore();
  private stopped?: Stopped;
  private running = false;
  private pauseRequested = false;
  private ended = false;
  /** The VM cannot go on (triple fault, internal error): the next resume ends the session. */
  private dead?: { exitCode: number; message: string };
  private configurationDone?: () => void;
  private readonly configured = new Promise<void>((r) => (this.configurationDone = r));
  private syntax: Syntax = 'att';
  private decoder = new TextDecoder('utf-8');
  private warnedScanning = false;
  private initialized = false;
  /** Aborts the build in progress (teardown). */
  private building?: AbortController;
  /** Known instruction starts of the program (line-table rows and code labels), sorted. */
  private programBoundaries: bigint[] = [];
  /** A ppc64 guest's session: every request about the guest goes to it (debugger/ppc64-debugger.ts). */
  private ppc?: Ppc64Debugger;
  /** The architecture of launches that name none and whose program does not say (`kvm-guest dap --arch`). */
  defaultArch?: Arch;

  /**
   * `defaultAccel`: the accelerator when a launch configuration names none (`kvm-guest dap --accel`);
   * `trace`: receives every DAP message in both directions (KVM_GUEST_DAP_LOG), synchronously, so
   * that the trace is complete even when the process ends right after.
   */
  constructor(private readonly defaultAccel: AcceleratorChoice = 'auto', private readonly trace?: (line: string) => void) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private console(text: string, category: 'console' | 'stdout' | 'stderr' | 'important' = 'console'): void {
    this.sendEvent(new OutputEvent(text.endsWith('\n') ? text : text + '\n', category));
  }

  private fail(response: DebugProtocol.Response, message: string, showUser = false): void {
    this.sendErrorResponse(response, { id: 1000, format: message.replace(/{/g, '{{').replace(/}/g, '}}'), showUser });
  }

  /** Runs a request handler, turning any exception into an error response (the session goes on). */
  private async guard(response: DebugProtocol.Response, work: () => Promise<void> | void): Promise<void> {
    try {
      await work();
    } catch (e) {
      this.fail(response, e instanceof Error ? e.message : String(e), e instanceof UsageError || e instanceof BuildFailure);
    }
  }

  private requireStopped(): Stopped {
    if (!this.machine || this.ended) throw new RequestError('the guest is not running');
    if (!this.stopped || this.running) throw new RequestError('the guest is running: pause it first');
    return this.stopped;
  }

  private space(s: Stopped = this.requireStopped()): GuestAddressSpace {
    return new GuestAddressSpace(this.machine!.memory, s.sregs);
  }

  private bias(): number {
    return this.prepared?.mode === 'real' ? this.prepared.loadAddress ?? 0 : 0;
  }

  private symbolValue = (name: string): bigint | undefined => {
    const s = this.info?.symbols.lookup(name);
    return s ? BigInt(s.value) : undefined;
  };

  private evalContext(s: Stopped): EvalContext {
    const space = this.space(s);
    return createEvalContext({
      bitness: currentBitness(s.sregs),
      regs: s.regs,
      sregs: s.sregs,
      symbols: this.symbolValue,
      readMemory: (address, size) => {
        const r = space.read({ address, physical: false }, size);
        return r.unreadable ? undefined : r.data;
      },
    });
  }

  private bindLine = (file: string, line: number): LineBinding => bindLineIn(this.info, file, line);

  private toDapBreakpoint(bp: Breakpoint): DebugProtocol.Breakpoint {
    return toDapBreakpoint(bp);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    this.initialized = true;
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsFunctionBreakpoints: true,
      supportsInstructionBreakpoints: true,
      supportsDataBreakpoints: true,
      supportsDataBreakpointBytes: true,
      supportsSteppingGranularity: true,
      supportsDisassembleRequest: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsSetVariable: true,
      supportsEvaluateForHovers: true,
      supportsRestartRequest: true,
      supportsTerminateRequest: true,
      supportsValueFormattingOptions: true,
      supportsStepBack: false,
    };
    this.sendResponse(response);
    this.booted = prestartWorker();
    this.sendEvent(new InitializedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configurationDone?.();
  }

  /**
   * Every request gets a response or a specific error: arguments default to {}, a request that
   * throws or rejects answers with its message, and nothing ends the process.
   */
  override sendResponse(response: DebugProtocol.Response): void {
    this.trace?.(`To client: ${JSON.stringify(response)}`);
    super.sendResponse(response);
  }

  override sendEvent(event: DebugProtocol.Event): void {
    this.trace?.(`To client: ${JSON.stringify(event)}`);
    super.sendEvent(event);
  }

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    this.trace?.(`From client: ${request.command}(${JSON.stringify(request.arguments)})`);
    if (request.arguments === undefined || request.arguments === null) request.arguments = {};
    // DAP: pathFormat defaults to 'path' (the base class refuses an initialize without it).
    if (request.command === 'initialize') request.arguments.pathFormat ??= 'path';
    const response = { seq: 0, type: 'response', request_seq: request.seq, command: request.command, success: true } as DebugProtocol.Response;
    if (!this.initialized && request.command !== 'initialize' && request.command !== 'disconnect') {
      this.fail(response, `'${request.command}' before 'initialize': a client must send 'initialize' first`);
      return;
    }
    if (this.ppc?.handles(request.command)) {
      this.ppc.dispatch(request, response);
      return;
    }
    try {
      super.dispatchRequest(request);
    } catch (e) {
      this.fail(response, `${request.command} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArguments): Promise<void> {
    if (this.launchArgs) {
      this.fail(response, 'this session has already launched a guest; start a new debug session (or restart) instead');
      return;
    }
    this.launchArgs = args;
    this.syntax = args.disassemblySyntax === 'intel' ? 'intel' : 'att';
    let arch;
    try {
      arch = args.program ? chooseArch(path.resolve(args.cwd ?? process.cwd(), args.program), parseArch(args.arch) ?? this.defaultArch) : undefined;
    } catch (e) {
      this.fail(response, e instanceof Error ? e.message : String(e), true);
      this.sendEvent(new TerminatedEvent());
      return;
    }
    if (arch?.arch === 'ppc64') {
      // The x86 vCPU worker started at initialize is not needed.
      void disposeWorker(this.booted);
      this.booted = undefined;
      this.ppc = new Ppc64Debugger(
        {
          send: (r) => this.sendResponse(r),
          event: (e) => this.sendEvent(e),
          fail: (r, message, showUser) => this.fail(r, message, showUser),
        },
        this.breakpoints, arch, args.accel ?? this.defaultAccel,
      );
      await this.ppc.launch(response, args, this.configured);
      return;
    }
    try {
      await this.startMachine(args);
    } catch (e) {
      if (e instanceof BuildFailure) {
        for (const d of e.diagnostics)
          this.console(`${d.file}:${d.line}${d.column ? ':' + d.column : ''}: ${d.severity}: ${d.message}`, 'stderr');
        this.fail(response, `Build failed: ${e.message}`, true);
      } else this.fail(response, e instanceof Error ? e.message : String(e), true);
      this.sendEvent(new TerminatedEvent());
      return;
    }
    this.sendResponse(response);
    await this.configured;
    if (args.stopOnEntry) this.reportStopped('entry', await this.machine!.getState(), 'stopped at the entry point');
    else void this.execute({ kind: 'continue' });
  }

  private async startMachine(args: LaunchArguments): Promise<void> {
    if (!args.program) throw new UsageError('launch needs "program": a guest source (.S, .s, .c), an ELF or a flat binary');
    const file = path.resolve(args.cwd ?? process.cwd(), args.program);
    const outputDevices: OutputDevice[] | undefined =
      args.serial === undefined || args.serial === 'all' ? undefined : args.serial === 'none' ? [] : args.serial;
    // A disconnect or terminate during the build stops the toolchain's processes too.
    const building = (this.building = new AbortController());
    const prepared = await prepareGuest({
      file, mode: args.mode, memory: args.memory, loadAddress: args.loadAddress, entry: args.entry, outputDevices, build: args.build, devices: args.devices,
      cmdline: args.cmdline, modules: args.modules, cwd: args.cwd, signal: building.signal,
    }).finally(() => {
      if (this.building === building) this.building = undefined;
    });
    await this.chooseAccelerator(args);
    if (prepared.mode === 'paged32' && !this.accelerator!.capabilities.modes.includes('paged32')) {
      const { probePaged32, paged32Unsupported } = await import('./vmm/kvm/host-probe');
      throw new UsageError(paged32Unsupported((await probePaged32()).note));
    }
    for (const d of prepared.build?.diagnostics ?? []) this.console(`${d.file}:${d.line}: ${d.severity}: ${d.message}`, 'stderr');
    this.prepared = prepared;
    this.info = prepared.elfPath ? loadDebugInfo(prepared.elfPath, { bias: this.bias() }) : undefined;
    const starts = new Set<bigint>((this.info?.lines.boundaries() ?? []).map((b) => BigInt(b)));
    for (const sym of this.info?.symbols.all() ?? []) if (sym.kind === 'func' || sym.kind === 'notype') starts.add(BigInt(sym.value));
    this.programBoundaries = [...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const bp of this.breakpoints.rebindSources(this.bindLine)) this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(bp)));
    const lookup = (name: string): bigint | undefined => {
      const sym = this.info?.symbols.lookup(name);
      return sym ? BigInt(sym.value) : undefined;
    };
    for (const bp of this.breakpoints.rebindFunctions(lookup, this.info !== undefined)) this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(bp)));

    if (prepared.boot) this.console(bootSummary(prepared.boot));
    this.console(this.describeBreakpointMethod());
    const machine = await Machine.create(
      { ...prepared.machine, accelerator: this.accelerator, irqchip: parseIrqchip(args.irqchip), eventfds: args.eventfds !== false },
      this.booted ?? prestartWorker(),
    );
    this.booted = undefined;
    this.machine = machine;
    this.dead = undefined;
    this.ended = false;
    machine.onOutput((bytes) => this.sendEvent(new OutputEvent(this.decoder.decode(bytes, { stream: true }), 'stdout')));
    machine.onUnmapped((e) =>
      this.console(
        `unmapped ${e.space === 'port' ? 'I/O port' : 'MMIO'} ${e.write ? 'write' : 'read'} at 0x${e.address.toString(16)} (${e.size} bytes) by the guest at 0x${e.rip.toString(16)}: reads return all-ones, writes are dropped (reported once per address)`,
        'important',
      ),
    );
    const state = await machine.getState();
    this.console(
      `${path.basename(file)}: ${prepared.mode} mode (from ${prepared.modeSource}), ${prepared.machine.memorySize >> 10} KiB of memory, entry ${describePc(state.regs, state.sregs)}`,
    );
  }

  /** Chooses the accelerator once per session and says which and why in the Debug Console. */
  private async chooseAccelerator(args: LaunchArguments): Promise<void> {
    if (this.accelerator) return;
    if (args.accel !== undefined && !isAcceleratorChoice(args.accel))
      throw new UsageError(`unknown accelerator "${String(args.accel)}" in the launch configuration's "accel": choose one of ${ACCELERATOR_CHOICES.join(', ')}`);
    const chosen = chooseAccelerator(args.accel ?? this.defaultAccel);
    let info = chosen.info;
    if (info.name === 'kvm') {
      // What this host's KVM really does (breakpoint methods, paged32) takes a few throw-away VMs.
      const { probedKvm } = await import('./vmm/kvm/host-probe');
      info = await probedKvm();
    }
    this.accelerator = info;
    this.console(chosen.why.charAt(0).toUpperCase() + chosen.why.slice(1));
    // For the extension's status bar and views (other clients ignore unknown events).
    this.sendEvent(new Event('kvmGuest.accelerator', { name: info.name, label: info.label, why: chosen.why }));
  }

  private describeBreakpointMethod(): string {
    const a = this.accelerator!;
    const n = a.capabilities.nativeBreakpoints;
    if (n === Infinity) return `Breakpoints: exact and unlimited on the ${a.label} (code hooks); data breakpoints: ${a.capabilities.watchKinds.join(', ')}.`;
    if (n > 0) return `Breakpoints: hardware debug registers DR0–DR3 for up to ${n} at once, single-step scanning beyond; data breakpoints: writes (read-only memory slots).`;
    if (a.capabilities.singleStep) return `Breakpoints: single-step scanning (hardware debug registers do not fire on this host: ${a.notes.hardwareBreakpoints ?? 'probed'}).`;
    return 'Breakpoints: this host supports no breakpoint method (no debug exits): breakpoints will not be hit.';
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse): Promise<void> {
    await this.teardown();
    this.sendResponse(response);
  }

  protected override async terminateRequest(response: DebugProtocol.TerminateResponse): Promise<void> {
    await this.teardown();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override async restartRequest(response: DebugProtocol.RestartResponse): Promise<void> {
    await this.guard(response, async () => {
      await this.teardown();
      this.breakpoints.resetHits();
      this.decoder = new TextDecoder('utf-8');
      await this.startMachine(this.launchArgs!);
      this.sendResponse(response);
      if (this.launchArgs!.stopOnEntry) this.reportStopped('entry', await this.machine!.getState(), 'stopped at the entry point');
      else void this.execute({ kind: 'continue' });
    });
  }

  private async teardown(): Promise<void> {
    this.ended = true;
    this.building?.abort();
    this.pauseRequested = true;
    const m = this.machine;
    this.machine = undefined;
    this.stopped = undefined;
    if (m) {
      m.pause();
      await m.destroy();
    }
    await disposeWorker(this.booted);
    this.booted = undefined;
  }

  private endSession(exitCode: number, message: string): void {
    if (this.ended) return;
    this.console(message, exitCode === 0 ? 'console' : 'important');
    this.sendEvent(new ExitedEvent(exitCode));
    this.sendEvent(new TerminatedEvent());
    void this.teardown();
  }

  // ---- execution ------------------------------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD_ID, 'vCPU 0')] };
    this.sendResponse(response);
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    void this.execute({ kind: 'continue' });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.sendResponse(response);
    void this.execute({ kind: args.granularity === 'instruction' ? 'instruction' : 'over' });
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.sendResponse(response);
    void this.execute({ kind: args.granularity === 'instruction' ? 'instruction' : 'in' });
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.sendResponse(response);
    void this.execute({ kind: 'out' });
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.sendResponse(response);
    if (this.running) {
      this.pauseRequested = true;
      this.machine?.pause();
    }
  }

  /** `more`: extra stop addresses; `exclude`: addresses whose breakpoints must not stop this run. */
  private debugRun(extra: Partial<DebugRun> = {}, more: bigint[] = [], exclude: bigint[] = []): DebugRun {
    if (this.launchArgs?.noDebug) return { breakpoints: [], ...extra };
    const breakpoints = [...new Set([...this.breakpoints.addresses(), ...more])].filter((a) => !exclude.includes(a));
    const native = this.accelerator?.capabilities.nativeBreakpoints ?? 0;
    if (native > 0 && breakpoints.length > native && !this.warnedScanning) {
      this.warnedScanning = true;
      this.console(`${breakpoints.length} breakpoints: more than the ${native} debug registers, so execution is single-stepped and compared (slower).`);
    }
    const watches = this.breakpoints.data.map((d) => ({ start: d.start, end: d.end, kind: d.kind }));
    return { breakpoints, watches, ...extra };
  }

  private lineRange(pc: bigint): [bigint, bigint] | undefined {
    const r = this.info?.lines.lineRange(Number(pc));
    return r ? [BigInt(r.start), BigInt(r.end)] : undefined;
  }

  /** The length of the instruction at a linear address (decoded in the current bitness). */
  private instructionLength(pc: bigint, s: Stopped): number | undefined {
    const r = this.space(s).read({ address: pc, physical: false }, 15);
    const [ins] = disassemble(r.data, pc, currentBitness(s.sregs), 1, 'att');
    return ins && !ins.invalid ? ins.bytes.length : undefined;
  }

  /** Call sites (and rep-string/int instructions) inside [start, end), which "step over" runs over. */
  private callSites(range: [bigint, bigint], s: Stopped): bigint[] {
    const r = this.space(s).read({ address: range[0], physical: false }, Number(range[1] - range[0]));
    return disassemble(r.data, range[0], currentBitness(s.sregs), Infinity, 'att')
      .filter((i) => STEPPED_OVER.test(i.text.trim()))
      .map((i) => i.address);
  }

  private async run(debug: DebugRun): Promise<StopInfo> {
    const timeout = this.launchArgs?.timeout;
    return this.machine!.run(timeout ? timeout * 1000 : undefined, debug);
  }

  private async execute(step: { kind: 'continue' | 'instruction' | 'over' | 'in' | 'out' }): Promise<void> {
    if (!this.machine || this.running || this.ended) return;
    if (this.dead) return this.endSession(this.dead.exitCode, this.dead.message);
    const start = this.stopped ?? { ...(await this.machine.getState()), pc: 0n };
    start.pc = start.sregs.cs.base + start.regs.rip;
    this.running = true;
    this.pauseRequested = false;
    this.stopped = undefined;
    try {
      const stop = await this.executeSteps(step.kind, start);
      if (stop) await this.handleStop(stop);
      else this.reportStopped('pause', await this.machine.getState(), 'paused');
    } catch (e) {
      if (!this.ended) {
        this.console(`internal error while running the guest: ${e instanceof Error ? e.stack : String(e)}`, 'stderr');
        this.reportStopped('exception', await this.machine.getState(), 'the debugger failed to run the guest; see the Debug Console');
      }
    } finally {
      this.running = false;
    }
  }

  /** Runs one user-level action to its stop (breakpoint conditions and step-overs handled here). */
  private async executeSteps(kind: 'continue' | 'instruction' | 'over' | 'in' | 'out', start: Stopped): Promise<StopInfo | undefined> {
    const range = kind === 'over' || kind === 'in' ? this.lineRange(start.pc) : undefined;
    if ((kind === 'over' || kind === 'in') && !range) kind = 'instruction'; // no line here: step an instruction
    for (;;) {
      let stop: StopInfo | undefined;
      if (kind === 'instruction') stop = await this.run(this.debugRun({ singleStep: true }));
      else if (kind === 'in') stop = await this.run(this.debugRun({ stepRanges: [range!] }));
      else if (kind === 'over') {
        const calls = this.callSites(range!, start);
        // On a call (at the start, or reached while stepping the line): run to the instruction after it.
        let call: Stopped | undefined = calls.includes(start.pc) ? start : undefined;
        if (!call) {
          stop = await this.run(this.debugRun({ stepRanges: [range!], stopPoints: calls }));
          if (stop.reason === 'step' && calls.includes(stop.pc!)) call = { regs: stop.regs, sregs: stop.sregs, pc: stop.pc! };
        }
        if (call && !this.pauseRequested) {
          const after = call.pc + BigInt(this.instructionLength(call.pc, call) ?? 1);
          // A rep string instruction stays at its own address between iterations: a breakpoint
          // there is not met again while it runs to the end.
          const repeats = /\brep/.test(this.instructionAt(call.pc, call)?.text ?? '');
          stop = await this.run(this.debugRun({}, [after], repeats ? [call.pc] : []));
          if (stop.reason === 'breakpoint' && stop.pc === after && this.breakpoints.at(after).length === 0 && !this.pauseRequested) {
            if (after >= range![0] && after < range![1]) {
              start = { regs: stop.regs, sregs: stop.sregs, pc: after };
              continue;
            }
            stop.reason = 'step';
          }
        }
      } else if (kind === 'out') {
        const sym = this.info?.symbols.at(Number(start.pc));
        const fnStart = sym ? BigInt(sym.symbol.value) : start.pc;
        const fnEnd = this.functionEnd(fnStart, start.pc);
        stop = await this.run(this.debugRun({ stepRanges: [[fnStart, fnEnd]], stepOutSp: start.regs.rsp }));
      } else stop = await this.run(this.debugRun());
      if (!stop) return undefined; // paused before anything ran

      if (stop.reason === 'breakpoint' && kind === 'continue') {
        const decision = this.breakpointDecision(stop);
        if (decision === 'continue' && !this.pauseRequested) {
          start = { regs: stop.regs, sregs: stop.sregs, pc: stop.pc! };
          continue;
        }
      } else if (stop.reason === 'breakpoint') {
        // A breakpoint met while stepping stops the step, if its condition holds.
        if (this.breakpointDecision(stop) === 'continue' && !this.pauseRequested) {
          start = { regs: stop.regs, sregs: stop.sregs, pc: stop.pc! };
          if (kind === 'instruction') stop.reason = 'step';
          else continue;
        }
      }
      return stop;
    }
  }

  /** The end of the function containing pc: the next symbol after its start, or a page later. */
  private functionEnd(fnStart: bigint, pc: bigint): bigint {
    const next = this.info?.symbols
      .all()
      .map((s) => BigInt(s.value))
      .filter((v) => v > fnStart)
      .sort((a, b) => (a < b ? -1 : 1))[0];
    return next !== undefined && next > pc ? next : pc + 1n;
  }

  private stopIds = new Map<bigint, number[]>();

  /** Counts hits at a breakpoint stop and decides: stop, or log and continue. */
  private breakpointDecision(stop: StopInfo): 'stop' | 'continue' {
    const at = this.breakpoints.at(stop.pc!);
    if (at.length === 0) return 'stop'; // a temporary step-over breakpoint
    const s: Stopped = { regs: stop.regs, sregs: stop.sregs, pc: stop.pc! };
    const ctx = this.evalContext(s);
    const loc = this.info?.lines.locate(Number(s.pc));
    const stopping = breakpointsThatStop(at, ctx, {
      warn: (text) => this.console(text, 'stderr'),
      log: (text) => this.sendEvent(new OutputEvent(text + '\n', 'console', loc ? { source: { path: loc.file }, line: loc.line } : undefined) as DebugProtocol.OutputEvent),
    });
    this.stopIds.set(stop.pc!, stopping);
    return stopping.length ? 'stop' : 'continue';
  }

  private async handleStop(stop: StopInfo): Promise<void> {
    if (this.ended) return;
    const message = describeStop(stop, { timeoutSeconds: this.launchArgs?.timeout });
    switch (stop.reason) {
      case 'halted':
        return this.endSession(EXIT_STATUS.halted, message);
      case 'exited':
        return this.endSession(exitStatusOf('exited', stop.guestExitCode), message);
      case 'timeout':
        return this.endSession(EXIT_STATUS.timeout, message);
      case 'terminated':
        return;
      case 'paused':
        return this.reportStopped(this.pauseRequested ? 'pause' : 'step', stop, 'paused');
      case 'step':
        return this.reportStopped('step', stop);
      case 'breakpoint': {
        if (this.breakpoints.at(stop.pc!).length === 0) return this.reportStopped('step', stop);
        return this.reportStopped('breakpoint', stop, undefined, this.stopIds.get(stop.pc!));
      }
      case 'data-breakpoint':
        return this.reportStopped('data breakpoint', stop, this.describeAccess(stop));
      case 'shutdown':
        this.dead = { exitCode: EXIT_STATUS.shutdown, message };
        this.console(message, 'important');
        return this.reportStopped('exception', stop, 'Triple fault: the guest cannot continue. Inspect the registers; Continue ends the session.');
      default: {
        this.dead = { exitCode: stop.reason === 'internal-error' || stop.reason === 'entry-failure' ? EXIT_STATUS['internal-error'] : EXIT_STATUS.error, message };
        this.console(message, 'important');
        return this.reportStopped('exception', stop, message);
      }
    }
  }

  /** "write of 4 bytes (2a 00 00 00) to 0x400 by the instruction at …" for a data breakpoint stop. */
  private describeAccess(stop: StopInfo): string {
    const w = stop.access!;
    const s: Stopped = { regs: stop.regs, sregs: stop.sregs, pc: stop.sregs.cs.base + stop.regs.rip };
    const writer = w.at !== undefined ? this.instructionAt(w.at, s) : this.instructionEndingAt(s.pc, s);
    const loc = writer ? this.info?.lines.locate(Number(writer.address)) : undefined;
    const data = w.data.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return (
      `Data breakpoint: ${w.write ? 'write' : 'read'} of ${w.length} byte${w.length === 1 ? '' : 's'} (${data}) ${w.write ? 'to' : 'from'} 0x${w.address.toString(16)}` +
      (writer ? ` by ${writer.text} at 0x${writer.address.toString(16)}` : '') +
      (loc ? ` (${path.basename(loc.file)}:${loc.line})` : '')
    );
  }

  /** The instruction that ends exactly at `pc` (the one just executed), via known boundaries. */
  private instructionEndingAt(pc: bigint, s: Stopped): { address: bigint; text: string } | undefined {
    const [prev] = disassembleAround(this.disassemblySource(s), pc, -1, 1);
    return prev && !prev.placeholder && !prev.invalid ? { address: prev.address, text: prev.text } : undefined;
  }

  /** The instruction at a linear address, decoded in the current bitness. */
  private instructionAt(address: bigint, s: Stopped): { address: bigint; text: string } | undefined {
    const r = this.space(s).read({ address, physical: false }, 15);
    const [ins] = disassemble(r.data, address, currentBitness(s.sregs), 1, this.syntax);
    return ins && !ins.invalid ? { address, text: ins.text } : undefined;
  }

  private reportStopped(reason: string, state: { regs: Regs; sregs: SRegs }, description?: string, hitBreakpointIds?: number[]): void {
    if (this.ended) return;
    this.stopped = { regs: state.regs, sregs: state.sregs, pc: state.sregs.cs.base + state.regs.rip };
    const ev = new StoppedEvent(reason, THREAD_ID) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (description) ev.body.description = description;
    if (description && reason === 'exception') ev.body.text = description;
    if (hitBreakpointIds?.length) ev.body.hitBreakpointIds = hitBreakpointIds;
    this.sendEvent(ev);
  }

  // ---- breakpoints ----------------------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const file = args.source.path ?? args.source.name ?? '';
    const specs = (args.breakpoints ?? []).map((b) => ({ line: b.line, condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage }));
    const list = this.breakpoints.setSource(file, specs, this.info ? this.bindLine : undefined);
    response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
    this.sendResponse(response);
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    const list = this.breakpoints.setInstruction(
      args.breakpoints.map((b) => {
        const ref = parseMemoryReference(b.instructionReference);
        return {
          reference: b.instructionReference, offset: b.offset, condition: b.condition, hitCondition: b.hitCondition,
          address: ref && !ref.physical ? ref.address + BigInt(b.offset ?? 0) : undefined,
          error: ref && !ref.physical ? undefined : `'${b.instructionReference}' is not a linear address`,
        };
      }),
    );
    response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const list = this.breakpoints.setFunctions(
      args.breakpoints.map((b) => {
        const sym = this.info?.symbols.lookup(b.name);
        return {
          name: b.name, condition: b.condition, hitCondition: b.hitCondition, address: sym ? BigInt(sym.value) : undefined,
          error: sym ? undefined : this.info ? `no symbol '${b.name}' in the program` : 'the program is not built yet',
        };
      }),
    );
    response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
    this.sendResponse(response);
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    void this.guard(response, () => {
      const stopped = this.stopped;
      response.body = dataBreakpointInfo(args, {
        symbol: this.symbolValue,
        expression: stopped ? (n) => evaluate(n, this.evalContext(stopped)).address : undefined,
      }, this.watchKinds());
      this.sendResponse(response);
    });
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    const out: DebugProtocol.Breakpoint[] = [];
    this.breakpoints.data = [];
    for (const b of args.breakpoints) {
      const m = /^0x([0-9a-f]+):(\d+)$/i.exec(b.dataId);
      const kind = (b.accessType ?? 'write') as WatchKind;
      if (!m || !this.watchKinds().includes(kind)) {
        out.push({
          verified: false,
          message: m ? `${this.accelerator?.label ?? 'this accelerator'} watches ${this.watchKinds().join(', ')} accesses only${this.accelerator?.name === 'kvm' ? ' (read-only memory slots catch writes); the software CPU (accel "tcg") also watches reads' : ''}` : `bad data breakpoint id '${b.dataId}'`,
        });
        continue;
      }
      const linear = BigInt('0x' + m[1]);
      const phys = this.stopped ? this.space(this.stopped).translate(linear) : linear;
      if (phys === undefined || (this.machine && phys >= BigInt(this.machine.memory.size))) {
        out.push({ verified: false, message: `0x${linear.toString(16)} is not mapped to guest RAM` });
        continue;
      }
      this.breakpoints.data.push({ dataId: b.dataId, start: Number(phys), end: Number(phys) + Number(m[2]), kind, condition: b.condition, hitCondition: b.hitCondition, hits: 0 });
      out.push({ verified: true, message: `${kind === 'readWrite' ? 'read/write' : kind} watch on ${m[2]} bytes at 0x${linear.toString(16)}` });
    }
    response.body = { breakpoints: out };
    this.sendResponse(response);
  }

  /** The data breakpoint kinds the session's accelerator supports (before launch: what every one does). */
  private watchKinds(): WatchKind[] {
    const kinds = this.accelerator?.capabilities.watchKinds ?? ['write'];
    return WATCH_KINDS.filter((k) => kinds.includes(k));
  }

  // ---- state ----------------------------------------------------------------------------------

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    void this.guard(response, () => {
      const s = this.requireStopped();
      const frames = this.walkFrames(s).map((pc, i) => this.frameAt(pc, i));
      const start = args.startFrame ?? 0;
      const levels = args.levels || frames.length;
      response.body = { stackFrames: frames.slice(start, start + levels), totalFrames: frames.length };
      this.sendResponse(response);
    });
  }

  private frameAt(pc: bigint, index: number): DebugProtocol.StackFrame {
    // A caller's frame holds a return address: its line is the call's, one byte before.
    const loc = this.info?.lines.locate(Number(index > 0 ? pc - 1n : pc));
    const sym = this.info?.symbols.at(Number(pc));
    const name = sym ? (sym.offset ? `${sym.symbol.name}+0x${sym.offset.toString(16)}` : sym.symbol.name) : `0x${pc.toString(16)}`;
    const frame: DebugProtocol.StackFrame = {
      id: index + 1, name, line: loc?.line ?? 0, column: loc ? Math.max(loc.column, 1) : 0,
      instructionPointerReference: linearRef(pc),
    };
    if (loc) frame.source = { name: path.basename(loc.file), path: loc.file };
    else frame.presentationHint = 'subtle';
    return frame;
  }

  /** The PC, then return addresses from the frame-pointer chain (or [sp] in a leaf called by `call`). */
  private walkFrames(s: Stopped): bigint[] {
    const frames = [s.pc];
    const bitness = currentBitness(s.sregs);
    const word = bitness / 8;
    const space = this.space(s);
    const readWord = (linear: bigint): bigint | undefined => {
      const r = space.read({ address: linear, physical: false }, word);
      if (r.unreadable) return undefined;
      let v = 0n;
      for (let i = r.data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.data[i]);
      return v;
    };
    const ssBase = s.sregs.ss.base;
    const looksLikeReturn = (ret: bigint | undefined): ret is bigint => {
      if (ret === undefined || ret === 0n || !this.info?.lines.locate(Number(ret))) return false;
      const before = this.instructionEndingAt(ret, s);
      return before !== undefined && /^(call|lcall)/.test(before.text);
    };
    const mask = bitness === 64 ? 0xffffffffffffffffn : bitness === 32 ? 0xffffffffn : 0xffffn;
    let fp = s.regs.rbp & mask;
    const sp = s.regs.rsp & mask;
    // Frame-pointer chain first (C with frame pointers)...
    for (let depth = 0; depth < 64 && fp > sp; depth++) {
      const ret = readWord(ssBase + fp + BigInt(word));
      const next = readWord(ssBase + fp);
      if (!looksLikeReturn(ret) || next === undefined || next <= fp) break;
      if (!frames.includes(ret)) frames.push(ret);
      fp = next;
    }
    if (frames.length > 1) return frames;
    // ...else scan the stack for return addresses (assembly without frame pointers): a word that
    // points just after a call instruction in the program.
    for (let i = 0, at = sp; i < 256 && frames.length < 32; i++, at += BigInt(word)) {
      const v = readWord(ssBase + at);
      if (v === undefined) break;
      if (looksLikeReturn(v)) frames.push(v);
    }
    return frames;
  }

  private machineState(s: Stopped): MachineState {
    const space = this.space(s);
    return {
      regs: s.regs, sregs: s.sregs, bitness: currentBitness(s.sregs), longMode: (s.sregs.efer & 0x400n) !== 0n,
      dataSymbols: this.dataSymbols(),
      read: (address, size) => {
        const r = space.read({ address, physical: false }, size);
        if (r.unreadable) return undefined;
        let v = 0n;
        for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.data[i]);
        return v;
      },
    };
  }

  /** Labels of data (object symbols, or labels outside every line-table range). */
  private dataSymbols(): DataSymbol[] {
    if (!this.info) return [];
    return this.info.symbols
      .all()
      .filter((sym) => sym.kind === 'object' || (sym.kind === 'notype' && !this.info!.lines.locate(sym.value)))
      .map((sym) => ({ name: sym.name, address: BigInt(sym.value), size: sym.size }))
      .slice(0, 200);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse): void {
    void this.guard(response, () => {
      const s = this.requireStopped();
      s.tree = new VariableTree(this.machineState(s));
      response.body = { scopes: s.tree.scopes() };
      this.sendResponse(response);
    });
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    void this.guard(response, () => {
      const s = this.requireStopped();
      const hex = args.format?.hex !== false;
      if (!s.tree || !hex) {
        const tree = new VariableTree(this.machineState(s), hex);
        if (!s.tree) s.tree = tree;
        tree.scopes();
        const vars = (hex ? s.tree : tree).variables(args.variablesReference);
        if (!vars) throw new RequestError(`unknown variables reference ${args.variablesReference}`);
        response.body = { variables: vars };
      } else {
        const vars = s.tree.variables(args.variablesReference);
        if (!vars) throw new RequestError(`unknown variables reference ${args.variablesReference}`);
        response.body = { variables: vars };
      }
      this.sendResponse(response);
    });
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    void this.guard(response, async () => {
      const s = this.requireStopped();
      const scope = s.tree?.scopeName(args.variablesReference);
      if (!scope) throw new RequestError(`cannot set '${args.name}' here`);
      const value = evaluate(args.value, this.evalContext(s)).value;
      let regs = s.regs;
      let sregs = s.sregs;
      if (scope === 'Flags') {
        const field = decodeRflags(regs.rflags).find((f) => f.name === args.name);
        if (!field || field.bit === undefined) throw new RequestError(`unknown flag '${args.name}'`);
        const width = BigInt(field.width ?? 1);
        const mask = ((1n << width) - 1n) << BigInt(field.bit);
        regs = { ...regs, rflags: (regs.rflags & ~mask) | ((value << BigInt(field.bit)) & mask) | 0x2n };
      } else if (scope === 'Registers' || scope === 'System') {
        ({ regs, sregs } = writeRegister(args.name, value, regs, sregs));
      } else if (scope === 'Symbols') {
        const sym = this.dataSymbols().find((d) => d.name === args.name);
        if (!sym) throw new RequestError(`unknown symbol '${args.name}'`);
        const size = [1, 2, 4, 8].includes(sym.size) ? sym.size : Math.min(currentBitness(s.sregs) / 8, 4);
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
        if (this.space(s).write({ address: sym.address, physical: false }, bytes) < size) throw new RequestError(`0x${sym.address.toString(16)} is not mapped`);
        this.sendEvent(new MemoryEvent(linearRef(sym.address), 0, size));
      } else throw new RequestError(`${scope} cannot be changed here`);
      await this.machine!.setState(regs, sregs);
      this.stopped = { regs, sregs, pc: sregs.cs.base + regs.rip };
      const tree = new VariableTree(this.machineState(this.stopped));
      this.stopped.tree = tree;
      tree.scopes();
      response.body = { value: scope === 'Flags' ? value.toString() : '0x' + value.toString(16) };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables', 'stacks']));
    });
  }

  // ---- memory and disassembly ----------------------------------------------------------------

  /** A DAP memory reference plus offset, as a linear or physical address. */
  private memoryArgument(reference: string, offset = 0): MemoryReference {
    const ref = parseMemoryReference(reference);
    if (!ref) throw new RequestError(`'${reference}' is not a memory reference (0x… or phys:0x…)`);
    return { ...ref, address: ref.address + BigInt(offset) };
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    void this.guard(response, () => {
      const s = this.requireStopped();
      const start = this.memoryArgument(args.memoryReference, args.offset);
      const count = Math.min(Math.max(args.count, 0), 1 << 20);
      const r = this.space(s).read(start, count);
      if (count > 0 && r.data.length === 0)
        throw new RequestError(`${start.physical ? 'guest-physical' : 'guest-virtual'} address 0x${start.address.toString(16)} is not mapped to guest memory`);
      response.body = { address: linearRef(start.address), data: Buffer.from(r.data).toString('base64'), unreadableBytes: r.unreadable };
      this.sendResponse(response);
    });
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    void this.guard(response, () => {
      const s = this.requireStopped();
      const start = this.memoryArgument(args.memoryReference, args.offset);
      const data = Buffer.from(args.data, 'base64');
      const written = this.space(s).write(start, data);
      if (written === 0 && data.length > 0) throw new RequestError(`0x${start.address.toString(16)} is not mapped to guest memory`);
      response.body = { offset: args.offset ?? 0, bytesWritten: written };
      this.sendResponse(response);
      this.sendEvent(new MemoryEvent(args.memoryReference, args.offset ?? 0, written));
      this.sendEvent(new InvalidatedEvent(['variables']));
    });
  }

  private disassemblySource(s: Stopped) {
    const space = this.space(s);
    // The program's boundaries are computed once per build; the PC is one more known start.
    let boundaries = this.programBoundaries;
    if (!boundaries.includes(s.pc)) {
      const at = boundaries.findIndex((b) => b > s.pc);
      boundaries = at < 0 ? [...boundaries, s.pc] : [...boundaries.slice(0, at), s.pc, ...boundaries.slice(at)];
    }
    return {
      bitness: currentBitness(s.sregs),
      syntax: this.syntax,
      read: (address: bigint, length: number) => space.read({ address, physical: false }, length).data,
      boundaries,
    };
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    void this.guard(response, () => {
      const s = this.requireStopped();
      const ref = parseMemoryReference(args.memoryReference);
      if (!ref || ref.physical) throw new RequestError(`'${args.memoryReference}' is not a linear address`);
      const base = ref.address + BigInt(args.offset ?? 0);
      const list = disassembleAround(this.disassemblySource(s), base, args.instructionOffset ?? 0, args.instructionCount);
      let lastLine: string | undefined;
      response.body = {
        instructions: list.map((ins) => {
          const out: DebugProtocol.DisassembledInstruction = {
            address: linearRef(ins.address),
            instructionBytes: ins.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' '),
            instruction: ins.text,
          };
          if (ins.placeholder || ins.invalid) out.presentationHint = 'invalid';
          const sym = this.info?.symbols.at(Number(ins.address));
          if (sym && sym.offset === 0) out.symbol = sym.symbol.name;
          const loc = this.info?.lines.locate(Number(ins.address));
          if (loc) {
            const key = `${loc.file}:${loc.line}`;
            if (key !== lastLine) {
              out.location = { name: path.basename(loc.file), path: loc.file };
              out.line = loc.line;
            }
            lastLine = key;
          }
          return out;
        }),
      };
      this.sendResponse(response);
    });
  }

  // ---- evaluation -----------------------------------------------------------------------------

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    void this.guard(response, () => {
      const text = args.expression.trim();
      if (args.context === 'repl' && text.startsWith('.')) {
        response.body = { result: this.replCommand(text), variablesReference: 0 };
        this.sendResponse(response);
        return;
      }
      const s = this.requireStopped();
      const r = evaluate(text, this.evalContext(s));
      const hex = args.format?.hex !== false;
      const size = r.size ?? currentBitness(s.sregs) / 8;
      const shown = formatValue(r.value, { hex, size, signed: r.signed });
      response.body = {
        result: hex && args.context !== 'hover' ? `${shown} (${r.signed ? BigInt.asIntN(64, r.value) : r.value})` : shown,
        variablesReference: 0,
        memoryReference: linearRef(r.address ?? r.value),
        type: r.register ? `register ${r.register}` : r.address !== undefined ? `${size}-byte value at 0x${r.address.toString(16)}` : undefined,
      };
      this.sendResponse(response);
    });
  }

  private replCommand(text: string): string {
    const s = this.stopped && !this.running ? this.stopped : undefined;
    return String(
      runReplCommand(text, {
        machine: this.machine,
        stopped: s ? { regs: s.regs, sregs: s.sregs, space: this.space(s) } : undefined,
        modeName: s ? currentModeName(s.sregs) : undefined,
      }),
    );
  }

  // ---- custom requests (the extension's views and serial terminal) ----------------------------

  protected override async customRequest(command: string, response: DebugProtocol.Response, args: Record<string, unknown>): Promise<void> {
    await this.guard(response, async () => {
      switch (command) {
        case 'kvmGuest/sendInput': {
          if (!this.machine) throw new RequestError('the guest is not running');
          const text = String(args?.text ?? '');
          response.body = { accepted: this.machine.sendInput(Buffer.from(text, 'utf8')) };
          break;
        }
        case 'kvmGuest/devices':
          response.body = runReplCommand('.devices', { machine: this.machine, json: true });
          break;
        case 'kvmGuest/machine':
        case 'kvmGuest/exitStats':
        case 'kvmGuest/gdt':
        case 'kvmGuest/pageWalk':
        case 'kvmGuest/pageTable':
          response.body = this.viewRequest(command, args);
          break;
        default:
          throw new RequestError(`unknown request '${command}'`);
      }
      this.sendResponse(response);
    });
  }

  private viewRequest(command: string, args: Record<string, unknown>): unknown {
    // Exit statistics are cumulative counters: readable while the guest runs too.
    if (command === 'kvmGuest/exitStats') return runReplCommand('.exits', { machine: this.machine, json: true });
    const s = this.requireStopped();
    const params = command === 'kvmGuest/pageTable' ? ` ${args.table} ${args.level} ${args.linearBase ?? '0'}` : args?.address ? ` ${String(args.address)}` : '';
    return runReplCommand(`.${command.split('/')[1]}${params}`, {
      machine: this.machine, stopped: { regs: s.regs, sregs: s.sregs, space: this.space(s) }, modeName: currentModeName(s.sregs), json: true,
    });
  }
}
