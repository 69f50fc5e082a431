// Every example guest through the real `kvm-guest run`, built with the real toolchain, on each
// accelerator (`--accel tcg` on every machine, `--accel kvm` where /dev/kvm works); and every kind
// of bad input with its message and exit status, which needs no accelerator at all.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, guest, runJson as runJsonAuto } from '../helpers/cli';
import { forEachAccelerator, kvmProblem } from '../helpers/accelerators';
import { kvmReference } from '../helpers/kvm-reference';
import { makeElf } from '../unit/elf-loader.test';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

forEachAccelerator('kvm-guest run: example guests', function (accel: AcceleratorName) {
  this.timeout(120000);
  const runJson = (args: string[]): ReturnType<typeof runJsonAuto> => {
    const r = runJsonAuto([...args, '--accel', accel]);
    assert.equal(r.json.accelerator, accel, `--accel ${accel} ran on ${r.json.accelerator}: ${r.json.message}\n${r.stderr}`);
    return r;
  };
  const run = (args: string[]): ReturnType<typeof cli> => cli(['run', ...args, '--accel', accel]);
  let tmp: string;
  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `cli-${accel}-`));
  });
  after(function () {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`says on stderr, in one line, that it runs on ${accel === 'kvm' ? 'KVM' : 'the software CPU'}`, function () {
    const r = run([guest('linux-journal', 'kernel2.S')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('kvm-guest: running on') || /: running on /.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], accel === 'kvm' ? /^kvm-guest: running on KVM\b/ : /^kvm-guest: running on the software CPU \(Unicorn [\d.]+.*\) as asked/);
  });

  it('kernel2 prints Hello with one I/O exit per character and halts (exit 0)', function () {
    const { status, json } = runJson([guest('linux-journal', 'kernel2.S')]);
    assert.equal(json.outcome, 'halted', json.message);
    assert.equal(status, 0);
    assert.equal(json.serial, 'Hello\n');
    assert.equal(json.exits.IO, 6, 'one exit per outb');
    assert.deepEqual(json.ports['0xf1'], { in: 0, out: 6 });
    assert.equal(json.exits.HLT, 1);
    assert.equal(json.registers.cs, '0xf000', 'still in the reset-vector segment');
    assert.equal(json.registers.cs_base, '0xf0000');
    assert.equal(parseInt(json.registers.rax, 16) & 0xff, 0x0a, 'AL holds the last character');
    assert.match(json.message, /HLT with interrupts off/);
  });

  it('kvm-guest run streams serial output to stdout without --json', function () {
    const r = run([guest('linux-journal', 'kernel2.S')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Hello\n');
  });

  it('kernel3 prints with rep outsb: every byte reaches port 0xF1, one IO exit per element (14)', function () {
    const { status, json } = runJson([guest('linux-journal', 'kernel3.S'), '--stats']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'Hello, World!\n');
    assert.deepEqual(json.ports['0xf1'], { in: 0, out: 14 });
    assert.equal(json.exits.IO, 14, 'IO exits count IN/OUT elements: 14 iterations of rep outsb');
    assert.equal(json.exits.HLT, 1);
  });

  it('kernel1 spins forever: --timeout stops it with RIP inside its loop (exit 4)', function () {
    const flat = cli(['build', guest('linux-journal', 'kernel1.S')]).stdout.trim().split('\n')[1];
    assert.ok(flat && fs.existsSync(flat), `kvm-guest build names the flat image: ${flat}`);
    const image = fs.readFileSync(flat);
    const loop = image.indexOf(Buffer.from([0xeb, 0xfe])); // 1: jmp 1b
    assert.ok(loop >= 0, 'the loop is in the image');
    const { status, json } = runJson([guest('linux-journal', 'kernel1.S'), '--timeout', '0.2']);
    assert.equal(json.outcome, 'timeout');
    assert.equal(status, 4);
    assert.equal(json.registers.rip, '0x' + loop.toString(16));
    assert.equal(json.registers.cs, '0xf000');
    assert.equal(json.registers.rax, '0x0', 'xor %ax,%ax ran');
    assert.match(json.message, /still running after 0\.2 s/);
  });

  for (const mode of ['protected', 'long'] as const) {
    it(`hello.c in ${mode} mode greets on 0xE9, stores 42 at 0x400 and halts with EAX = 42`, function () {
      const { status, json } = runJson([guest('hello-world', 'hello.c'), '--mode', mode, '--peek', '0x400:4']);
      assert.equal(json.outcome, 'halted', json.message);
      assert.equal(status, 0);
      assert.equal(json.serial, 'Hello, world!\n');
      assert.equal(json.registers.rax, '0x2a');
      assert.equal(json.memory['0x400'], '2a000000');
      assert.equal(json.ports['0xe9'].out, 14);
      assert.equal(json.registers.cr0.endsWith('1') || (parseInt(json.registers.cr0, 16) & 1) === 1, true, 'CR0.PE');
      if (mode === 'long') assert.equal(parseInt(json.registers.efer, 16) & 0x500, 0x500, 'EFER.LME|LMA');
    });
  }

  it('hello.c in paged32 mode runs, or (KVM only) the host says exactly that it cannot run 32-bit paging', function () {
    // Whether this host's KVM runs 32-bit paging: the tests' own C probe, not kvm-guest's.
    const runs = accel === 'tcg' || kvmReference().paged32;
    const info = JSON.parse(cli(['info', '--json']).stdout) as { accelerators: { name: string; modes: string[] }[] };
    const modes = info.accelerators.find((a) => a.name === accel)?.modes ?? [];
    assert.equal(modes.includes('paged32'), runs, `kvm-guest info's ${accel} modes (${modes.join(', ')}) against the reference probe (${accel === 'kvm' ? kvmReference().notes.paged32 : 'the software CPU runs every mode'})`);
    const r = runJsonAuto([guest('hello-world', 'hello.c'), '--mode', 'paged32', '--peek', '0x400:4', '--accel', accel]);
    const { status, json } = r;
    if (runs) {
      assert.equal(status, 0, json.message);
      assert.equal(json.accelerator, accel);
      assert.equal(json.serial, 'Hello, world!\n');
      assert.equal(json.memory['0x400'], '2a000000');
      assert.equal(parseInt(json.registers.cr0, 16) >>> 31, 1, 'CR0.PG');
      assert.equal(parseInt(json.registers.cr4, 16) & 0x10, 0x10, 'CR4.PSE');
      assert.equal(parseInt(json.registers.efer, 16) & 0x400, 0, 'not long mode');
    } else {
      assert.equal(status, 1);
      assert.equal(json.outcome, 'error');
      assert.match(json.message, /cannot run 32-bit paging \(mode paged32: CR0\.PG with CR4\.PSE, without long mode\).*KVM_EXIT_SHUTDOWN.*--mode protected/);
    }
  });

  it('hello16 runs at 0000:0000 in real mode and stores 42 at 0x400', function () {
    const { status, json } = runJson([guest('hello-world', 'hello16.s'), '--mode', 'real', '--load-address', '0', '--entry', '0000:0000', '--peek', '0x400:2']);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'Hello, world!\n');
    assert.equal(json.memory['0x400'], '2a00');
    assert.equal(json.registers.cs, '0x0');
  });

  it('the long-mode playground prints on the 16550 and reads unmapped MMIO as all-ones, reported once', function () {
    const r = run([guest('long-mode-playground', 'playground.S')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hello from 64-bit mode on the 16550 UART\n/);
    assert.match(r.stdout, /= 0xffffffff\nall ones: yes/);
    const reports = r.stderr.split('\n').filter((l) => l.includes('unmapped MMIO read at 0xd0000000'));
    assert.equal(reports.length, 1, r.stderr);
    assert.match(reports[0], /\(4 bytes\) by the guest at 0x1[0-9a-f]{5}/);
    const { json } = runJson([guest('long-mode-playground', 'playground.S')]);
    assert.deepEqual(json.mmio['0xd0000000'], { read: 1, write: 0 });
    assert.equal(json.registers.rax, '0xffffffff');
    assert.ok(json.ports['0x3fd'].in >= 1, 'polled LSR');
    assert.equal(json.ports['0x3f8'].out, Buffer.byteLength(json.serial), 'one THR write per character printed');
  });

  it('the protected-mode ELF guest starts with CR0.PE set, paging off', function () {
    const { status, json } = runJson([guest('protected-elf', 'protected.S')]);
    assert.equal(status, 0, json.message);
    assert.equal(json.serial, 'protected mode: yes\npaging: off\n');
    assert.equal(json.registers.rax, '0x600dc0de');
  });

  for (const [template, greeting] of [
    ['real-mode.S', 'Hello from real mode!\n'],
    ['protected-mode.S', 'Hello from protected mode!\n'],
    ['long-mode.S', 'Hello from long mode!\n'],
    ['c-guest.c', 'Hello from C!\n'],
  ]) {
    it(`the New Guest template ${template} builds and boots as it is`, function () {
      const src = path.join(tmp, template);
      fs.copyFileSync(guest('templates', template), src);
      const { status, json } = runJson([src, '--peek', '0x400:4']);
      assert.equal(status, 0, json.message);
      assert.equal(json.serial, greeting);
      if (template === 'c-guest.c') assert.equal(json.memory['0x400'], '37000000', 'fib(10) = 55');
    });
  }

  it('runs a prebuilt ELF and a flat binary, choosing the mode from the ELF class', function () {
    const elf = path.join(tmp, 'halt64.elf');
    // mov $42,%eax ; out %al,$0xe9 ; hlt
    fs.writeFileSync(elf, makeElf({ cls: 64, paddr: 0x180000, code: [0xb8, 42, 0, 0, 0, 0xe6, 0xe9, 0xf4] }));
    const a = runJson([elf]);
    assert.equal(a.status, 0, a.json.message);
    assert.equal(a.json.serial, '*');
    assert.match(a.json.message, /64-bit long mode/);
    const flat = path.join(tmp, 'halt.bin');
    fs.writeFileSync(flat, Buffer.from([0xb0, 0x21, 0xe6, 0xe9, 0xf4]));
    const b = runJson([flat, '--mode', 'protected', '--load-address', '0x180000']);
    assert.equal(b.status, 0, b.json.message);
    assert.equal(b.json.serial, '!');
    assert.equal(b.json.registers.rip, '0x180005');
    assert.equal(b.json.registers.rax, '0x21');
  });

  it('a guest that triple-faults: exit 3, says so, with the registers', function () {
    const src = path.join(tmp, 'fault.S');
    // A write far above the identity map: #PF, then #GP and #DF through the empty IDT → triple fault.
    fs.writeFileSync(src, '.code64\n.section .start, "ax"\n.globl _start\n_start:\n    movabs $0x100000000000, %rbx\n    movq $1, (%rbx)\n    hlt\n');
    const { status, json } = runJson([src]);
    assert.equal(status, 3, json.message);
    assert.equal(json.outcome, 'shutdown');
    const how = accel === 'kvm' ? 'KVM_EXIT_SHUTDOWN' : 'shutdown';
    assert.match(json.message, new RegExp(`triple-faulted \\(${how}\\) at RIP 0x10000a in 64-bit long mode`));
    assert.match(json.message, /movq \$0x1,\(%rbx\)/);
    assert.equal(json.registers.rbx, '0x100000000000');
    assert.equal(json.registers.rip, '0x10000a', 'RIP stays at the faulting store (a fault, not a trap)');
    const text = run([src]);
    assert.equal(text.status, 3);
    assert.match(text.stderr, /triple-faulted/);
    assert.match(text.stderr, /rbx=0x0000100000000000/);
  });

  it('ud2 with no IDT: exit 3, the faulting instruction is named', function () {
    const bin = path.join(tmp, 'ud2.bin');
    fs.writeFileSync(bin, Buffer.from([0x90, 0x0f, 0x0b]));
    const { status, json } = runJson([bin, '--mode', 'protected']);
    assert.equal(status, 3);
    assert.match(json.message, /triple-faulted.*RIP 0x100001 in 32-bit protected mode.*0f 0b {2}\(ud2\)/);
  });
});

describe('kvm-guest run: choosing the accelerator', function () {
  this.timeout(60000);

  it('--accel auto takes KVM where /dev/kvm works, else the software CPU, and says why in one line', function () {
    const r = runJsonAuto([guest('linux-journal', 'kernel2.S'), '--accel', 'auto']);
    assert.equal(r.status, 0, r.json.message);
    assert.equal(r.json.serial, 'Hello\n');
    const line = r.stderr.split('\n').filter((l) => /running on/.test(l));
    assert.equal(line.length, 1, r.stderr);
    if (kvmProblem === undefined) {
      assert.equal(r.json.accelerator, 'kvm');
      assert.match(line[0], /^kvm-guest: running on KVM/);
    } else {
      assert.equal(r.json.accelerator, 'tcg');
      assert.match(line[0], /^kvm-guest: (\S+|KVM) .*: running on the software CPU/);
    }
  });

  it('--accel kvm runs on KVM where it works, else fails with exit 1 and the exact reason', function () {
    const r = runJsonAuto([guest('linux-journal', 'kernel2.S'), '--accel', 'kvm']);
    if (kvmProblem === undefined) {
      assert.equal(r.status, 0, r.json.message);
      assert.equal(r.json.accelerator, 'kvm');
    } else {
      assert.equal(r.status, 1);
      assert.equal(r.json.outcome, 'error');
      assert.equal(r.json.message, kvmProblem);
    }
  });

  it('an unknown --accel: exit 1, lists the choices', function () {
    const { status, json } = runJsonAuto([guest('linux-journal', 'kernel2.S'), '--accel', 'hvf']);
    assert.equal(status, 1);
    assert.match(json.message, /unknown accelerator 'hvf': choose one of auto, kvm, tcg/);
  });
});

// None of these needs an accelerator (the guest never starts, or any accelerator `auto` picks will do).
describe('kvm-guest run: bad input gets a specific message and exit status', function () {
  this.timeout(60000);
  const runJson = runJsonAuto;
  let tmp: string;
  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-bad-'));
  });
  after(function () {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a missing file: exit 1, "no such file"', function () {
    const { status, json } = runJson([path.join(tmp, 'nope.S')]);
    assert.equal(status, 1);
    assert.equal(json.outcome, 'error');
    assert.match(json.message, /nope\.S: no such file/);
  });

  it('an assembler error: exit 2 with file:line, also as text on stderr', function () {
    const src = path.join(tmp, 'broken.S');
    fs.writeFileSync(src, '.code32\n_start:\n    movl $1, %eax\n    frobnicate %eax\n    hlt\n');
    const { status, json } = runJson([src]);
    assert.equal(status, 2);
    assert.equal(json.outcome, 'build-error');
    const d = json.diagnostics?.find((x) => x.severity === 'error');
    assert.ok(d, 'an error diagnostic');
    assert.equal(d.file, src);
    assert.equal(d.line, 4);
    assert.match(d.message, /frobnicate/);
    const text = cli(['run', src]);
    assert.equal(text.status, 2);
    assert.match(text.stderr, /broken\.S:4(:\d+)?: error: .*frobnicate/);
    assert.match(text.stderr, /^kvm-guest: build failed \(1 error\)$/m, 'a count, not the first error again');
  });

  it('an ELF segment beyond guest memory: exit 1, names the range and --memory', function () {
    const elf = path.join(tmp, 'far.elf');
    fs.writeFileSync(elf, makeElf({ cls: 32, paddr: 0x400000, code: [0xf4] }));
    const { status, json } = runJson([elf, '--memory', '2M']);
    assert.equal(status, 1);
    assert.match(json.message, /segment 0x400000–0x400000 lies beyond guest memory \(0x0–0x1fffff\); give more memory with --memory/);
    const ok = runJson([elf, '--memory', '8M']);
    assert.equal(ok.status, 0, ok.json.message);
  });

  it('an image over the monitor\'s reserved region is refused', function () {
    const elf = path.join(tmp, 'low.elf');
    fs.writeFileSync(elf, makeElf({ cls: 32, paddr: 0x90000, code: [0xf4] }));
    const { status, json } = runJson([elf]);
    assert.equal(status, 1);
    assert.match(json.message, /overlaps the monitor's reserved region 0x90000–0x9ffff/);
  });

  it('a truncated ELF: exit 1, "truncated ELF"', function () {
    const elf = path.join(tmp, 'cut.elf');
    fs.writeFileSync(elf, makeElf({ cls: 64, paddr: 0x100000, code: new Array(64).fill(0x90) }).subarray(0, 150));
    const { status, json } = runJson([elf]);
    assert.equal(status, 1);
    assert.match(json.message, /cut\.elf: truncated ELF: segment 0 \(PT_LOAD at 0x100000\)/);
  });

  it('an empty binary: exit 1, "the binary is empty"', function () {
    const bin = path.join(tmp, 'empty.bin');
    fs.writeFileSync(bin, '');
    const { status, json } = runJson([bin, '--mode', 'protected']);
    assert.equal(status, 1);
    assert.match(json.message, /empty\.bin: the binary is empty/);
  });

  it('a flat binary without --mode: exit 1, says how to choose', function () {
    const flat = path.join(tmp, 'halt.bin');
    fs.writeFileSync(flat, Buffer.from([0xb0, 0x21, 0xe6, 0xe9, 0xf4]));
    const c = runJson([flat]);
    assert.equal(c.status, 1);
    assert.match(c.json.message, /a flat binary carries no mode\. Pass --mode real\|protected\|paged32\|long/);
  });

  it('an unknown --mode: exit 1, lists the modes', function () {
    const { status, json } = runJson([guest('linux-journal', 'kernel2.S'), '--mode', 'unreal']);
    assert.equal(status, 1);
    assert.match(json.message, /unknown mode 'unreal': choose one of real, protected, paged32, long/);
  });

  it('memory size 0 or absurd: exit 1, says what is accepted', function () {
    const zero = runJson([guest('linux-journal', 'kernel2.S'), '--memory', '0']);
    assert.equal(zero.status, 1);
    assert.match(zero.json.message, /at least 1M/);
    const huge = runJson([guest('linux-journal', 'kernel2.S'), '--memory', '64G']);
    assert.equal(huge.status, 1);
    assert.match(huge.json.message, /too large: at most 3G/);
  });

  it('a C guest with no mode: says how to choose', function () {
    const { status, json } = runJson([guest('hello-world', 'hello.c')]);
    assert.equal(status, 1);
    assert.match(json.message, /no \.code16\/\.code32\/\.code64 directive\. Pass --mode/);
  });
});
