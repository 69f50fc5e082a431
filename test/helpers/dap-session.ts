// A DAP session on the real adapter process (dist/debug-adapter.js) through
// @vscode/debugadapter-testsupport's DebugClient: output collected, stopped events that arrive
// before the test waits for them kept, and the requests the suites need. Shared by the DAP and
// README-promise suites.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ROOT } from './cli';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

export const ADAPTER = path.join(ROOT, 'dist', 'debug-adapter.js');

/** The 1-based line of the first line of `file` matching `pattern` (at or after line `from`). */
export function lineOf(file: string, pattern: RegExp, from = 1): number {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = from - 1; i < lines.length; i++) if (pattern.test(lines[i])) return i + 1;
  throw new Error(`${pattern} not in ${file}`);
}

export class Session {
  readonly dc: DebugClient;
  output = '';
  stdout = '';
  /** Output events other than the guest's serial output, one entry per event. */
  messages: string[] = [];
  exitCode?: number;
  /** The bodies of the adapter's kvmGuest.accelerator events. */
  accelerators: { name: string; label: string; why: string }[] = [];
  /** Stopped events nobody waited for yet, and those waiting. */
  private readonly stops: DebugProtocol.StoppedEvent[] = [];
  private readonly stopWaiters: ((e: DebugProtocol.StoppedEvent) => void)[] = [];

  /**
   * `accel`: put into every launch configuration as the `accel` attribute; `env`: more of the
   * adapter process's environment (KVM_GUEST_ACCEL), for launches without the attribute; `cwd`: its
   * working folder.
   */
  constructor(readonly accel: AcceleratorName | undefined, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    const spawnOptions = opts.env || opts.cwd ? { ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) } : undefined;
    this.dc = new DebugClient('node', ADAPTER, 'kvm-guest', spawnOptions);
  }

  async start(): Promise<this> {
    assert.ok(fs.existsSync(ADAPTER), `${ADAPTER} is built by npm run build`);
    await this.dc.start();
    this.dc.on('kvmGuest.accelerator', (e: DebugProtocol.Event) => this.accelerators.push(e.body));
    this.dc.on('output', (e: DebugProtocol.OutputEvent) => {
      this.output += e.body.output;
      if (e.body.category === 'stdout') this.stdout += e.body.output;
      else this.messages.push(e.body.output);
    });
    this.dc.on('exited', (e: DebugProtocol.ExitedEvent) => (this.exitCode = e.body.exitCode));
    this.dc.on('stopped', (e: DebugProtocol.StoppedEvent) => {
      const waiter = this.stopWaiters.shift();
      if (waiter) waiter(e);
      else this.stops.push(e);
    });
    await this.dc.initializeRequest();
    return this;
  }

  async launch(args: Record<string, unknown>, breakpoints: Record<string, (number | DebugProtocol.SourceBreakpoint)[]> = {}): Promise<void> {
    for (const [file, bps] of Object.entries(breakpoints))
      await this.dc.setBreakpointsRequest({ source: { path: file }, breakpoints: bps.map((b) => (typeof b === 'number' ? { line: b } : b)) });
    await this.dc.launchRequest(this.args(args));
    await this.dc.configurationDoneRequest();
  }

  /** A launch configuration on this session's accelerator. */
  args(args: Record<string, unknown>): DebugProtocol.LaunchRequestArguments {
    return (this.accel ? { ...args, accel: this.accel } : args) as DebugProtocol.LaunchRequestArguments;
  }

  /**
   * The next stopped event. One that arrived while nobody waited is kept for the next call: a stop
   * can come right after configurationDone's response, before the test asks for it.
   */
  stopped(): Promise<DebugProtocol.StoppedEvent> {
    const early = this.stops.shift();
    if (early) return Promise.resolve(early);
    return new Promise((resolve, reject) => {
      const waiter = (e: DebugProtocol.StoppedEvent): void => {
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.stopWaiters.splice(this.stopWaiters.indexOf(waiter), 1);
        reject(new Error("no event 'stopped' received after 20000 ms"));
      }, 20000);
      this.stopWaiters.push(waiter);
    });
  }

  async top(): Promise<DebugProtocol.StackFrame> {
    return (await this.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
  }

  /** The variables of a scope by name, keyed by variable name. */
  async scope(name: string): Promise<Record<string, DebugProtocol.Variable>> {
    const scopes = (await this.dc.scopesRequest({ frameId: 1 })).body.scopes;
    const sc = scopes.find((s) => s.name === name);
    assert.ok(sc, `scope ${name} among ${scopes.map((s) => s.name).join(', ')}`);
    const vars = (await this.dc.variablesRequest({ variablesReference: sc.variablesReference })).body.variables;
    return Object.fromEntries(vars.map((v) => [v.name, v]));
  }

  /** The Registers scope: name → value. */
  async registers(): Promise<Record<string, string>> {
    return Object.fromEntries(Object.entries(await this.scope('Registers')).map(([n, v]) => [n, v.value]));
  }

  async children(v: DebugProtocol.Variable): Promise<Record<string, string>> {
    assert.ok(v.variablesReference > 0, `${v.name} has children`);
    const vars = (await this.dc.variablesRequest({ variablesReference: v.variablesReference })).body.variables;
    return Object.fromEntries(vars.map((c) => [c.name, c.value]));
  }

  async step(kind: 'next' | 'stepIn' | 'stepOut', granularity?: 'instruction'): Promise<DebugProtocol.StackFrame> {
    const stopped = this.stopped();
    if (kind === 'next') await this.dc.nextRequest({ threadId: 1, granularity });
    else if (kind === 'stepIn') await this.dc.stepInRequest({ threadId: 1, granularity });
    else await this.dc.stepOutRequest({ threadId: 1 });
    await stopped;
    return this.top();
  }

  async continueTo(): Promise<DebugProtocol.StoppedEvent> {
    const stopped = this.stopped();
    await this.dc.continueRequest({ threadId: 1 });
    return stopped;
  }

  async repl(expression: string): Promise<string> {
    return (await this.dc.evaluateRequest({ expression, context: 'repl' })).body.result;
  }

  async end(): Promise<void> {
    try {
      await this.dc.disconnectRequest({});
    } catch {
      /* already gone */
    }
    await this.dc.stop();
  }
}
