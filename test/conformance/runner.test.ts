// The conformance runner (`npm run conformance`) end to end on a stand-in kvm-unit-tests tree: an
// x86/unittests.cfg in the real format whose tests are one Multiboot kernel that exits through
// isa-debug-exit with the value its `-append` says — so PASS (exit(0) → status 1), SKIP (exit(77) →
// 155) and FAIL are known in advance and QEMU TCG must agree. Also: an archive whose checksum is not
// the pinned one is refused, and the cfg parser reads the real file's forms.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, ROOT } from '../helpers/cli';
import { usableAccelerators } from '../helpers/accelerators';
import { hasQemu } from '../helpers/qemu';
import { appendOf, memoryOf, parseUnitTests, splitOptions } from './unittests-cfg';

const RUNNER = path.join(ROOT, 'out', 'test', 'conformance', 'run.js');
const PINNED = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'conformance', 'kvm-unit-tests.json'), 'utf8'));

describe('conformance runner: x86/unittests.cfg', function () {
  it('reads sections, smp, timeouts and the -append argument the way a shell splits them', function () {
    const cfg = parseUnitTests(`# comment\n[smptest]\nfile = smptest.flat\nsmp = 2\n\n[vmx]\nfile = vmx.flat\nextra_params = -cpu max,+vmx -append "-exit_monitor_from_l2_test -ept_access*"\narch = x86_64\ngroups = vmx\n[sieve]\nfile = sieve.flat\ntimeout = 180\n[vmexit_cpuid]\nfile = vmexit.flat\nextra_params = -append 'cpuid'\n[asyncpf]\nfile = asyncpf.flat\nextra_params = -m 2048\n`);
    assert.deepEqual([...cfg.keys()], ['smptest', 'vmx', 'sieve', 'vmexit_cpuid', 'asyncpf']);
    assert.equal(cfg.get('smptest')!.smp, 2);
    assert.equal(cfg.get('sieve')!.timeoutSeconds, 180);
    assert.equal(appendOf(cfg.get('vmx')!.extraParams), '-exit_monitor_from_l2_test -ept_access*');
    assert.equal(appendOf(cfg.get('vmexit_cpuid')!.extraParams), 'cpuid');
    assert.equal(memoryOf(cfg.get('asyncpf')!.extraParams), 2048);
    assert.deepEqual(splitOptions(`-cpu qemu64,+x2apic -append ''`), ['-cpu', 'qemu64,+x2apic', '-append', '']);
  });
});

describe('conformance runner (npm run conformance) on a stand-in tree', function () {
  this.timeout(240000);
  let tree: string;
  before(function () {
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
    fs.mkdirSync(path.join(tree, 'x86'));
    const built = cli(['build', path.join(ROOT, 'test', 'guests', 'multiboot', 'exit-code.c'), '--mode', 'protected']);
    assert.equal(built.status, 0, built.stderr);
    fs.copyFileSync(built.stdout.split('\n')[0], path.join(tree, 'x86', 'exit.flat'));
    fs.writeFileSync(
      path.join(tree, 'x86', 'unittests.cfg'),
      "[pass]\nfile = exit.flat\nextra_params = -append '0 1 0xf4'\n\n[skip]\nfile = exit.flat\nextra_params = -append '77 1 0xf4'\n\n" +
        "[fail]\nfile = exit.flat\nextra_params = -append '1 4 0xf4'\n\n[two-cpus]\nfile = exit.flat\nsmp = 2\nextra_params = -append '0 2 0xf4'\n",
    );
  });
  after(function () {
    if (tree) fs.rmSync(tree, { recursive: true, force: true });
  });

  it('runs each test on every accelerator here and on QEMU TCG, with the verdicts kvm-unit-tests\' statuses mean', function () {
    const r = spawnSync(process.execPath, [RUNNER, '--source', tree, '--tests', 'pass,skip,fail,two-cpus', '--json'], { encoding: 'utf8', timeout: 200000 });
    assert.equal(r.status, 0, `no test fails where QEMU passes\n${r.stderr}`);
    const [first, last] = r.stdout.trim().split('\n');
    const report = JSON.parse(first);
    assert.deepEqual(report.accelerators, usableAccelerators);
    const verdicts = Object.fromEntries(report.rows.map((row: { test: string; cells: Record<string, { verdict: string }> }) => [row.test, Object.fromEntries(Object.entries(row.cells).map(([k, c]) => [k, c.verdict]))]));
    const expect = (v: string): Record<string, string> => ({ ...Object.fromEntries(usableAccelerators.map((a) => [a, v])), 'qemu-tcg': hasQemu ? v : 'n/a' });
    assert.deepEqual(verdicts, { pass: expect('PASS'), skip: expect('SKIP'), fail: expect('FAIL'), 'two-cpus': expect('PASS') });
    const twoCpus = report.rows.find((row: { test: string }) => row.test === 'two-cpus');
    assert.equal(twoCpus.cells.tcg.detail, '1 CPU (the test asks for 2)');
    const n = usableAccelerators.length;
    assert.equal(last, `${3 * n - n} passed, ${n} failed, ${n} skipped`);
  });

  it('prints the table test × accelerator with the reference beside it', function () {
    const r = spawnSync(process.execPath, [RUNNER, '--source', tree, '--tests', 'pass,fail', '--accel', 'tcg'], { encoding: 'utf8', timeout: 200000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `kvm-unit-tests ${PINNED.release} (x86_64): test × accelerator`);
    assert.match(lines[1], /^test\s+tcg \(software CPU\)\s+QEMU TCG \(reference\)$/);
    assert.match(lines[2], /^pass\s+PASS\s+(PASS|n\/a)/);
    assert.match(lines[3], /^fail\s+FAIL \(exit status 3\)\s+(FAIL \(exit status 3\)|n\/a)/);
    assert.equal(lines[4], '1 passed, 1 failed, 0 skipped');
  });

  it('--tests all runs every test of x86/unittests.cfg', function () {
    const r = spawnSync(process.execPath, [RUNNER, '--source', tree, '--tests', 'all', '--accel', 'tcg', '--no-qemu'], { encoding: 'utf8', timeout: 200000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^pass\s.*\n^skip\s.*\n^fail\s.*\n^two-cpus\s/m);
    assert.match(r.stdout, /^2 passed, 1 failed, 1 skipped$/m);
  });

  it('refuses an archive whose SHA-256 is not the pinned release\'s, naming both, and exits 2', function () {
    const bogus = path.join(tree, PINNED.archive);
    fs.writeFileSync(bogus, 'not the release');
    const r = spawnSync(process.execPath, [RUNNER, '--source', bogus], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`SHA-256 [0-9a-f]{64}, but ${PINNED.archive.replace(/\./g, '\\.')} is pinned at ${PINNED.sha256}`));
    assert.match(r.stdout, /^0 passed, 0 failed, \d+ skipped$/m);
  });
});
