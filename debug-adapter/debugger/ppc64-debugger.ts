// The debug session's ppc64 half: once a launch names (or its program is) a ppc64 guest, session.ts
// hands every request about the guest to this object. It drives the ppc64 machine
// (vmm/ppc64/ppc64-machine.ts) directly — the machine runs in slices on this thread, so a pause is
// seen between slices — and answers with POWER registers (r0–r31, pc, msr decoded, lr, ctr, cr
// fields, xer), source lines from the big- or little-endian DWARF, and objdump's disassembly.
import path from 'node:path';
import { BreakpointEvent, Event, ExitedEvent, MemoryEvent, OutputEvent, StoppedEvent, TerminatedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { BuildFailure, UsageError } from '../guest-setup';
import { ArchChoice, parseEndian, preparePpc64Guest, PreparedPpc64Guest } from '../ppc64/ppc64-guest';
import { ppc64AcceleratorProblem } from '../ppc64/ppc64-accelerator';
import type { AcceleratorChoice, WatchKind } from '../vmm/accelerator';
import { Ppc64Machine, Ppc64Stop } from '../vmm/ppc64/ppc64-machine';
import {
  crFields, decodeMsr, describeCrField, describeXer, formatSeedDump, formatSpecialRegs, ppc64Register, Ppc64Regs,
} from '../vmm/ppc64/ppc64-state';
import { loadDebugInfo, DebugInfo } from '../program/debug-info';
import { disassemblePpc64, isPpc64Call } from '../program/ppc64-disassembler';
import { EXIT_STATUS } from '../exit-status';
import { Breakpoint, BreakpointStore, hitConditionMet, LineBinding } from './breakpoints';
import { bindLineIn, breakpointsThatStop, dataBreakpointInfo, toDapBreakpoint } from './dap-breakpoints';
import { EvalContext, evaluate, evaluateCondition } from '../inspect/expression';
import { linearRef, parseMemoryReference } from './guest-address-space';

const THREAD_ID = 1;
/** Steps between event-loop turns while stepping through a line (so that a pause gets in). */
const STEPS_PER_TURN = 1000;

/** What the ppc64 half needs from the session it serves. */
export interface DapChannel {
  send(response: DebugProtocol.Response): void;
  event(event: DebugProtocol.Event): void;
  fail(response: DebugProtocol.Response, message: string, showUser?: boolean): void;
}

export interface Ppc64LaunchArguments {
  program: string;
  cwd?: string;
  endian?: string;
  memory?: string;
  build?: boolean;
  stopOnEntry?: boolean;
  timeout?: number;
  accel?: AcceleratorChoice;
  /** Run without debugging (Ctrl+F5): breakpoints do not stop it. */
  noDebug?: boolean;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Requests this object answers once it exists (threads and configurationDone stay the session's). */
const HANDLED = new Set([
  'setBreakpoints', 'setInstructionBreakpoints', 'setFunctionBreakpoints', 'continue', 'next', 'stepIn', 'stepOut', 'pause',
  'stackTrace', 'scopes', 'variables', 'setVariable', 'readMemory', 'writeMemory', 'disassemble', 'evaluate', 'disconnect',
  'terminate', 'restart', 'dataBreakpointInfo', 'setDataBreakpoints',
]);

export class Ppc64Debugger {
  private machine?: Ppc64Machine;
  private prepared?: PreparedPpc64Guest;
  private info?: DebugInfo;
  private stopped?: Ppc64Regs;
  private running = false;
  private ended = false;
  private pauseRequested = false;
  /** An interrupt with no handler: the next resume ends the session with this. */
  private dead?: { exitCode: number; message: string };
  private launchArgs?: Ppc64LaunchArguments;
  private readonly decoder = new TextDecoder('utf-8');
  private refs = new Map<number, { kind: 'registers' | 'msr' | 'cr' }>();

  constructor(
    private readonly dap: DapChannel,
    private readonly breakpoints: BreakpointStore,
    private readonly arch: ArchChoice,
    private readonly defaultAccel: AcceleratorChoice,
  ) {}

  handles(command: string): boolean {
    return HANDLED.has(command) || command.startsWith('kvmGuest/');
  }

  private console(text: string, category: 'console' | 'stdout' | 'stderr' | 'important' = 'console'): void {
    this.dap.event(new OutputEvent(text.endsWith('\n') ? text : text + '\n', category));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async launch(response: DebugProtocol.LaunchResponse, args: Ppc64LaunchArguments, configured: Promise<void>): Promise<void> {
    this.launchArgs = args;
    try {
      await this.start(args);
    } catch (e) {
      if (e instanceof BuildFailure) {
        for (const d of e.diagnostics) this.console(`${d.file}:${d.line}${d.column ? ':' + d.column : ''}: ${d.severity}: ${d.message}`, 'stderr');
        this.dap.fail(response, `Build failed: ${e.message}`, true);
      } else this.dap.fail(response, e instanceof Error ? e.message : String(e), true);
      this.dap.event(new TerminatedEvent());
      return;
    }
    this.dap.send(response);
    await configured;
    if (args.stopOnEntry) this.reportStopped('entry', 'stopped at the entry point (the System Reset vector)');
    else void this.execute('continue');
  }

  private async start(args: Ppc64LaunchArguments): Promise<void> {
    const problem = ppc64AcceleratorProblem(args.accel ?? this.defaultAccel);
    if (problem) throw new UsageError(problem);
    const file = path.resolve(args.cwd ?? process.cwd(), args.program);
    const prepared = await preparePpc64Guest({ file, arch: this.arch, endian: parseEndian(args.endian), memory: args.memory, build: args.build });
    for (const d of prepared.build?.diagnostics ?? []) this.console(`${d.file}:${d.line}: ${d.severity}: ${d.message}`, 'stderr');
    this.prepared = prepared;
    this.info = loadDebugInfo(prepared.elfPath);
    for (const bp of this.breakpoints.rebindSources(this.bindLine)) this.dap.event(new BreakpointEvent('changed', this.toDapBreakpoint(bp)));
    const lookup = (name: string): bigint | undefined => {
      const s = this.info?.symbols.lookup(name);
      return s ? BigInt(s.value) : undefined;
    };
    for (const bp of this.breakpoints.rebindFunctions(lookup, true)) this.dap.event(new BreakpointEvent('changed', this.toDapBreakpoint(bp)));
    const machine = new Ppc64Machine({
      image: prepared.image, memorySize: prepared.memorySize, endian: prepared.endian, entry: prepared.entry, programEnd: prepared.programEnd,
    });
    this.machine = machine;
    this.ended = false;
    this.dead = undefined;
    machine.onOutput((bytes) => this.dap.event(new OutputEvent(this.decoder.decode(bytes, { stream: true }), 'stdout')));
    const why = `running the ppc64 guest on the ${machine.label} (KVM runs only guests of the host's own architecture)`;
    this.console(why.charAt(0).toUpperCase() + why.slice(1));
    this.dap.event(new Event('kvmGuest.accelerator', { name: 'tcg', label: machine.label, why }));
    this.console('Breakpoints: exact and unlimited on the software CPU (code hooks).');
    this.console(
      `${path.basename(file)}: ppc64 ${prepared.endian}-endian (architecture from ${prepared.archSource}; byte order from ${prepared.endianSource}), ` +
        `${prepared.memorySize >> 10} KiB of memory, entry ${hex(prepared.entry)}, program ends at ${hex(prepared.programEnd)}; output port at 0x10000000`,
    );
    this.stopped = machine.state();
  }

  private bindLine = (file: string, line: number): LineBinding => bindLineIn(this.info, file, line);

  private toDapBreakpoint(bp: Breakpoint): DebugProtocol.Breakpoint {
    return toDapBreakpoint(bp);
  }

  private async teardown(): Promise<void> {
    this.ended = true;
    this.pauseRequested = true;
    const m = this.machine;
    this.machine = undefined;
    this.stopped = undefined;
    if (m) {
      m.pause();
      // A run in progress ends at its slice's end; close the engine only after it.
      while (this.running) await new Promise((r) => setTimeout(r, 5));
      m.close();
    }
  }

  private endSession(exitCode: number, message: string): void {
    if (this.ended) return;
    this.console(message, exitCode === 0 ? 'console' : 'important');
    this.dap.event(new ExitedEvent(exitCode));
    this.dap.event(new TerminatedEvent());
    void this.teardown();
  }

  // ---- requests -------------------------------------------------------------------------------

  dispatch(request: DebugProtocol.Request, response: DebugProtocol.Response): void {
    const args = request.arguments ?? {};
    void (async (): Promise<void> => {
      try {
        await this.answer(request.command, args, response);
      } catch (e) {
        this.dap.fail(response, e instanceof Error ? e.message : String(e), e instanceof UsageError);
      }
    })();
  }

  private requireStopped(): Ppc64Regs {
    if (!this.machine || this.ended) throw new Error('the guest is not running');
    if (!this.stopped || this.running) throw new Error('the guest is running: pause it first');
    return this.stopped;
  }

  // eslint-disable-next-line complexity
  private async answer(command: string, args: Record<string, unknown>, response: DebugProtocol.Response): Promise<void> {
    const a = args as never;
    switch (command) {
      case 'setBreakpoints': {
        const b = a as DebugProtocol.SetBreakpointsArguments;
        const file = b.source.path ?? b.source.name ?? '';
        const specs = (b.breakpoints ?? []).map((x) => ({ line: x.line, condition: x.condition, hitCondition: x.hitCondition, logMessage: x.logMessage }));
        const list = this.breakpoints.setSource(file, specs, this.info ? this.bindLine : undefined);
        response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
        return this.dap.send(response);
      }
      case 'setInstructionBreakpoints': {
        const b = a as DebugProtocol.SetInstructionBreakpointsArguments;
        const list = this.breakpoints.setInstruction(
          b.breakpoints.map((x) => {
            const ref = parseMemoryReference(x.instructionReference);
            return ref ? { reference: x.instructionReference, offset: x.offset, address: ref.address + BigInt(x.offset ?? 0) } : { reference: x.instructionReference, error: `'${x.instructionReference}' is not an address` };
          }),
        );
        response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
        return this.dap.send(response);
      }
      case 'setFunctionBreakpoints': {
        const b = a as DebugProtocol.SetFunctionBreakpointsArguments;
        const list = this.breakpoints.setFunctions(
          b.breakpoints.map((x) => {
            const s = this.info?.symbols.lookup(x.name);
            return s ? { name: x.name, address: BigInt(s.value) } : { name: x.name, error: this.info ? `no symbol '${x.name}' in the program` : 'the program is not built yet' };
          }),
        );
        response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
        return this.dap.send(response);
      }
      case 'dataBreakpointInfo': {
        const info = this.info;
        const stopped = this.stopped;
        response.body = dataBreakpointInfo(a as DebugProtocol.DataBreakpointInfoArguments, {
          symbol: (n) => {
            const sym = info?.symbols.lookup(n);
            return sym ? BigInt(sym.value) : undefined;
          },
          expression: stopped ? (n) => evaluate(n, this.evalContext(stopped)).address : undefined,
        }, ['read', 'write', 'readWrite']);
        return this.dap.send(response);
      }
      case 'setDataBreakpoints': {
        const d = a as DebugProtocol.SetDataBreakpointsArguments;
        const out: DebugProtocol.Breakpoint[] = [];
        this.breakpoints.data = [];
        for (const b of d.breakpoints) {
          const m = /^0x([0-9a-f]+):(\d+)$/i.exec(b.dataId);
          const kind = (b.accessType ?? 'write') as WatchKind;
          if (!m) {
            out.push({ verified: false, message: `bad data breakpoint id '${b.dataId}'` });
            continue;
          }
          // Real mode: the guest-physical address is the effective address without its top four bits.
          const phys = Number(BigInt('0x' + m[1]) & 0x0fff_ffff_ffff_ffffn);
          this.breakpoints.data.push({ dataId: b.dataId, start: phys, end: phys + Number(m[2]), kind, condition: b.condition, hitCondition: b.hitCondition, hits: 0 });
          out.push({ verified: true, message: `${kind === 'readWrite' ? 'read/write' : kind} watch on ${m[2]} bytes at 0x${phys.toString(16)}` });
        }
        response.body = { breakpoints: out };
        return this.dap.send(response);
      }
      case 'continue':
        response.body = { allThreadsContinued: true };
        this.dap.send(response);
        return this.execute('continue');
      case 'next':
      case 'stepIn': {
        this.dap.send(response);
        const g = (a as DebugProtocol.NextArguments).granularity;
        return this.execute(g === 'instruction' ? 'instruction' : command === 'next' ? 'over' : 'in');
      }
      case 'stepOut':
        this.dap.send(response);
        return this.execute('out');
      case 'pause':
        this.dap.send(response);
        if (this.running) {
          this.pauseRequested = true;
          this.machine?.pause();
        }
        return;
      case 'stackTrace': {
        const r = this.requireStopped();
        const frames = [this.frameAt(r.pc, 0)];
        // The caller: LR, when the instruction before it is a branch-and-link (a leaf function has
        // not saved LR, and the seed-style guests keep no stack frames to walk further).
        const callWord = r.lr >= 4n && r.lr !== r.pc ? this.machine!.instructionWord(r.lr - 4n) : undefined;
        if (callWord !== undefined && isPpc64Call(callWord)) frames.push(this.frameAt(r.lr, 1));
        const b = a as DebugProtocol.StackTraceArguments;
        const start = b.startFrame ?? 0;
        response.body = { stackFrames: frames.slice(start, start + (b.levels || frames.length)), totalFrames: frames.length };
        return this.dap.send(response);
      }
      case 'scopes':
        this.requireStopped();
        this.refs = new Map([[1, { kind: 'registers' }], [2, { kind: 'msr' }], [3, { kind: 'cr' }]]);
        response.body = { scopes: [{ name: 'Registers', presentationHint: 'registers', variablesReference: 1, expensive: false }] };
        return this.dap.send(response);
      case 'variables': {
        const r = this.requireStopped();
        const ref = this.refs.get((a as DebugProtocol.VariablesArguments).variablesReference);
        if (!ref) throw new Error(`unknown variables reference ${(a as DebugProtocol.VariablesArguments).variablesReference}`);
        response.body = { variables: this.variables(ref.kind, r) };
        return this.dap.send(response);
      }
      case 'setVariable': {
        this.requireStopped();
        const s = a as DebugProtocol.SetVariableArguments;
        const value = BigInt.asUintN(64, BigInt(s.value.trim()));
        this.machine!.setRegister(s.name, value);
        this.stopped = this.machine!.state();
        const now = ppc64Register(this.stopped, s.name);
        response.body = { value: hex(now ?? value) };
        return this.dap.send(response);
      }
      case 'readMemory': {
        this.requireStopped();
        const m = a as DebugProtocol.ReadMemoryArguments;
        const start = this.memoryAddress(m.memoryReference, m.offset);
        const size = this.machine!.memory.size;
        const end = Math.min(size, start + m.count);
        const data = start < size ? this.machine!.memory.read(start, end - start) : new Uint8Array(0);
        response.body = { address: hex(start), data: Buffer.from(data).toString('base64'), unreadableBytes: m.count - data.length };
        return this.dap.send(response);
      }
      case 'writeMemory': {
        this.requireStopped();
        const m = a as DebugProtocol.WriteMemoryArguments;
        const start = this.memoryAddress(m.memoryReference, m.offset);
        const data = Buffer.from(m.data, 'base64');
        this.machine!.writeMemory(start, data);
        response.body = { bytesWritten: data.length };
        this.dap.send(response);
        this.dap.event(new MemoryEvent(m.memoryReference, m.offset ?? 0, data.length));
        return;
      }
      case 'disassemble':
        return this.disassemble(a as DebugProtocol.DisassembleArguments, response);
      case 'evaluate': {
        const e = a as DebugProtocol.EvaluateArguments;
        const r = this.requireStopped();
        if (e.context === 'repl' && e.expression.trim() === '.regs') {
          response.body = { result: `${formatSeedDump(r)}\n${formatSpecialRegs(r)}`, variablesReference: 0 };
          return this.dap.send(response);
        }
        const v = evaluate(e.expression, this.evalContext(r));
        response.body = { result: hex(v.value), variablesReference: 0, memoryReference: hex(v.address ?? v.value) };
        return this.dap.send(response);
      }
      case 'kvmGuest/exitStats': {
        // The ppc64 machine's only exits are the output port's stores (MMIO writes).
        const n = this.machine?.outputBytes ?? 0;
        response.body = { total: n, exits: n ? { MMIO: n } : {}, ports: {}, mmio: n ? { '0x10000000': { read: 0, write: n } } : {} };
        return this.dap.send(response);
      }
      // The views ask at every stop: answer with a plain error (no pop-up), which they show in place.
      case 'kvmGuest/sendInput':
        throw new Error('a ppc64 guest has no input device');
      case 'disconnect':
        await this.teardown();
        return this.dap.send(response);
      case 'terminate':
        await this.teardown();
        this.dap.send(response);
        this.dap.event(new TerminatedEvent());
        return;
      case 'restart':
        await this.teardown();
        this.breakpoints.resetHits();
        await this.start(this.launchArgs!);
        this.dap.send(response);
        if (this.launchArgs!.stopOnEntry) this.reportStopped('entry', 'stopped at the entry point');
        else void this.execute('continue');
        return;
      default:
        if (command.startsWith('kvmGuest/'))
          throw new Error(`the Machine view shows x86 state (GDT, page tables, control registers); a ppc64 guest has none of it: see the Variables view`);
    }
  }

  /** A frame at `pc`; a caller's (index > 0) shows the line of its call, the instruction before. */
  private frameAt(pc: bigint, index: number): DebugProtocol.StackFrame {
    const at = index > 0 ? pc - 4n : pc;
    const loc = this.info?.lines.locate(Number(at));
    const sym = this.info?.symbols.at(Number(at));
    const name = sym ? (sym.offset ? `${sym.symbol.name}+0x${sym.offset.toString(16)}` : sym.symbol.name) : hex(pc);
    const frame: DebugProtocol.StackFrame = { id: index + 1, name, line: loc?.line ?? 0, column: loc ? Math.max(loc.column, 1) : 0, instructionPointerReference: linearRef(pc) };
    if (loc) frame.source = { name: path.basename(loc.file), path: loc.file };
    else frame.presentationHint = 'subtle';
    return frame;
  }

  /** A memory reference as a guest-physical address (real mode: the top four EA bits are ignored). */
  private memoryAddress(reference: string, offset = 0): number {
    const ref = parseMemoryReference(reference);
    if (!ref) throw new Error(`'${reference}' is not a memory reference`);
    return Number((ref.address + BigInt(offset)) & 0x0fff_ffff_ffff_ffffn);
  }

  private variables(kind: 'registers' | 'msr' | 'cr', r: Ppc64Regs): DebugProtocol.Variable[] {
    const v = (name: string, value: string, extra: Partial<DebugProtocol.Variable> = {}): DebugProtocol.Variable => ({ name, value, variablesReference: 0, ...extra });
    if (kind === 'msr') return decodeMsr(r.msr).map((b) => v(b.name, b.set ? '1' : '0', { type: `MSR bit ${b.bit}: ${b.meaning}` }));
    if (kind === 'cr') return crFields(r.cr).map((f, i) => v(`cr${i}`, describeCrField(f)));
    const list = r.gpr.map((g, i) => v(`r${i}`, hex(g), { memoryReference: hex(g), evaluateName: `r${i}` }));
    const msrSet = decodeMsr(r.msr).filter((b) => b.set).map((b) => b.name).join(' ');
    list.push(
      v('pc', hex(r.pc), { memoryReference: hex(r.pc), evaluateName: 'pc' }),
      v('msr', `${hex(r.msr)}${msrSet ? ` (${msrSet})` : ''}`, { variablesReference: 2, evaluateName: 'msr' }),
      v('lr', hex(r.lr), { memoryReference: hex(r.lr), evaluateName: 'lr' }),
      v('ctr', hex(r.ctr), { evaluateName: 'ctr' }),
      v('cr', hex(r.cr), { variablesReference: 3, evaluateName: 'cr' }),
      v('xer', describeXer(r.xer), { evaluateName: 'xer' }),
    );
    return list;
  }

  /**
   * The shared expression language (inspect/expression.ts: arithmetic, comparisons, C casts,
   * `*(u32*)ADDR`, symbols) over POWER registers (r0–r31, sp, pc, msr, lr, ctr, cr, cr0–cr7, xer)
   * and guest memory. The evaluator decodes memory little-endian: a big-endian guest's bytes are
   * handed to it reversed, so values read as the guest reads them.
   */
  private evalContext(r: Ppc64Regs): EvalContext {
    const m = this.machine!;
    const big = this.prepared!.endian === 'big';
    return {
      bitness: 64,
      register: (name) => ppc64Register(r, name),
      symbol: (name) => {
        const s = this.info?.symbols.lookup(name);
        return s ? BigInt(s.value) : undefined;
      },
      readMemory: (address, size) => {
        const at = Number(address & 0x0fff_ffff_ffff_ffffn);
        if (at + size > m.memory.size) return undefined;
        const bytes = m.memory.read(at, size);
        return big ? bytes.reverse() : bytes;
      },
    };
  }

  private async disassemble(args: DebugProtocol.DisassembleArguments, response: DebugProtocol.Response): Promise<void> {
    this.requireStopped();
    const ref = parseMemoryReference(args.memoryReference);
    if (!ref) throw new Error(`'${args.memoryReference}' is not an address`);
    const start = ref.address + BigInt(args.offset ?? 0) + BigInt((args.instructionOffset ?? 0) * 4);
    const count = args.instructionCount;
    const size = BigInt(this.machine!.memory.size);
    // Words inside guest RAM are decoded; the rest are placeholders, so the count is always exact.
    const from = start < 0n ? 0n : start;
    const to = start + BigInt(count * 4) > size ? size : start + BigInt(count * 4);
    const bytes = from < to ? this.machine!.memory.read(Number(from), Number(to - from)) : new Uint8Array(0);
    const decoded = await disassemblePpc64(bytes, from, this.prepared!.endian);
    const byAddress = new Map(decoded.map((d) => [d.address, d]));
    const out: DebugProtocol.DisassembledInstruction[] = [];
    let lastLine: string | undefined;
    for (let i = 0; i < count; i++) {
      const address = start + BigInt(i * 4);
      const d = byAddress.get(address);
      if (!d) {
        out.push({ address: hex(address < 0n ? 0n : address), instruction: '??', presentationHint: 'invalid' });
        continue;
      }
      const ins: DebugProtocol.DisassembledInstruction = { address: hex(address), instructionBytes: d.word.replace(/(..)(?!$)/g, '$1 '), instruction: d.text };
      const sym = this.info?.symbols.at(Number(address));
      if (sym && sym.offset === 0) ins.symbol = sym.symbol.name;
      const loc = this.info?.lines.locate(Number(address));
      if (loc) {
        const key = `${loc.file}:${loc.line}`;
        if (key !== lastLine) {
          ins.location = { name: path.basename(loc.file), path: loc.file };
          ins.line = loc.line;
          lastLine = key;
        }
      }
      out.push(ins);
    }
    response.body = { instructions: out };
    this.dap.send(response);
  }

  // ---- running --------------------------------------------------------------------------------

  private reportStopped(reason: string, description?: string, hitBreakpointIds?: number[]): void {
    if (this.ended || !this.machine) return;
    this.stopped = this.machine.state();
    const ev = new StoppedEvent(reason, THREAD_ID) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (description) ev.body.description = description;
    if (description && reason === 'exception') ev.body.text = description;
    if (hitBreakpointIds?.length) ev.body.hitBreakpointIds = hitBreakpointIds;
    this.dap.event(ev);
  }

  private async execute(kind: 'continue' | 'instruction' | 'over' | 'in' | 'out'): Promise<void> {
    const m = this.machine;
    if (!m || this.running || this.ended) return;
    if (this.dead) return this.endSession(this.dead.exitCode, this.dead.message);
    this.running = true;
    this.pauseRequested = false;
    this.stopped = undefined;
    let stop: Ppc64Stop;
    try {
      stop = await this.executeSteps(m, kind);
    } catch (e) {
      stop = { reason: 'error', pc: 0n, message: `the debugger failed to run the guest: ${e instanceof Error ? e.message : String(e)}` };
    } finally {
      this.running = false;
    }
    if (this.ended) return;
    this.handleStop(stop);
  }

  private async executeSteps(m: Ppc64Machine, kind: 'continue' | 'instruction' | 'over' | 'in' | 'out'): Promise<Ppc64Stop> {
    m.setBreakpoints(this.breakpointAddresses());
    const watches = this.launchArgs?.noDebug ? [] : this.breakpoints.data.map((d) => ({ start: d.start, end: d.end, kind: d.kind }));
    const key = JSON.stringify(watches);
    if (key !== this.armedWatches) {
      m.setWatches(watches);
      this.armedWatches = key;
    }
    const timeout = this.launchArgs?.timeout ? this.launchArgs.timeout * 1000 : undefined;
    if (kind === 'continue') return this.runToBreakpoint(m, timeout);
    if (kind === 'instruction') return m.step();
    const pc0 = m.state().pc;
    if (kind === 'out') {
      // Leave the function: run to the return address in LR (a breakpoint met first stops there).
      const lr = m.state().lr;
      if (lr === 0n || lr === pc0) return m.run(timeout);
      m.setBreakpoints([...this.breakpointAddresses(), lr]);
      const stop = await this.runToBreakpoint(m, timeout);
      return stop.reason === 'breakpoint' && stop.pc === lr && this.breakpoints.at(lr).length === 0 ? { ...stop, reason: 'step' } : stop;
    }
    const range = this.info?.lines.lineRange(Number(pc0));
    if (!range) return m.step();
    const [lo, hi] = [BigInt(range.start), BigInt(range.end)];
    for (let n = 1; ; n++) {
      const pc = m.state().pc;
      const word = m.instructionWord(pc);
      let stop: Ppc64Stop;
      if (kind === 'over' && word !== undefined && isPpc64Call(word)) {
        // Step over a call: run to the instruction after it.
        m.setBreakpoints([...this.breakpointAddresses(), pc + 4n]);
        stop = await this.runToBreakpoint(m, timeout);
        m.setBreakpoints(this.breakpointAddresses());
        if (stop.reason === 'breakpoint' && stop.pc === pc + 4n && this.breakpoints.at(pc + 4n).length === 0) stop = { ...stop, reason: 'step' };
      } else stop = m.step();
      if (stop.reason !== 'step') return stop;
      if (stop.pc < lo || stop.pc >= hi) return stop;
      if (this.breakpoints.at(stop.pc).length > 0 && this.breakpointDecision(stop.pc) === 'stop') return { ...stop, reason: 'breakpoint', message: `breakpoint at ${hex(stop.pc)}` };
      if (n % STEPS_PER_TURN === 0) {
        await new Promise((r) => setImmediate(r));
        if (this.pauseRequested) return { reason: 'paused', pc: stop.pc, message: `paused at ${hex(stop.pc)}` };
      }
    }
  }

  private readonly stopIds = new Map<bigint, number[]>();
  /** The watches armed in the machine (JSON), so that an unchanged set is not re-armed. */
  private armedWatches = '[]';

  /** Where the guest stops: the breakpoints, unless the session runs without debugging. */
  private breakpointAddresses(): bigint[] {
    return this.launchArgs?.noDebug ? [] : this.breakpoints.addresses();
  }

  /** Runs until a stop that is not a breakpoint whose condition, hit count or log message says go on. */
  private async runToBreakpoint(m: Ppc64Machine, timeout: number | undefined): Promise<Ppc64Stop> {
    for (;;) {
      const stop = await m.run(timeout);
      if (this.pauseRequested) return stop;
      if (stop.reason === 'breakpoint' && this.breakpointDecision(stop.pc) === 'continue') continue;
      if (stop.reason === 'watch' && this.watchDecision(stop) === 'continue') continue;
      return stop;
    }
  }

  /** Data breakpoints: conditions and hit counts of the watches the access falls in. */
  private watchDecision(stop: Ppc64Stop): 'stop' | 'continue' {
    const a = stop.access!;
    const hit = this.breakpoints.data.filter((d) => a.address < d.end && a.address + a.length > d.start && (d.kind === 'readWrite' || (d.kind === 'write') === a.write));
    if (hit.length === 0) return 'continue';
    const ctx = this.evalContext(this.machine!.state());
    let stopping = false;
    for (const d of hit) {
      try {
        if (d.condition && !evaluateCondition(d.condition, ctx)) continue;
        d.hits++;
        if (d.hitCondition && !hitConditionMet(d.hitCondition, d.hits)) continue;
      } catch (e) {
        this.console((e as Error).message, 'stderr');
      }
      stopping = true;
    }
    return stopping ? 'stop' : 'continue';
  }

  /** Counts hits at a breakpoint and decides, by conditions, hit counts and log messages: stop, or go on. */
  private breakpointDecision(pc: bigint): 'stop' | 'continue' {
    const at = this.breakpoints.at(pc);
    if (at.length === 0) return 'stop'; // a step-over or step-out target
    const ctx = this.evalContext(this.machine!.state());
    const loc = this.info?.lines.locate(Number(pc));
    const stopping = breakpointsThatStop(at, ctx, {
      warn: (text) => this.console(text, 'stderr'),
      log: (text) => this.dap.event(new OutputEvent(text + '\n', 'console', loc ? { source: { path: loc.file }, line: loc.line } : undefined) as DebugProtocol.OutputEvent),
    });
    this.stopIds.set(pc, stopping);
    return stopping.length ? 'stop' : 'continue';
  }

  private handleStop(stop: Ppc64Stop): void {
    switch (stop.reason) {
      case 'end-of-program':
        return this.endSession(EXIT_STATUS.halted, `The guest ${stop.message}.`);
      case 'timeout':
        return this.endSession(EXIT_STATUS.timeout, stop.message);
      case 'paused':
        return this.reportStopped(this.pauseRequested ? 'pause' : 'step', 'paused');
      case 'step':
        return this.reportStopped('step');
      case 'watch': {
        const a = stop.access!;
        const data = a.data.map((b) => b.toString(16).padStart(2, '0')).join(' ');
        const loc = this.info?.lines.locate(Number(a.at));
        return this.reportStopped(
          'data breakpoint',
          `Data breakpoint: ${a.write ? 'write' : 'read'} of ${a.length} byte${a.length === 1 ? '' : 's'} (${data}) ${a.write ? 'to' : 'from'} 0x${a.address.toString(16)} by the instruction at 0x${a.at.toString(16)}${loc ? ` (${path.basename(loc.file)}:${loc.line})` : ''}`,
        );
      }
      case 'breakpoint': {
        const ids = this.stopIds.get(stop.pc) ?? [];
        return this.reportStopped(ids.length ? 'breakpoint' : 'step', undefined, ids);
      }
      default:
        this.dead = { exitCode: stop.reason === 'error' ? EXIT_STATUS['internal-error'] : EXIT_STATUS.shutdown, message: stop.message };
        this.console(stop.message, 'important');
        return this.reportStopped('exception', `${stop.message}. Inspect the registers; Continue ends the session.`);
    }
  }
}
