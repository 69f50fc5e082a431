// The PowerPC 64 seed's guest through the real `kvm-guest run`, built with the real cross binutils,
// on the software CPU, in both byte orders. Expected values come from the seed ("Using the KVM API —
// PowerPC 64 version": R16 = 8, R17 = 4, R18 = 32 after `li 16,8 / li 17,4 / mullw 18,16,17`, the
// code at 0x100 as its objdump shows, so the first address after it is 0x10c) and the Power ISA
// (MSR bit 0 = SF is the top bit, bit 63 = LE the lowest), never from this program's own output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli, CLI, guest, runJson } from '../helpers/cli';
import { itWithPpc64Tools } from '../helpers/ppc64-tools';
import type { Ppc64RunResult } from '../../debug-adapter/ppc64/ppc64-cli';

const SEED = guest('ppc64', 'seed.s');
const HELLO = guest('ppc64', 'hello.s');
const ppc = (args: string[]): { status: number | null; json: Ppc64RunResult; stderr: string } =>
  runJson(args) as unknown as { status: number | null; json: Ppc64RunResult; stderr: string };

describe('ppc64: kvm-guest run on the software CPU', function () {
  this.timeout(60000);
  let tmp: string;
  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-cli-'));
  });
  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the seed guest is the seed\'s code.s exactly as written', function () {
    assert.equal(
      fs.readFileSync(SEED, 'utf8'),
      '    li 16,8 # stores number 8 in register R16\n' +
        '    li 17,4 # stores number 4 in register R17\n' +
        '    mullw 18,16,17 # stores the result of R16 * R17 in R18\n',
    );
  });

  for (const endian of ['big', 'little'] as const) {
    itWithPpc64Tools([endian], `runs the seed's guest ${endian}-endian: R16 = 8, R17 = 4, R18 = 32, stopped at 0x10c after the program's end`, function () {
      const { status, json, stderr } = ppc([SEED, '--endian', endian]);
      assert.equal(json.outcome, 'halted', `${json.message}\n${stderr}`);
      assert.equal(status, 0);
      assert.equal(json.arch, 'ppc64');
      assert.equal(json.endian, endian);
      assert.equal(json.accelerator, 'tcg');
      assert.equal(json.registers.r16, '0x8');
      assert.equal(json.registers.r17, '0x4');
      assert.equal(json.registers.r18, '0x20');
      for (const r of ['r0', 'r1', 'r15', 'r19', 'r31']) assert.equal(json.registers[r], '0x0', r);
      assert.deepEqual(json.stop, { reason: 'end-of-program', pc: '0x10c' });
      assert.match(json.message, /ran off the end of the program at 0x10c/);
      // Before: all zero, PC at the System Reset vector, MSR 64-bit (+ LE little-endian).
      assert.equal(json.registersBefore.pc, '0x100');
      for (let i = 0; i < 32; i++) assert.equal(json.registersBefore[`r${i}`], '0x0');
      const msr = BigInt(json.registers.msr);
      assert.equal(msr >> 63n, 1n, 'MSR[SF] (64-bit mode)');
      assert.equal(msr & 1n, endian === 'little' ? 1n : 0n, 'MSR[LE]');
    });
  }

  itWithPpc64Tools(['big'], 'builds the seed\'s bytes at 0x100 (big-endian: 3a 00 00 08, 3a 20 00 04, 7e 50 89 d6 as its objdump shows)', function () {
    const { json } = ppc([SEED, '--endian', 'big', '--peek', '0x100:12']);
    assert.equal(json.memory['0x100'], '3a0000083a2000047e5089d6');
  });

  itWithPpc64Tools(['little'], 'builds the little-endian seed with each instruction word byte-reversed', function () {
    const { json } = ppc([SEED, '--endian', 'little', '--peek', '0x100:12']);
    assert.equal(json.memory['0x100'], '0800003a0400203ad689507e');
  });

  itWithPpc64Tools(['big'], 'prints the register file as the seed does, four per line, before and after', function () {
    const r = cli(['run', SEED]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n');
    const row16 = lines.filter((l) => l.startsWith('R16:'));
    assert.deepEqual(row16, ['R16: 0\tR17: 0\tR18: 0\tR19: 0\t', 'R16: 8\tR17: 4\tR18: 32\tR19: 0\t']);
    assert.ok(lines.includes('R 0: 0\tR 1: 0\tR 2: 0\tR 3: 0\t'), r.stderr);
    assert.ok(lines.includes('R28: 0\tR29: 0\tR30: 0\tR31: 0\t'), r.stderr);
    assert.match(r.stderr, /^PC: 0x100 {2}MSR: 0x[0-9a-f]+ \(SF[^)]*\)$/m);
    assert.match(r.stderr, /^PC: 0x10c /m);
    assert.match(r.stderr, /^LR: 0x0 {2}CTR: 0x0 {2}CR: 0x0 .* {2}XER: 0x0$/m);
    assert.match(r.stderr, /ppc64 \(the source's POWER instructions\), big-endian/);
  });

  for (const endian of ['big', 'little'] as const)
    itWithPpc64Tools([endian], `hello.s prints through the output port (${endian}-endian)`, function () {
      const { status, json } = ppc([HELLO, '--endian', endian]);
      assert.equal(status, 0, json.message);
      assert.equal(json.serial, 'Hello from POWER!\n');
      assert.equal(json.registers.r3, '0x2a');
      assert.deepEqual(json.mmio, { '0x10000000': { read: 0, write: 18 } });
    });

  itWithPpc64Tools(['big', 'little'], 'takes the architecture and byte order from a built ELF', function () {
    for (const endian of ['big', 'little'] as const) {
      const b = cli(['build', SEED, '--endian', endian]);
      assert.equal(b.status, 0, b.stderr);
      const elf = b.stdout.trim();
      const copy = path.join(tmp, `seed-${endian}.elf`);
      fs.copyFileSync(elf, copy);
      const { json } = ppc([copy]);
      assert.equal(json.endian, endian, json.message);
      assert.equal(json.registers.r18, '0x20');
    }
  });

  itWithPpc64Tools(['big'], 'a ppc64 build error is reported at file:line (exit status 2)', function () {
    const bad = path.join(tmp, 'bad.s');
    fs.writeFileSync(bad, '# kvm-guest: arch=ppc64\n    li 3,1\n    frobnicate 3,4\n');
    const { status, json } = ppc([bad]);
    assert.equal(status, 2);
    assert.equal(json.outcome, 'build-error');
    const d = json.diagnostics?.[0];
    assert.ok(d, json.message);
    assert.equal(d.file, bad);
    assert.equal(d.line, 3);
    assert.equal(d.severity, 'error');
    assert.match(d.message, /frobnicate/);
    const text = cli(['run', bad]);
    assert.match(text.stderr, /bad\.s:3: error: .*frobnicate/);
  });

  itWithPpc64Tools(['big'], 'stops on an illegal instruction and says which and where (exit status 3)', function () {
    const bad = path.join(tmp, 'illegal.s');
    fs.writeFileSync(bad, '# kvm-guest: arch=ppc64\n    li 3,1\n    .long 0\n    li 4,2\n');
    const { status, json } = ppc([bad]);
    assert.equal(status, 3, json.message);
    assert.equal(json.stop?.reason, 'illegal-instruction');
    assert.equal(json.stop?.pc, '0x104');
    assert.match(json.message, /illegal instruction at 0x104 \(instruction word 0x00000000\)/);
    assert.equal(json.registers.r3, '0x1');
    assert.equal(json.registers.r4, '0x0');
  });

  itWithPpc64Tools(['big'], 'stops on a trap (Program interrupt) at the trap', function () {
    const t = path.join(tmp, 'trap.s');
    fs.writeFileSync(t, '# kvm-guest: arch=ppc64\n    li 3,1\n    trap\n    li 4,2\n');
    const { status, json } = ppc([t]);
    assert.equal(status, 3, json.message);
    assert.equal(json.stop?.reason, 'interrupt');
    assert.equal(json.stop?.pc, '0x104');
    assert.deepEqual(json.stop?.interrupt, { number: 6, name: 'Program' });
  });

  itWithPpc64Tools(['big'], 'a guest that never ends stops at --timeout (exit status 4), its registers as they were', function () {
    const spin = path.join(tmp, 'spin.s');
    fs.writeFileSync(spin, '# kvm-guest: arch=ppc64\nloop:\n    addi 3,3,1\n    b loop\n');
    const { status, json } = ppc([spin, '--timeout', '0.5']);
    assert.equal(status, 4, json.message);
    assert.equal(json.outcome, 'timeout');
    assert.equal(json.stop?.reason, 'timeout');
    assert.ok(BigInt(json.registers.r3) > 0n);
    assert.ok(['0x100', '0x104'].includes(json.registers.pc), json.registers.pc);
  });

  it('--accel kvm says why KVM cannot run a ppc64 guest on this host', function () {
    if (process.arch === 'ppc64') this.skip();
    const { status, json } = ppc([SEED, '--accel', 'kvm']);
    assert.equal(status, 1);
    assert.match(json.message, /KVM cannot run a ppc64 guest on this x64 host/);
  });

  itWithPpc64Tools(['big', 'little'], 'kvm-guest info reports the cross assemblers of both byte orders', function () {
    const r = cli(['info', '--json']);
    const info = JSON.parse(r.stdout) as { ppc64Toolchain: { endian: string; debianPackage: string; version?: string }[] };
    assert.deepEqual(info.ppc64Toolchain.map((t) => [t.endian, t.debianPackage]), [['big', 'binutils-powerpc64-linux-gnu'], ['little', 'binutils-powerpc64le-linux-gnu']]);
    for (const t of info.ppc64Toolchain) assert.match(t.version ?? '', /GNU assembler/);
    assert.match(cli(['info']).stdout, /ppc64 guests \(software CPU; KVM on POWER hosts only\):\n {2}big-endian +GNU assembler/);
  });

  it('a missing cross assembler is named with the Debian package to install', function () {
    const r = spawnSync(process.execPath, [CLI, 'run', SEED, '--json'], { encoding: 'utf8', env: { ...process.env, PATH: tmp } }); // no cross tools on this PATH
    const json = JSON.parse(r.stdout) as Ppc64RunResult;
    assert.equal(r.status, 1);
    assert.match(json.message, /powerpc64-linux-gnu-as \(the big-endian POWER cross assembler\) was not found on PATH; install the Debian package "binutils-powerpc64-linux-gnu"/);
  });

  it('x86-only options are refused for a ppc64 guest, saying why', function () {
    for (const [args, why] of [
      [['--mode', 'long'], /--mode is for x86 guests/],
      [['--entry', '0x100'], /--entry is for x86 guests/],
      [['--device', 'virtio-rng'], /--device adds x86 virtio-mmio devices/],
    ] as const) {
      const { status, json } = ppc([SEED, ...args]);
      assert.equal(status, 1);
      assert.match(json.message, why);
    }
  });

  it('--arch and --endian reject unknown values', function () {
    assert.match(cli(['run', SEED, '--arch', 'arm']).stderr, /unknown architecture 'arm': choose one of x86, ppc64/);
    assert.match(cli(['run', SEED, '--endian', 'middle']).stderr, /unknown byte order 'middle'/);
  });
});
