// `kvm-guest run` for a ppc64 guest: builds it, runs it on the ppc64 machine and prints what the seed
// prints — the register file before and after (`R 0: 0` … four per line), then PC, MSR, LR, CTR,
// CR and XER — and where and why it stopped. Guest output (the output port) streams to stdout as the
// x86 serial devices' does; the dumps and messages go to stderr. `--json` prints one object with the
// x86 run's keys plus `arch`, `endian`, `stop` and `registersBefore`.
import { buildFailedLine, BuildDiagnostic } from '../toolchain/diagnostics';
import { EXIT_STATUS, exitStatusOf, Outcome } from '../exit-status';
import { BuildFailure, UsageError } from '../guest-setup';
import type { AcceleratorChoice } from '../vmm/accelerator';
import { parseAddress } from '../vmm/cpu-modes';
import * as L from '../vmm/guest-layout';
import { Ppc64Machine, Ppc64Stop } from '../vmm/ppc64/ppc64-machine';
import { formatSeedDump, formatSpecialRegs, ppc64RegisterRecord } from '../vmm/ppc64/ppc64-state';
import { OUTPUT_PORT } from '../vmm/ppc64/ppc64-layout';
import { ArchChoice, parseEndian, preparePpc64Guest, PreparedPpc64Guest } from './ppc64-guest';
import type { Endian } from '../toolchain/arch';
import { ppc64AcceleratorProblem, ppc64UsesKvm } from './ppc64-accelerator';
import { formatDiagnostic } from '../cli';

export interface Ppc64RunResult {
  arch: 'ppc64';
  endian?: string;
  outcome: Outcome;
  message: string;
  accelerator?: string;
  serial: string;
  exits: Record<string, number>;
  ports: Record<string, { in: number; out: number }>;
  mmio: Record<string, { read: number; write: number }>;
  unmapped: { space: string; address: string; write: boolean; rip: string }[];
  /** After the run: r0–r31, pc, msr, lr, ctr, cr, xer. */
  registers: Record<string, string>;
  registersBefore: Record<string, string>;
  stop?: { reason: Ppc64Stop['reason']; pc: string; interrupt?: { number: number; name: string } };
  memory: Record<string, string>;
  diagnostics?: BuildDiagnostic[];
  durationMs: number;
}

/** How a ppc64 stop maps onto the exit statuses every run shares (README: exit status). */
export function ppc64Outcome(stop: Ppc64Stop): Outcome {
  switch (stop.reason) {
    case 'end-of-program':
      return 'halted';
    case 'illegal-instruction':
    case 'interrupt':
    case 'unmapped':
      return 'shutdown';
    case 'timeout':
      return 'timeout';
    case 'paused':
      return 'interrupted';
    default:
      return 'internal-error';
  }
}

export async function runPpc64Command(
  file: string, opts: Record<string, string | boolean | string[] | undefined>, arch: ArchChoice, accel: AcceleratorChoice,
): Promise<number> {
  const json = opts.json === true;
  const started = performance.now();
  const result: Ppc64RunResult = {
    arch: 'ppc64', outcome: 'error', message: '', serial: '', exits: {}, ports: {}, mmio: {}, unmapped: [], registers: {}, registersBefore: {},
    memory: {}, durationMs: 0,
  };
  const serial: number[] = [];
  const err = (s: string): void => void (!json && process.stderr.write(s + '\n'));
  let machine: Ppc64Machine | undefined;
  const abort = new AbortController();
  let interruptedBy: string | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interruptedBy) process.exit(EXIT_STATUS.interrupted);
    interruptedBy = sig;
    abort.abort();
    machine?.pause();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const problem = ppc64AcceleratorProblem(accel);
    if (problem) throw new UsageError(problem);
    const timeoutSeconds = opts.timeout !== undefined ? Number(opts.timeout) : undefined;
    if (timeoutSeconds !== undefined && !(timeoutSeconds > 0))
      throw new UsageError(`invalid --timeout '${String(opts.timeout)}': give a number of seconds greater than 0`);
    for (const o of ['mode', 'load-address', 'entry'] as const)
      if (opts[o] !== undefined) throw new UsageError(`--${o} is for x86 guests; a ppc64 guest starts at its ELF entry (0x100, the System Reset vector)`);
    if (opts.device !== undefined) throw new UsageError('--device adds x86 virtio-mmio devices; a ppc64 guest has only its output port (0x10000000)');
    if (opts.stats) throw new UsageError('--stats counts x86 exits; a ppc64 run\'s output-port stores are in --json (mmio)');
    const prepared = await preparePpc64Guest({
      file, arch, endian: parseEndian(opts.endian), memory: opts.memory as string | undefined, signal: abort.signal,
    });
    result.endian = prepared.endian;
    for (const d of prepared.build?.diagnostics ?? []) err(formatDiagnostic(d));
    const peeks = ((opts.peek as string[] | undefined) ?? []).map((p) => {
      const m = /^([^:]+):([^:]+)$/.exec(p);
      if (!m) throw new UsageError(`invalid --peek '${p}': use ADDR:LEN, e.g. 0x400:4`);
      const address = parseAddress(m[1], 'peek address');
      const length = parseAddress(m[2], 'peek length');
      if (length === 0 || address + length > prepared.memorySize) throw new UsageError(`--peek ${p} is outside guest memory (0x0–${L.hex(prepared.memorySize - 1)})`);
      return { key: m[1], address, length };
    });
    if (ppc64UsesKvm(accel)) {
      await runOnKvm(prepared, result, json, serial);
      return finish();
    }
    machine = new Ppc64Machine({
      image: prepared.image, memorySize: prepared.memorySize, endian: prepared.endian, entry: prepared.entry, programEnd: prepared.programEnd,
    });
    result.accelerator = 'tcg';
    err(`kvm-guest: ppc64 (${prepared.archSource}), ${prepared.endian}-endian (${prepared.endianSource}): running on the ${machine.label}`);
    machine.onOutput((b) => {
      serial.push(...b);
      if (!json) process.stdout.write(b);
    });
    const before = machine.state();
    result.registersBefore = ppc64RegisterRecord(before);
    err(formatSeedDump(before));
    err(formatSpecialRegs(before));
    err('-------------------');
    if (interruptedBy) machine.pause();
    const stop = interruptedBy
      ? { reason: 'paused' as const, pc: before.pc, message: `interrupted (${interruptedBy}) before the guest started` }
      : await machine.run(timeoutSeconds !== undefined ? timeoutSeconds * 1000 : undefined);
    const after = machine.state();
    err(formatSeedDump(after));
    err(formatSpecialRegs(after));
    err('-------------------');
    result.registers = ppc64RegisterRecord(after);
    result.outcome = ppc64Outcome(stop);
    result.message = stop.reason === 'paused' && interruptedBy ? `interrupted (${interruptedBy}) while the guest ran, at 0x${stop.pc.toString(16)}` : stop.message;
    result.stop = { reason: stop.reason, pc: `0x${stop.pc.toString(16)}`, ...(stop.interrupt ? { interrupt: stop.interrupt } : {}) };
    if (machine.outputBytes > 0) {
      result.exits = { MMIO: machine.outputBytes };
      result.mmio = { [L.hex(OUTPUT_PORT)]: { read: 0, write: machine.outputBytes } };
    }
    for (const p of peeks) result.memory[p.key] = Buffer.from(machine.memory.read(p.address, p.length)).toString('hex');
  } catch (e) {
    if (interruptedBy && abort.signal.aborted && e instanceof Error && (e.name === 'AbortError' || (e as NodeJS.ErrnoException).code === 'ABORT_ERR')) {
      result.outcome = 'interrupted';
      result.message = `interrupted (${interruptedBy}) before the guest started`;
    } else if (e instanceof BuildFailure) {
      result.outcome = 'build-error';
      result.diagnostics = e.diagnostics;
      result.message = e.message;
      for (const d of e.diagnostics) err(formatDiagnostic(d));
    } else {
      result.outcome = 'error';
      result.message = e instanceof Error ? e.message : String(e);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    machine?.close();
  }
  return finish();

  function finish(): number {
    result.serial = Buffer.from(serial).toString('latin1');
    result.durationMs = Math.round((performance.now() - started) * 10) / 10;
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      if (result.outcome === 'build-error') {
        process.stderr.write(buildFailedLine(result.diagnostics, result.message) + '\n');
      } else process.stderr.write(`kvm-guest: ${result.message}\n`);
      for (const [k, v] of Object.entries(result.memory)) process.stderr.write(`kvm-guest: memory at ${k}: ${v}\n`);
    }
    return exitStatusOf(result.outcome);
  }
}

/**
 * The KVM path on POWER hosts: the seed's run — dumps before and after, one KVM_RUN to the first
 * exit that is not an output-port write (the seed's guest ends with KVM_EXIT_UNKNOWN in the zeros
 * after its code). No timeout or pause: the thread blocks in KVM_RUN. Untested (no POWER host here).
 */
async function runOnKvm(prepared: PreparedPpc64Guest, result: Ppc64RunResult, json: boolean, serial: number[]): Promise<void> {
  const { Ppc64KvmMachine } = await import('../vmm/ppc64/ppc64-kvm');
  const vm = new Ppc64KvmMachine({
    image: prepared.image, memorySize: prepared.memorySize, endian: prepared.endian, entry: prepared.entry, programEnd: prepared.programEnd,
  });
  const err = (s: string): void => void (!json && process.stderr.write(s + '\n'));
  try {
    result.accelerator = 'kvm';
    err(`kvm-guest: ppc64 (${prepared.archSource}), ${prepared.endian}-endian: running on ${vm.label}`);
    vm.onOutput((b) => {
      serial.push(...b);
      if (!json) process.stdout.write(b);
    });
    const before = vm.state();
    result.registersBefore = ppc64RegisterRecord(before);
    err(formatSeedDump(before) + '\n' + formatSpecialRegs(before) + '\n-------------------');
    const stop = vm.runToExit();
    const after = vm.state();
    err(formatSeedDump(after) + '\n' + formatSpecialRegs(after) + '\n-------------------');
    result.registers = ppc64RegisterRecord(after);
    result.outcome = ppc64Outcome(stop);
    result.message = stop.message;
    result.stop = { reason: stop.reason, pc: `0x${stop.pc.toString(16)}` };
  } finally {
    vm.close();
  }
}

/** `kvm-guest build` for ppc64: prints the ELF's path. */
export async function buildPpc64Command(file: string, arch: ArchChoice, endian: Endian | undefined): Promise<number> {
  try {
    const prepared = await preparePpc64Guest({ file, arch, endian });
    for (const d of prepared.build?.diagnostics ?? []) process.stderr.write(formatDiagnostic(d) + '\n');
    process.stdout.write(`${prepared.elfPath}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof BuildFailure)) throw e;
    for (const d of e.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    process.stderr.write(`kvm-guest: build failed: ${e.message}\n`);
    return EXIT_STATUS['build-error'];
  }
}
