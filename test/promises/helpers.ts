// Shared by the README-promise tests: a DAP session on the real adapter process (the Session
// pattern of test/dap/session.test.ts, stopped events that arrive before the test waits kept), the
// real toolchain's view of a built guest (objdump, nm) for expected addresses, and temp sources.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { cli, ROOT } from '../helpers/cli';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

export const ADAPTER = path.join(ROOT, 'dist', 'debug-adapter.js');

/** The 1-based line of the first line of `file` matching `pattern` (at or after line `from`). */
export function lineOf(file: string, pattern: RegExp, from = 1): number {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = from - 1; i < lines.length; i++) if (pattern.test(lines[i])) return i + 1;
  throw new Error(`${pattern} not in ${file}`);
}

/** A fresh temp folder holding `files`; returns its path. */
export function tempGuests(prefix: string, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `promises-${prefix}-`));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** `kvm-guest build FILE [--mode M]`: the ELF path (the first line it prints). */
export function buildElf(file: string, mode?: string): string {
  const r = cli(['build', file, ...(mode ? ['--mode', mode] : [])]);
  assert.equal(r.status, 0, r.stderr);
  const elf = r.stdout.trim().split('\n')[0];
  assert.ok(fs.existsSync(elf), `kvm-guest build printed ${elf}`);
  return elf;
}

/** GNU objdump's disassembly of an ELF: [address, mnemonic text] in order. */
export function objdump(elf: string): { address: number; text: string }[] {
  const out: { address: number; text: string }[] = [];
  for (const line of execFileSync('objdump', ['-d', '--no-show-raw-insn', elf], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).split('\n')) {
    const m = /^\s+([0-9a-f]+):\s+(.*)$/.exec(line);
    if (m) out.push({ address: parseInt(m[1], 16), text: m[2].trim() });
  }
  return out;
}

/** GNU nm's value of a symbol. */
export function nmValue(elf: string, name: string): number {
  for (const line of execFileSync('nm', [elf], { encoding: 'utf8' }).split('\n')) {
    const [v, , n] = line.trim().split(/\s+/);
    if (n === name) return parseInt(v, 16);
  }
  throw new Error(`no symbol ${name} in ${elf}`);
}

export class Session {
  readonly dc: DebugClient;
  output = '';
  stdout = '';
  messages: string[] = [];
  exitCode?: number;
  private readonly stops: DebugProtocol.StoppedEvent[] = [];
  private readonly stopWaiters: ((e: DebugProtocol.StoppedEvent) => void)[] = [];

  constructor(readonly accel: AcceleratorName | undefined, opts: { cwd?: string } = {}) {
    this.dc = new DebugClient('node', ADAPTER, 'kvm-guest', opts.cwd ? { cwd: opts.cwd } : undefined);
  }

  async start(): Promise<this> {
    assert.ok(fs.existsSync(ADAPTER), `${ADAPTER} is built by npm run build`);
    await this.dc.start();
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

  args(args: Record<string, unknown>): DebugProtocol.LaunchRequestArguments {
    return (this.accel ? { ...args, accel: this.accel } : args) as DebugProtocol.LaunchRequestArguments;
  }

  async launch(args: Record<string, unknown>, breakpoints: Record<string, number[]> = {}): Promise<void> {
    for (const [file, lines] of Object.entries(breakpoints))
      await this.dc.setBreakpointsRequest({ source: { path: file }, breakpoints: lines.map((line) => ({ line })) });
    await this.dc.launchRequest(this.args(args));
    await this.dc.configurationDoneRequest();
  }

  /** The next stopped event; one that arrived while nobody waited is kept for the next call. */
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

  async children(v: DebugProtocol.Variable): Promise<Record<string, string>> {
    assert.ok(v.variablesReference > 0, `${v.name} has children`);
    const vars = (await this.dc.variablesRequest({ variablesReference: v.variablesReference })).body.variables;
    return Object.fromEntries(vars.map((c) => [c.name, c.value]));
  }

  async step(kind: 'next' | 'stepIn', granularity?: 'instruction'): Promise<DebugProtocol.StackFrame> {
    const stopped = this.stopped();
    if (kind === 'next') await this.dc.nextRequest({ threadId: 1, granularity });
    else await this.dc.stepInRequest({ threadId: 1, granularity });
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

/** Sessions opened by a suite, ended after each test. */
export function sessions(accel: AcceleratorName | undefined): (opts?: { cwd?: string }) => Promise<Session> {
  const open: Session[] = [];
  afterEach(async function () {
    for (const x of open.splice(0)) await x.end();
  });
  return async (opts = {}) => {
    const x = await new Session(accel, opts).start();
    open.push(x);
    return x;
  };
}
