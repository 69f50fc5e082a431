// `npm run conformance`: kvm-unit-tests (the KVM developers' x86 test suite: Multiboot kernels that
// report on COM1 and end through isa-debug-exit) as an external judge of both accelerators. Builds
// the pinned release (source.ts), runs the chosen tests on each accelerator that works here through
// the real `kvm-guest run`, and QEMU TCG beside them as the reference, and prints a table test ×
// accelerator. A test passes when the kernel exits with status 1 (its exit(0)), is skipped with 155
// (exit(77), kvm-unit-tests' "all skipped"), and fails otherwise.
//
//   node out/test/conformance/run.js [--source DIR|ARCHIVE] [--tests a,b|all] [--accel tcg,kvm] [--no-qemu] [--json]
//
// Exit status: 0 when every test QEMU TCG passes also passes on the software CPU and KVM, 1 when
// not, 2 when the suite could not be had or built.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cli, ROOT } from '../helpers/cli';
import { usableAccelerators } from '../helpers/accelerators';
import { hasQemu, qemuKernel } from '../helpers/qemu';
import { buildTests, PinnedSource, sourceTree } from './source';
import { appendOf, memoryOf, parseUnitTests, splitOptions, UnitTest } from './unittests-cfg';
import type { RunJson } from '../helpers/cli';

export type Verdict = 'PASS' | 'FAIL' | 'SKIP' | 'n/a';
export interface Cell {
  verdict: Verdict;
  /** Why, in a few words: the first FAIL line, the outcome, "not built"… */
  detail?: string;
}

const PASS_STATUS = 1; // exit(0) through isa-debug-exit
const SKIP_STATUS = (77 << 1) | 1;
const DEFAULT_MEMORY_MIB = 256;
const DEFAULT_TIMEOUT_S = 90;

export function verdictOf(status: number | null, serial: string): Cell {
  if (status === PASS_STATUS) return { verdict: 'PASS' };
  if (status === SKIP_STATUS) return { verdict: 'SKIP' };
  const fail = serial.split('\n').find((l) => /^FAIL\b/.test(l));
  return { verdict: 'FAIL', detail: fail ?? `exit status ${status}` };
}

function ours(test: UnitTest, flat: string, accel: string, timeoutS: number, logDir: string): Cell {
  const memory = Math.min(memoryOf(test.extraParams) ?? DEFAULT_MEMORY_MIB, 3 * 1024);
  const args = ['run', flat, '--accel', accel, '--json', '--memory', `${memory}M`, '--timeout', String(timeoutS)];
  const append = appendOf(test.extraParams);
  if (append) args.push('--cmdline', append);
  const r = cli(args, { timeoutMs: (timeoutS + 30) * 1000 });
  let json: RunJson;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return { verdict: 'FAIL', detail: `kvm-guest printed no JSON (status ${r.status}): ${r.stderr.trim().split('\n').pop() ?? ''}` };
  }
  fs.writeFileSync(path.join(logDir, `${test.name}.${accel}.log`), `${json.serial}\n--- ${json.outcome}: ${json.message}\n`);
  if (json.outcome !== 'exited') return { verdict: 'FAIL', detail: `${json.outcome}: ${json.message.slice(0, 160)}` };
  const cell = verdictOf(r.status, json.serial);
  if (test.smp > 1 && cell.verdict !== 'FAIL') cell.detail = `1 CPU (the test asks for ${test.smp})`;
  return cell;
}

function reference(test: UnitTest, flat: string, timeoutS: number, logDir: string): Cell {
  const opts = splitOptions(test.extraParams);
  const i = opts.findIndex((o) => o === '-append' || o === '--append');
  const extra = i >= 0 ? [...opts.slice(0, i), ...opts.slice(i + 2)] : opts;
  const r = qemuKernel(flat, {
    append: appendOf(test.extraParams) || undefined, smp: test.smp, memoryMiB: memoryOf(test.extraParams) ?? DEFAULT_MEMORY_MIB,
    timeoutMs: timeoutS * 1000, extra: ['-device', 'pc-testdev', '-device', 'pci-testdev', ...extra.filter((o) => o !== '-enable-kvm')],
  });
  fs.writeFileSync(path.join(logDir, `${test.name}.qemu-tcg.log`), r.serial);
  return verdictOf(r.status, r.serial);
}

export interface Report {
  release: string;
  accelerators: string[];
  rows: { test: string; cells: Record<string, Cell> }[];
}

export function formatTable(report: Report): string {
  const cols = [...report.accelerators.map((a) => (a === 'tcg' ? 'tcg (software CPU)' : a)), 'QEMU TCG (reference)'];
  const keys = [...report.accelerators, 'qemu-tcg'];
  const width = Math.max(4, ...report.rows.map((r) => r.test.length));
  const cellText = (c: Cell | undefined): string => (c ? c.verdict + (c.detail ? ` (${c.detail})` : '') : 'n/a');
  const colWidth = cols.map((c, i) => Math.max(c.length, ...report.rows.map((r) => Math.min(cellText(r.cells[keys[i]]).length, 48))));
  const line = (name: string, cells: string[]): string =>
    `${name.padEnd(width)}  ${cells.map((c, i) => (c.length > 48 ? c.slice(0, 47) + '…' : c).padEnd(colWidth[i])).join('  ')}`.trimEnd();
  return [
    `kvm-unit-tests ${report.release} (x86_64): test × accelerator`,
    line('test', cols),
    ...report.rows.map((r) => line(r.test, keys.map((k) => cellText(r.cells[k])))),
  ].join('\n');
}

/** Counts over our accelerators' cells (the reference is not ours). */
export function summary(report: Report): { passed: number; failed: number; skipped: number; regressions: string[] } {
  let passed = 0, failed = 0, skipped = 0;
  const regressions: string[] = [];
  for (const r of report.rows)
    for (const a of report.accelerators) {
      const c = r.cells[a];
      if (c?.verdict === 'PASS') passed++;
      else if (c?.verdict === 'FAIL') {
        failed++;
        if (r.cells['qemu-tcg']?.verdict === 'PASS') regressions.push(`${r.test} on ${a}`);
      } else skipped++;
    }
  return { passed, failed, skipped, regressions };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { source: { type: 'string' }, tests: { type: 'string' }, accel: { type: 'string' }, 'no-qemu': { type: 'boolean' }, json: { type: 'boolean' }, timeout: { type: 'string' } },
  });
  const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'conformance', 'kvm-unit-tests.json'), 'utf8')) as PinnedSource;
  const work = path.join(ROOT, '.conformance');
  const log = (s: string): void => void process.stderr.write(`conformance: ${s}\n`);
  let names = values.tests && values.tests !== 'all' ? values.tests.split(',') : pinned.tests;
  const accelerators = values.accel ? values.accel.split(',').filter((a) => usableAccelerators.includes(a as never)) : [...usableAccelerators];
  let tree: string;
  let tests: Map<string, UnitTest>;
  try {
    tree = await sourceTree(pinned, work, values.source ?? process.env.KVM_UNIT_TESTS_SRC, log);
    tests = parseUnitTests(fs.readFileSync(path.join(tree, 'x86', 'unittests.cfg'), 'utf8'));
    if (values.tests === 'all') names = [...tests.keys()];
    const unknown = names.filter((n) => !tests.has(n));
    if (unknown.length) throw new Error(`not in x86/unittests.cfg: ${unknown.join(', ')}`);
    buildTests(tree, names.map((n) => tests.get(n)!.file), log);
  } catch (e) {
    log((e as Error).message);
    process.stdout.write(`0 passed, 0 failed, ${names.length * Math.max(1, accelerators.length)} skipped\n`);
    return 2;
  }
  const logDir = path.join(work, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const report: Report = { release: pinned.release, accelerators, rows: [] };
  for (const name of names) {
    const t = tests.get(name)!;
    const flat = path.join(tree, 'x86', t.file);
    const timeoutS = Number(values.timeout) || t.timeoutSeconds || DEFAULT_TIMEOUT_S;
    const cells: Record<string, Cell> = {};
    for (const a of accelerators) cells[a] = t.arch === 'i386' ? { verdict: 'n/a', detail: 'i386 only' } : ours(t, flat, a, timeoutS, logDir);
    cells['qemu-tcg'] = values['no-qemu'] || !hasQemu ? { verdict: 'n/a', detail: hasQemu ? 'not asked' : 'qemu-system-x86_64 not installed' } : reference(t, flat, timeoutS, logDir);
    report.rows.push({ test: name, cells });
    log(`${name}: ${Object.entries(cells).map(([k, c]) => `${k} ${c.verdict}`).join(', ')}`);
  }
  const s = summary(report);
  if (values.json) process.stdout.write(JSON.stringify({ ...report, ...s }) + '\n');
  else process.stdout.write(formatTable(report) + '\n' + (s.regressions.length ? `fails where QEMU TCG passes: ${s.regressions.join(', ')} (logs in ${logDir})\n` : ''));
  process.stdout.write(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped\n`);
  return s.regressions.length ? 1 : 0;
}

if (require.main === module) {
  void main().then((code) => process.exit(code), (e) => {
    process.stderr.write(`conformance: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  });
}
