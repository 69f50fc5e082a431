// `kvm-guest`: run, build and inspect guests from a terminal. Its options, output and exit statuses
// are a stable contract (tests and other tools rely on them); see README.md.
import path from 'node:path';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { BuildFailure, parseIrqchip, parseMode, prepareGuest, UsageError } from './guest-setup';
import { EXIT_STATUS, exitStatusOf, Outcome } from './exit-status';
import { buildGuest } from './toolchain/build';
import { ppc64ToolVersions } from './toolchain/ppc64-build';
import { CPU_MODES, detectModeFromSource } from './toolchain/modes';
import { toolVersions, ToolchainError, ToolVersion } from './toolchain/tools';
import { inputFileProblem } from './toolchain/input-files';
import { buildFailedLine, BuildDiagnostic } from './toolchain/diagnostics';
import { ImageError } from './program/guest-image';
import { BootedWorker, disposeWorker, Machine, prestartWorker, UnmappedEvent } from './vmm/machine';
import { chooseAccelerator, isAcceleratorChoice } from './vmm/accelerators';
import { ACCELERATOR_CHOICES, AcceleratorChoice, InterruptControllers } from './vmm/accelerator';
import type { EventfdStats } from './vmm/io-thread/io-channel';
import { acceleratorReport, AcceleratorReport } from './vmm/accelerator-report';
import { describeStop, formatRegisters, registerRecord } from './vmm/stop-report';
import { parseAddress } from './vmm/cpu-modes';
import type { StopInfo } from './vmm/vcpu-protocol';
import * as L from './vmm/guest-layout';
import { BootDescription, bootSummary } from './multiboot-request';
import { chooseArch, parseArch, parseEndian } from './ppc64/ppc64-guest';
import { buildPpc64Command, runPpc64Command } from './ppc64/ppc64-cli';


const USAGE = `Usage:
  kvm-guest run FILE [--mode ${CPU_MODES.join('|')}] [--memory SIZE] [--load-address ADDR]
                     [--entry ADDR|SEG:OFF] [--timeout SECONDS] [--peek ADDR:LEN]... [--stats] [--json]
                     [--accel auto|kvm|tcg] [--device virtio-rng|virtio-console]...
                     [--irqchip auto|monitor|kernel] [--no-eventfds]
                     [--arch x86|ppc64] [--endian big|little]
                     [--cmdline TEXT] [--module FILE[=STRING]]...   (Multiboot kernels)
  kvm-guest build FILE [--mode MODE] [--arch x86|ppc64] [--endian big|little]
  kvm-guest info [--json]
  kvm-guest dap [--accel auto|kvm|tcg] [--arch x86|ppc64]   serve the Debug Adapter Protocol on stdin/stdout
  kvm-guest lsp --stdio                  serve the assembly language server on stdin/stdout

FILE is a guest source (.S, .s, .c; built first), an ELF, or a flat binary.
--arch: x86 or ppc64 (default: the ELF's machine, a "kvm-guest: arch=ppc64" comment or POWER code);
--endian (ppc64): big or little (default: the ELF, -mlittle or "kvm-guest: endian=little", else big).
--accel: kvm (/dev/kvm), tcg (the software CPU, Unicorn), auto (default: KVM when it works, else tcg).
A kernel with a Multiboot (v1 or v2) header is started as a Multiboot loader does (no --mode needed);
--cmdline follows the kernel's name on its command line, --module loads a file as a module.
--device: a virtio-mmio device (repeat for several; default: the source's "kvm-guest: devices=" comment).
--irqchip: whose LAPIC, I/O APIC and PIT: monitor (the monitor's, on both accelerators), kernel (KVM's
in-kernel ones, devices in a device thread with irqfd + ioeventfd; --no-eventfds: KVM_IRQ_LINE and MMIO
exits instead), auto (default: kernel on KVM for machines with virtio devices, else monitor).
Standard input goes to the guest (the UART's receive queue, or virtio-console when there is one).
Exit status of run: 0 halted, 1 usage or other error, 2 build error, 3 triple fault (shutdown),
4 timeout, 5 accelerator internal error or entry failure, 130 interrupted (Ctrl-C); a guest that
writes VALUE to isa-debug-exit (port 0xf4) ends with (VALUE << 1) | 1, as under QEMU.`;

/** Errors whose message already tells the user what to do: no stack trace. */
const EXPLAINED_ERRORS = new Set(['UsageError', 'ToolchainError', 'ImageError', 'KvmAccessError', 'SoftwareCpuUnavailable', 'NoAcceleratorError']);

export function parseAccelerator(v: unknown): AcceleratorChoice {
  if (v === undefined) return 'auto';
  if (isAcceleratorChoice(v)) return v;
  throw new UsageError(`unknown accelerator '${String(v)}': choose one of ${ACCELERATOR_CHOICES.join(', ')}`);
}

/** The `run --json` object. */
export interface RunResult {
  outcome: Outcome;
  message: string;
  /** outcome `exited`: the value the guest wrote to isa-debug-exit (the exit status is (value << 1) | 1). */
  guestExitCode?: number;
  /** A Multiboot kernel: how it was loaded (protocol, format, entry, information address, command line, modules). */
  boot?: BootDescription;
  /** What ran the vCPU: "kvm" or "tcg" (absent when the guest never started). */
  accelerator?: string;
  serial: string;
  exits: Record<string, number>;
  ports: Record<string, { in: number; out: number }>;
  mmio: Record<string, { read: number; write: number }>;
  unmapped: { space: string; address: string; write: boolean; rip: string }[];
  /**
   * Interrupts by I/O APIC input (what drives it, raised, delivered) and vectors the CPU took — with
   * KVM's in-kernel controllers (`controllers: "kernel"`) KVM delivers, so `delivered` and `vectors`
   * are absent, and `eventfds` says what the device thread did without the vCPU leaving the kernel.
   */
  interrupts?: {
    controllers: InterruptControllers;
    lines: { pin: number; source?: string; vector: number; raised: number; delivered?: number }[];
    vectors?: Record<string, number>;
    eventfds?: EventfdStats;
  };
  virtio?: { device: string; base: string; status: string[]; features: string[]; notifications: number; interrupts: number; queues: { name: string; size: number; served: number; availIdx: number; usedIdx: number }[] }[];
  /** Device reports of guest mistakes (a bad virtqueue, a refused interrupt…), each once. */
  deviceEvents: string[];
  registers: Record<string, string>;
  memory: Record<string, string>;
  diagnostics?: BuildDiagnostic[];
  durationMs: number;
}

export function formatDiagnostic(d: BuildDiagnostic): string {
  const rel = path.relative(process.cwd(), d.file) || d.file;
  return `${rel}:${d.line}${d.column ? `:${d.column}` : ''}: ${d.severity}: ${d.message}`;
}

function parsePeek(text: string, memorySize: number): { address: number; length: number } {
  const m = /^([^:]+):([^:]+)$/.exec(text);
  if (!m) throw new UsageError(`invalid --peek '${text}': use ADDR:LEN, e.g. 0x400:4`);
  let address: number, length: number;
  try {
    address = parseAddress(m[1], 'peek address');
    length = parseAddress(m[2], 'peek length');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (length === 0 || address + length > memorySize)
    throw new UsageError(`--peek ${text} is outside guest memory (0x0–${L.hex(memorySize - 1)})`);
  return { address, length };
}

function hexKeys<T>(rec: Record<number, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(rec)) out[L.hex(Number(k))] = v;
  return out;
}

function outcomeOf(stop: StopInfo): Outcome {
  switch (stop.reason) {
    case 'halted':
      return 'halted';
    case 'exited':
      return 'exited';
    case 'shutdown':
      return 'shutdown';
    case 'timeout':
      return 'timeout';
    case 'internal-error':
      return 'internal-error';
    case 'entry-failure':
      return 'entry-failure';
    case 'paused':
    case 'terminated':
      return 'interrupted';
    default:
      return 'error';
  }
}

async function runCommand(file: string, opts: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const json = opts.json === true;
  const started = performance.now();
  const result: RunResult = {
    outcome: 'error', message: '', serial: '', exits: {}, ports: {}, mmio: {}, unmapped: [], deviceEvents: [], registers: {}, memory: {}, durationMs: 0,
  };
  const serialChunks: Buffer[] = [];
  let registerDump = '';
  let statsText = '';
  const finish = (): number => {
    result.serial = Buffer.concat(serialChunks).toString('latin1');
    result.durationMs = Math.round((performance.now() - started) * 10) / 10;
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      if (result.outcome === 'build-error') {
        // The diagnostics are already on stderr; do not repeat the first one.
        process.stderr.write(buildFailedLine(result.diagnostics, result.message) + '\n');
      } else if (result.outcome !== 'halted' || opts.stats) process.stderr.write(`kvm-guest: ${result.message}\n`);
      if (registerDump) process.stderr.write(registerDump + '\n');
      for (const [k, v] of Object.entries(result.memory)) process.stderr.write(`kvm-guest: memory at ${k}: ${v}\n`);
      if (statsText) process.stderr.write(statsText + '\n');
    }
    return exitStatusOf(result.outcome, result.guestExitCode);
  };

  let machine: Machine | undefined;
  const abort = new AbortController();
  let interrupted = false;
  let interruptedBy = 'SIGINT';
  // Ctrl-C (SIGINT) and SIGTERM stop the build (its tools are killed as a group) or the guest.
  const onSigint = (sig: NodeJS.Signals): void => {
    if (interrupted) process.exit(EXIT_STATUS.interrupted); // a second one does not wait (the exit hook kills the tools)
    interrupted = true;
    interruptedBy = sig;
    abort.abort();
    machine?.pause();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let booted: BootedWorker | undefined = prestartWorker(); // boots while the guest builds
  let stopInput: (() => void) | undefined;
  try {
    const accel = parseAccelerator(opts.accel);
    const timeoutSeconds = opts.timeout !== undefined ? Number(opts.timeout) : undefined;
    if (timeoutSeconds !== undefined && !(timeoutSeconds > 0))
      throw new UsageError(`invalid --timeout '${opts.timeout}': give a number of seconds greater than 0`);
    const prepared = await prepareGuest({
      file,
      mode: opts.mode as string | undefined,
      memory: opts.memory as string | undefined,
      loadAddress: opts['load-address'] as string | undefined,
      entry: opts.entry as string | undefined,
      devices: opts.device as string[] | undefined,
      cmdline: opts.cmdline as string | undefined,
      modules: opts.module as string[] | undefined,
      signal: abort.signal,
    });
    result.boot = prepared.boot;
    if (prepared.boot && !json) process.stderr.write(`kvm-guest: ${bootSummary(prepared.boot)}\n`);
    const peeks = ((opts.peek as string[] | undefined) ?? []).map((p) => ({ text: p, ...parsePeek(p, prepared.machine.memorySize) }));
    const chosen = chooseAccelerator(accel);
    process.stderr.write(`kvm-guest: ${chosen.why}\n`);
    result.accelerator = chosen.info.name;
    if (prepared.mode === 'paged32' && chosen.info.name === 'kvm') {
      const { probePaged32, paged32Unsupported } = await import('./vmm/kvm/host-probe');
      const probe = await probePaged32();
      if (!probe.ok) throw new UsageError(paged32Unsupported(probe.note));
    }
    if (interrupted) {
      result.outcome = 'interrupted';
      result.message = `interrupted (${interruptedBy}) before the guest started`;
      return finish();
    }
    machine = await Machine.create(
      { ...prepared.machine, accelerator: chosen.info, irqchip: parseIrqchip(opts.irqchip), eventfds: opts['no-eventfds'] !== true },
      booted,
    );
    booted = undefined;
    machine.onOutput((bytes) => {
      const b = Buffer.from(bytes);
      serialChunks.push(b);
      if (!json) process.stdout.write(b);
    });
    machine.onUnmapped((e: UnmappedEvent) => {
      result.unmapped.push({ space: e.space, address: L.hex(e.address), write: e.write, rip: L.hex(e.rip) });
      if (!json)
        process.stderr.write(
          `kvm-guest: unmapped ${e.space === 'port' ? 'I/O port' : 'MMIO'} ${e.write ? 'write' : 'read'} at ${L.hex(e.address)} ` +
            `(${e.size} byte${e.size === 1 ? '' : 's'}) by the guest at ${L.hex(e.rip)}: reads return all-ones, writes are dropped (reported once per address)\n`,
        );
    });
    machine.onDeviceEvent((message) => {
      result.deviceEvents.push(message);
      if (!json) process.stderr.write(`kvm-guest: ${message} (reported once; the guest runs on)\n`);
    });
    stopInput = forwardStdin(machine);
    if (interrupted) machine.pause();
    const stop = await machine.run(timeoutSeconds !== undefined ? timeoutSeconds * 1000 : undefined);
    if (stop.reason === 'shutdown' && !stop.instructionBytes) {
      // Show the instruction the guest died on (physical address through the vCPU's paging).
      const linear = stop.sregs.cs.base + stop.regs.rip;
      const phys = (stop.sregs.cr0 & (1n << 31n)) !== 0n ? await machine.translate(linear) : linear;
      if (phys !== null && phys < BigInt(machine.memory.size))
        stop.instructionBytes = Array.from(machine.memory.read(Number(phys), Math.min(15, machine.memory.size - Number(phys))));
    }
    result.outcome = outcomeOf(stop);
    if (stop.reason === 'exited') result.guestExitCode = stop.guestExitCode;
    result.message = describeStop(stop, { timeoutSeconds });
    result.exits = stop.stats.exits;
    result.ports = hexKeys(stop.stats.ports);
    result.mmio = hexKeys(stop.stats.mmio);
    result.interrupts = interruptCounts(stop);
    result.virtio = stop.devices.virtio.map((v) => ({
      device: v.name, base: L.hex(v.base), status: v.statusNames, features: v.negotiatedFeatureNames, notifications: v.notifications, interrupts: v.interrupts,
      queues: v.queues.map((q) => ({ name: q.name, size: q.size, served: q.served, availIdx: q.lastAvailIdx, usedIdx: q.usedIdx })),
    }));
    result.registers = registerRecord(stop.regs, stop.sregs);
    for (const p of peeks) result.memory[p.text.split(':')[0]] = Buffer.from(machine.memory.read(p.address, p.length)).toString('hex');
    if (result.outcome === 'shutdown' || result.outcome === 'internal-error' || result.outcome === 'entry-failure')
      registerDump = formatRegisters(stop.regs, stop.sregs);
    if (!json && opts.stats) statsText = formatStats(stop);
  } catch (e) {
    if (interrupted && (abort.signal.aborted && isAbortError(e))) {
      result.outcome = 'interrupted';
      result.message = `interrupted (${interruptedBy}) ${machine ? 'while the guest ran' : 'before the guest started'}`;
    } else if (e instanceof BuildFailure) {
      result.outcome = 'build-error';
      result.diagnostics = e.diagnostics;
      result.message = e.message;
      if (!json) for (const d of e.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    } else {
      result.outcome = 'error';
      result.message = e instanceof Error ? e.message : String(e);
    }
  } finally {
    stopInput?.();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await machine?.destroy();
    await disposeWorker(booted);
  }
  return finish();
}

/** Typed or piped input goes to the guest; returns how to stop listening. */
function forwardStdin(machine: Machine): () => void {
  const stdin = process.stdin;
  if (stdin.isTTY) return () => {}; // a terminal in cooked mode would echo and buffer: only pipes and files
  const onData = (chunk: Buffer): void => {
    let sent = 0;
    while (sent < chunk.length) {
      const n = machine.sendInput(chunk.subarray(sent));
      if (n === 0) break; // the guest is not reading: drop the rest rather than block the monitor
      sent += n;
    }
  };
  stdin.on('data', onData);
  stdin.on('error', () => {});
  return () => {
    stdin.off('data', onData);
    stdin.pause();
    stdin.unref?.();
  };
}

function interruptCounts(stop: StopInfo): NonNullable<RunResult['interrupts']> {
  const d = stop.devices;
  const lines = d.ioapic.filter((e) => e.source !== undefined || e.raised > 0).map((e) => ({ pin: e.pin, source: e.source, vector: e.vector, raised: e.raised, delivered: e.delivered }));
  if (d.controllers === 'kernel') return { controllers: 'kernel', lines, eventfds: d.eventfds };
  return { controllers: 'monitor', lines, vectors: Object.fromEntries(Object.entries(d.interruptsTaken).map(([v, n]) => [L.hex(Number(v)), n])) };
}

function formatStats(stop: StopInfo): string {
  const lines = ['exits by reason:'];
  for (const [reason, n] of Object.entries(stop.stats.exits).sort((a, b) => b[1] - a[1])) lines.push(`  ${reason.padEnd(16)} ${n}`);
  lines.push(`  ${'total'.padEnd(16)} ${stop.stats.total}`);
  const ports = Object.entries(stop.stats.ports);
  if (ports.length) {
    lines.push('I/O exits by port:');
    for (const [p, c] of ports) lines.push(`  ${L.hex(Number(p)).padEnd(8)} out ${c.out}  in ${c.in}`);
  }
  const mmio = Object.entries(stop.stats.mmio);
  if (mmio.length) {
    lines.push('MMIO exits by address:');
    for (const [a, c] of mmio) lines.push(`  ${L.hex(Number(a)).padEnd(12)} read ${c.read}  write ${c.write}`);
  }
  const irq = interruptCounts(stop);
  if (irq.lines.length || Object.keys(irq.vectors ?? {}).length) {
    lines.push(`interrupts by I/O APIC input${irq.controllers === 'kernel' ? ' (KVM\'s in-kernel I/O APIC and LAPIC deliver them)' : ''}:`);
    for (const l of irq.lines)
      lines.push(`  input ${String(l.pin).padEnd(3)} ${(l.source ?? '').padEnd(28)} vector ${L.hex(l.vector).padEnd(5)} raised ${l.raised}${l.delivered !== undefined ? `  delivered ${l.delivered}` : ''}`);
    if (irq.vectors) {
      lines.push('interrupts taken by vector:');
      for (const [v, n] of Object.entries(irq.vectors)) lines.push(`  ${v.padEnd(6)} ${n}`);
    }
  }
  const e = irq.eventfds;
  if (e) {
    lines.push('work done without an exit to user space (device thread):');
    lines.push(`  ${String(e.ioeventfdNotifications).padStart(6)} queue notifications through ioeventfd (each an MMIO exit otherwise)`);
    lines.push(`  ${String(e.irqfdInjections).padStart(6)} interrupts asserted through irqfd${e.irqLineCalls ? `; ${e.irqLineCalls} line changes by KVM_IRQ_LINE` : ''}`);
    lines.push(`  ${String(e.haltChecks).padStart(6)} halt checks (kicks of a vCPU asleep in HLT, to see whether it halted for good)`);
  }
  for (const v of stop.devices.virtio) {
    lines.push(`${v.name} at ${L.hex(v.base)}: status ${v.statusNames.join('|') || '0'}, ${v.notifications} notifications, ${v.interrupts} interrupts`);
    for (const q of v.queues) lines.push(`  ${q.name.padEnd(12)} size ${q.size}  served ${q.served}  avail idx ${q.lastAvailIdx}  used idx ${q.usedIdx}${q.broken ? '  (broken: needs reset)' : ''}`);
  }
  return lines.join('\n');
}

async function buildCommand(file: string, mode: string | undefined): Promise<number> {
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
  const problem = inputFileProblem(file, 'a guest source');
  if (problem !== undefined) throw new UsageError(problem);
  const m = mode !== undefined ? parseMode(mode) : detectModeFromSource(fs.readFileSync(file, 'utf8'), file);
  if (!m) throw new UsageError(`cannot tell which CPU mode ${path.basename(file)} is for: pass --mode ${CPU_MODES.join('|')}`);
  const abort = new AbortController();
  let interruptedBy = 'SIGINT';
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(EXIT_STATUS.interrupted);
    interruptedBy = sig;
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let r;
  try {
    r = await buildGuest({ source: path.resolve(file), mode: m, signal: abort.signal });
  } catch (e) {
    if (abort.signal.aborted && isAbortError(e)) {
      process.stderr.write(`kvm-guest: interrupted (${interruptedBy}): the build was stopped\n`);
      return EXIT_STATUS.interrupted;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const d of r.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
  if (!r.ok) {
    process.stderr.write(`kvm-guest: build failed: ${r.message}\n`);
    return 2;
  }
  process.stdout.write(`${r.elf}\n${r.flat ? r.flat + '\n' : ''}`);
  return 0;
}

async function infoCommand(json: boolean): Promise<number> {
  const accelerators: AcceleratorReport[] = await acceleratorReport();
  const toolchain = await toolVersions();
  const ppc64Toolchain = await ppc64ToolVersions();
  let auto: string;
  try {
    auto = chooseAccelerator('auto').why;
  } catch (e) {
    auto = (e as Error).message;
  }
  if (json) process.stdout.write(JSON.stringify({ accelerators, auto, toolchain, ppc64Toolchain }, null, 2) + '\n');
  else {
    const lines: string[] = [`--accel auto:    ${auto}`];
    for (const a of accelerators) {
      lines.push('', `${a.name}: ${a.label}`, `  available:     ${a.available ? 'yes' : `no — ${a.problem}`}`);
      if (!a.available) continue;
      lines.push(
        `  CPU modes:     ${a.modes.join(', ')}`,
        `  breakpoints:   ${a.breakpoints}`,
        `  single-step:   ${a.singleStep ? 'yes' : 'no'}`,
        `  data breakpoints: ${a.watchKinds.join(', ')}`,
      );
      for (const [k, v] of Object.entries(a.details)) lines.push(`  ${(k + ':').padEnd(14)} ${v}`);
    }
    lines.push('', 'toolchain:', ...toolchain.map((t: ToolVersion) => `  ${t.tool.padEnd(8)} ${t.version ?? `missing: ${t.problem}`}`));
    // ppc64 guests run on the software CPU here (KVM runs only the host's architecture).
    lines.push('', 'ppc64 guests (software CPU; KVM on POWER hosts only):', ...ppc64Toolchain.map((t) => `  ${(t.endian + '-endian').padEnd(14)} ${t.version ?? `missing: ${t.problem}`}`));
    process.stdout.write(lines.join('\n') + '\n');
  }
  return accelerators.some((a) => a.available) ? 0 : 1;
}

/** With --json, stdout carries exactly one JSON object even when the arguments are wrong. */
function usageFailure(message: string, json: boolean): number {
  if (json) {
    const result: RunResult = {
      outcome: 'error', message, serial: '', exits: {}, ports: {}, mmio: {}, unmapped: [], deviceEvents: [], registers: {}, memory: {}, durationMs: 0,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  process.stderr.write(`kvm-guest: ${message}\n${json ? '' : USAGE + '\n'}`);
  return EXIT_STATUS.error;
}

function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as NodeJS.ErrnoException).code === 'ABORT_ERR');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Decided before parsing, so that a parse error is reported as JSON too.
  const json = argv.includes('--json');
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 1;
  }
  if (command === '--json') return usageFailure('no command given: --json goes after the command (kvm-guest run FILE --json)', true);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        mode: { type: 'string' },
        memory: { type: 'string' },
        'load-address': { type: 'string' },
        entry: { type: 'string' },
        timeout: { type: 'string' },
        peek: { type: 'string', multiple: true },
        device: { type: 'string', multiple: true },
        irqchip: { type: 'string' },
        'no-eventfds': { type: 'boolean' },
        cmdline: { type: 'string' },
        module: { type: 'string', multiple: true },
        stats: { type: 'boolean' },
        json: { type: 'boolean' },
        stdio: { type: 'boolean' },
        accel: { type: 'string' },
        arch: { type: 'string' },
        endian: { type: 'string' },
      },
    });
  } catch (e) {
    return usageFailure((e as Error).message, json);
  }
  const { values, positionals } = parsed;
  const fileCount = (): string | undefined =>
    positionals.length === 1 ? undefined : positionals.length === 0 ? `${command} takes one FILE; none was given` : `${command} takes one FILE; got ${positionals.length}: ${positionals.join(' ')}`;
  try {
    switch (command) {
      case 'run': {
        const wrong = fileCount();
        if (wrong !== undefined) return usageFailure(wrong, json);
        const arch = chooseArch(positionals[0], parseArch(values.arch));
        if (arch.arch === 'ppc64') return await runPpc64Command(positionals[0], values, arch, parseAccelerator(values.accel));
        if (values.endian !== undefined) throw new UsageError('--endian is for ppc64 guests (x86 guests are little-endian)');
        return await runCommand(positionals[0], values);
      }
      case 'build': {
        const wrong = fileCount();
        if (wrong !== undefined) return usageFailure(wrong, json);
        const arch = chooseArch(positionals[0], parseArch(values.arch));
        if (arch.arch === 'ppc64') return await buildPpc64Command(positionals[0], arch, parseEndian(values.endian));
        return await buildCommand(positionals[0], values.mode);
      }
      case 'info':
        return await infoCommand(values.json === true);
      case 'dap': {
        // Ctrl-C or a hang-up ends the adapter through process.exit, so its exit hook stops any
        // build still running (SIGTERM is the session's own: it shuts down, then exits).
        process.on('SIGINT', () => process.exit(EXIT_STATUS.interrupted));
        process.on('SIGHUP', () => process.exit(129));
        // Loaded only here: `run` must not pay for the debugger's and the language server's modules.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { serveDap } = require('./dap-main') as typeof import('./dap-main');
        return await new Promise<number>(() => serveDap({ accel: parseAccelerator(values.accel), arch: parseArch(values.arch) })); // runs until the client disconnects
      }
      case 'lsp': {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { serveLsp } = require('../language/server-main') as typeof import('../language/server-main');
        return await new Promise<number>(() => serveLsp()); // serves the client on stdio until it exits
      }
      default:
        return usageFailure(`unknown command '${command}'`, json);
    }
  } catch (e) {
    if (json && e instanceof UsageError) return usageFailure(e.message, true);
    const known = e instanceof UsageError || e instanceof ToolchainError || e instanceof ImageError || (e instanceof Error && EXPLAINED_ERRORS.has(e.name));
    process.stderr.write(`kvm-guest: ${known ? (e as Error).message : (e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
