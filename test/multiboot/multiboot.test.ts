// Multiboot kernels and isa-debug-exit through the real `kvm-guest run` (and the debug adapter), on
// each accelerator. Expected values come from the specifications (Multiboot 0.6.96 §3.2–3.3,
// Multiboot2 §3.6) applied to the machine's documented memory layout, and from QEMU's behaviour:
// the same kernels run under `qemu-system-x86_64 -accel tcg -kernel` with QEMU's isa-debug-exit,
// whose exit statuses ours must equal, and whose Multiboot loader must pass the guests' own checks
// (which shows the checks themselves are right).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describeWithQemu, qemuKernel as qemu, qemuStatus } from '../helpers/qemu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, guest, ROOT, runJson as runJsonAuto } from '../helpers/cli';
import { forEachAccelerator, pendingBecause } from '../helpers/accelerators';
import { lineOf, Session } from '../helpers/dap-session';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { AcceleratorName } from '../../debug-adapter/vmm/accelerator';

const KERNEL = guest('multiboot', 'kernel.c');
const TEST_GUESTS = path.join(ROOT, 'test', 'guests', 'multiboot');
const EXIT_CODE = path.join(TEST_GUESTS, 'exit-code.c');
const MB2 = path.join(TEST_GUESTS, 'mb2.c');
const KLUDGE_SOURCE = path.join(TEST_GUESTS, 'aout-kludge.s');
/** Builds the flat a.out-kludge kernel with the real assembler and linker (no ELF left in it). */
function buildKludge(dir: string): string {
  const obj = path.join(dir, 'aout-kludge.o');
  const bin = path.join(dir, 'aout-kludge.bin');
  for (const [tool, args] of [
    ['as', ['--32', '-o', obj, KLUDGE_SOURCE]],
    ['ld', ['-m', 'elf_i386', '-Ttext=0x200000', '-e', '0x200020', '--oformat=binary', '-o', bin, obj]],
  ] as const) {
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `${tool}: ${r.stderr}`);
  }
  return bin;
}

/**
 * Builds long64.S as kvm-unit-tests builds its x86_64 tests: a 64-bit ELF linked at 4 MiB, then
 * `objcopy -O elf32-i386` (a Multiboot loader takes ELF32); the kernel enters long mode itself.
 */
function buildLong64(dir: string): string {
  const obj = path.join(dir, 'long64.o');
  const elf = path.join(dir, 'long64.elf');
  const flat = path.join(dir, 'long64.flat');
  for (const [tool, args] of [
    ['gcc', ['-c', '-m64', '-o', obj, path.join(TEST_GUESTS, 'long64.S')]],
    ['ld', ['-m', 'elf_x86_64', '-nostdlib', '-e', 'start', '-Ttext-segment=0x400000', '-z', 'noexecstack', '-o', elf, obj]],
    ['objcopy', ['-O', 'elf32-i386', elf, flat]],
  ] as const) {
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `${tool}: ${r.stderr}`);
  }
  return flat;
}

/** What long64.S prints, as QEMU TCG prints it too. */
const LONG64_OUTPUT = 'long mode from an objcopied ELF64\napic id 0\nint3 handled\nback from iretq\nnb_cpus 1\n';

/** The serial lines of the guests' checks. */
const failedChecks = (serial: string): string[] => serial.split('\n').filter((l) => l.startsWith('FAIL'));

let tmp: string;
let mod1: string;
let mod2: string;
before(function () {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'multiboot-'));
  mod1 = path.join(tmp, 'mod1.txt');
  mod2 = path.join(tmp, 'mod2.bin');
  fs.writeFileSync(mod1, 'hello from module one\nsecond line\n');
  fs.writeFileSync(mod2, 'module two');
});
after(function () {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

forEachAccelerator('Multiboot kernels and isa-debug-exit', function (accel: AcceleratorName) {
  this.timeout(120000);
  const runJson = (args: string[]): ReturnType<typeof runJsonAuto> => {
    const r = runJsonAuto([...args, '--accel', accel]);
    assert.equal(r.json.accelerator, accel, `--accel ${accel} ran on ${r.json.accelerator}: ${r.json.message}\n${r.stderr}`);
    return r;
  };

  it('the bare-bones kernel finds every Multiboot v1 field as the specification defines it for this machine', function () {
    const { status, json } = runJson([KERNEL, '--memory', '4M', '--cmdline', 'console=ttyS0 debug', '--module', `${mod1}=first`, '--module', mod2]);
    assert.equal(json.outcome, 'exited', json.message);
    assert.deepEqual(failedChecks(json.serial), []);
    assert.equal(json.guestExitCode, 0);
    assert.equal(status, 1, '(0 << 1) | 1');
    const lines = json.serial.split('\n');
    // §3.2: EAX = 0x2BADB002, EBX = the physical address of the information (the README's 0x98000).
    assert.equal(lines[0], 'multiboot kernel: EAX=0x2badb002 EBX=0x00098000');
    // flags: mem (0), cmdline (2), mods (3), mmap (6), boot_loader_name (9).
    assert.ok(lines.includes('flags=0x0000024d'), json.serial);
    // mem_lower: RAM from 0 up to the monitor's reserved region at 0x90000; mem_upper: from 1 MiB to the end of the 4 MiB.
    assert.ok(lines.includes(`mem_lower=${0x90000 / 1024} KiB mem_upper=${(4 * 1024) - 1024} KiB`), json.serial);
    assert.deepEqual(lines.filter((l) => l.startsWith('mmap:')), [
      'mmap: base=0x00000000 length=0x00090000 type=1',
      'mmap: base=0x00090000 length=0x00010000 type=2',
      'mmap: base=0x000a0000 length=0x00060000 type=2',
      'mmap: base=0x00100000 length=0x00300000 type=1',
    ]);
    assert.ok(lines.includes(`cmdline="${KERNEL} console=ttyS0 debug"`), 'the kernel\'s name first, as GRUB and QEMU pass it');
    assert.ok(lines.includes('boot_loader_name="KVM Guest Studio"'));
    assert.ok(lines.includes('mods_count=2'));
    assert.ok(lines.includes('module 0: string="first" size=34 first line="hello from module one"'), json.serial);
    assert.ok(lines.includes(`module 1: string="${mod2}" size=10 first line="module two"`), json.serial);
    assert.equal(json.boot?.protocol, 'multiboot');
    assert.equal(json.boot?.format, 'elf');
    assert.equal(json.boot?.infoAddress, '0x98000');
    assert.deepEqual(json.boot?.modules.map((m) => m.string), ['first', mod2]);
  });

  it('no --mode is needed, and the kernel starts in 32-bit protected mode with paging and interrupts off', function () {
    const { json } = runJson([KERNEL]);
    assert.equal(json.outcome, 'exited', json.message);
    assert.ok(json.serial.includes('ok: protected mode, paging off\nok: EFLAGS.IF = 0, EFLAGS.VM = 0\n'), json.serial);
    assert.ok(json.serial.includes(`cmdline="${KERNEL}"`), 'without --cmdline, the kernel\'s name alone');
    assert.ok(json.serial.includes('mods_count=0\n'));
  });

  it('a flat kernel with the a.out kludge (flag 16) is placed by its header\'s addresses, its bss zeroed', function () {
    const bin = buildKludge(tmp);
    const { status, json } = runJson([bin, '--memory', '4M']);
    assert.equal(json.outcome, 'exited', json.message);
    assert.equal(json.serial, 'kludge: EAX=0x2BADB002, loaded at 0x200000\nkludge: bss zeroed\n');
    assert.equal(json.guestExitCode, 0x21);
    assert.equal(status, qemuStatus(0x21));
    assert.equal(json.boot?.format, 'aout-kludge');
    assert.equal(json.boot?.entry, '0x200020');
  });

  it('a Multiboot2 kernel gets EAX = 0x36D76289 and the cmdline, loader name, module, basic meminfo, mmap and end tags', function () {
    const { status, json } = runJson([MB2, '--memory', '4M', '--cmdline', 'a=1 b', '--module', `${mod1}=first`]);
    assert.equal(json.outcome, 'exited', json.message);
    assert.deepEqual(failedChecks(json.serial), []);
    assert.equal(status, 1);
    const cmdline = `${MB2} a=1 b`;
    const lines = json.serial.split('\n');
    assert.equal(lines[0], 'mb2: EAX=0x36d76289 EBX=0x00098000');
    const tags = lines.filter((l) => l.startsWith('tag ') || l.startsWith('  mmap'));
    // The module goes on the first page boundary after the kernel (where `boot` says), 34 bytes long.
    const modStart = parseInt(json.boot!.modules[0].start, 16);
    assert.equal(modStart % 4096, 0);
    const hex8 = (n: number): string => '0x' + n.toString(16).padStart(8, '0');
    // Sizes per §3.6: 8 + the string and its NUL; module 16 + string; meminfo 16; mmap 16 + 24 per entry; end 8.
    assert.deepEqual(tags, [
      `tag 1 size=${8 + cmdline.length + 1} cmdline="${cmdline}"`,
      `tag 2 size=${8 + 'KVM Guest Studio'.length + 1} loader="KVM Guest Studio"`,
      `tag 3 size=${16 + 'first'.length + 1} mod_start=${hex8(modStart)} mod_end=${hex8(modStart + 34)} string="first" first="hello from module one"`,
      `tag 4 size=16 mem_lower=576 mem_upper=3072`,
      `tag 6 size=${16 + 4 * 24} entry_size=24 entry_version=0`,
      '  mmap base=0x00000000 length=0x00090000 type=1',
      '  mmap base=0x00090000 length=0x00010000 type=2',
      '  mmap base=0x000a0000 length=0x00060000 type=2',
      '  mmap base=0x00100000 length=0x00300000 type=1',
      'tag 0 size=8',
    ]);
    assert.equal(json.boot?.protocol, 'multiboot2');
  });

  it('a kvm-unit-tests-style kernel (ELF64 objcopied to ELF32 at 4 MiB) enters long mode itself and finds what cstart64 needs', function () {
    const { status, json } = runJson([buildLong64(tmp), '--memory', '8M']);
    // Measured: kvm_pvm emulates CPL-0 code and cannot emulate INT3 in long mode (as INT n elsewhere).
    if (accel === 'kvm' && fs.existsSync('/sys/module/kvm_pvm') && status === 5 && /emulation failure.*\(int3\)/.test(json.message)) {
      // Long mode was entered (the guest's own WRMSR of EFER.LME: KVM needs the vCPU's CPUID for it) before that.
      assert.equal(json.serial, 'long mode from an objcopied ELF64\napic id 0\n');
      pendingBecause(this, 'kvm_pvm cannot emulate INT3 in long mode (KVM_EXIT_INTERNAL_ERROR, emulation failure at int3); hardware KVM delivers it');
    }
    assert.equal(json.outcome, 'exited', json.message);
    assert.equal(json.serial, LONG64_OUTPUT);
    assert.equal(status, qemuStatus(0x2a));
    assert.match(json.message, /in 64-bit long mode/);
  });

  // value, width, port → QEMU's status; nothing after the OUT may run into the output.
  const exits: [number, 1 | 2 | 4, number][] = [[0, 1, 0xf4], [1, 4, 0xf4], [0x7f, 1, 0xf6], [0x80, 2, 0xf6], [0x1234, 2, 0xf4], [0x12345, 4, 0xf4], [0xffffffff, 1, 0xf7]];
  for (const [value, width, port] of exits) {
    it(`isa-debug-exit: ${width}-byte write of 0x${value.toString(16)} to 0x${port.toString(16)} ends the run with status (value << 1) | 1 = ${qemuStatus(value)}`, function () {
      const { status, json } = runJson([EXIT_CODE, '--cmdline', `0x${value.toString(16)} ${width} 0x${port.toString(16)}`]);
      assert.equal(json.outcome, 'exited', json.message);
      assert.equal(json.guestExitCode, width === 4 ? value : value & (width === 2 ? 0xffff : 0xff), 'the value the OUT wrote');
      assert.equal(status, qemuStatus(value));
      assert.equal(json.serial, '', 'the instructions after the OUT never ran');
      assert.equal(json.ports[`0x${port.toString(16)}`]?.out, 1);
      assert.match(json.message, /isa-debug-exit/);
    });
  }

  it('isa-debug-exit: a write not aligned to its size (2 bytes at 0xf5) is dropped, as QEMU drops it, and the guest goes on', function () {
    const { status, json } = runJson([EXIT_CODE, '--cmdline', '3 2 0xf5']);
    assert.equal(json.outcome, 'halted', json.message);
    assert.equal(status, 0);
    assert.equal(json.serial, 'after exit\n');
  });

  it('isa-debug-exit: RIP stops right after the OUT, other registers as the OUT left them', function () {
    const src = path.join(tmp, `exit-rip-${accel}.S`);
    fs.writeFileSync(src, '.code32\n.globl _start\n_start:\n  mov $0x2a, %eax\n  out %eax, $0xf4\n  mov $0x58, %al\n  out %al, $0xe9\n  mov $7, %ebx\n  hlt\n');
    const { status, json } = runJson([src]);
    assert.equal(json.outcome, 'exited', json.message);
    assert.equal(status, 85);
    assert.equal(json.registers.rip, '0x100007', 'mov (5 bytes) + out imm8 (2 bytes) after 0x100000');
    assert.equal(json.registers.rax, '0x2a');
    assert.equal(json.registers.rbx, '0x98000', 'start_info, untouched: mov $7, %ebx never ran');
    assert.equal(json.serial, '');
  });

  it('kvm-guest run without --json prints the serial output and says how it ended, with the status', function () {
    const r = cli(['run', EXIT_CODE, '--cmdline', '3 1 0xf4', '--accel', accel]);
    assert.equal(r.status, 7);
    assert.match(r.stderr, /kvm-guest: loaded as a Multiboot kernel by its ELF program headers: entry 0x[0-9a-f]+, boot information at 0x98000 \(EBX\)/);
    assert.match(r.stderr, /guest exited through isa-debug-exit \(port 0xf4\) with value 3 \(0x3; exit status 7/);
  });

  it('F5 on the bare-bones kernel: breakpoints in its assembly and its C bind, the Debug Console says how it was loaded and how it exited', async function () {
    const x = await new Session(accel).start();
    try {
      const asmLine = lineOf(KERNEL, /LOC "\s+push %ebx/);
      const line = lineOf(KERNEL, /put\("checks failed: "\)/);
      const bound: DebugProtocol.Breakpoint[] = [];
      x.dc.on('breakpoint', (e: DebugProtocol.BreakpointEvent) => bound.push(e.body.breakpoint));
      const first = x.stopped();
      await x.launch({ program: KERNEL, cmdline: 'from-dap', modules: [`${mod1}=m1`] }, { [KERNEL]: [asmLine, line] });
      const ev = await first;
      assert.equal(ev.body.reason, 'breakpoint');
      assert.equal((await x.top()).line, asmLine, 'stopped in boot.s\'s assembly, before push %ebx');
      const regs = await x.registers();
      assert.equal(regs.eax, '0x2badb002');
      // Bound after the build; at -O2 a C line may bind to the next line with code.
      const boundLine = bound.map((b) => b.line!).find((l) => l !== asmLine)!;
      assert.ok(boundLine >= line && boundLine <= line + 1, `bound to line ${boundLine}`);
      const stopped = x.stopped();
      await x.dc.continueRequest({ threadId: 1 });
      assert.equal((await stopped).body.reason, 'breakpoint');
      assert.equal((await x.top()).line, boundLine);
      assert.match(x.stdout, /cmdline="\S+kernel\.c from-dap"/);
      assert.match(x.stdout, /module 0: string="m1" size=34/);
      const terminated = x.dc.waitForEvent('terminated', 20000);
      await x.dc.continueRequest({ threadId: 1 });
      await terminated;
      assert.equal(x.exitCode, 1, 'isa-debug-exit 0 → (0 << 1) | 1');
      assert.match(x.output, /loaded as a Multiboot kernel by its ELF program headers/);
      assert.match(x.output, /guest exited through isa-debug-exit \(port 0xf4\) with value 0/);
    } finally {
      await x.end();
    }
  });

  it('stepping over the isa-debug-exit write (by line, then by instruction) ends the session with its status', async function () {
    for (const granularity of [undefined, 'instruction'] as const) {
      const x = await new Session(accel).start();
      try {
        const line = lineOf(EXIT_CODE, /serial_puts\("after exit\\n"\)/);
        const stopped = x.stopped();
        const outLine = lineOf(EXIT_CODE, /if \(width == 1\)/);
        await x.launch({ program: EXIT_CODE, cmdline: '5 1 0xf4' }, { [EXIT_CODE]: [outLine] });
        await stopped;
        const terminated = x.dc.waitForEvent('terminated', 20000);
        // Step until the session ends: the OUT is on the breakpoint's line or the next.
        for (let i = 0; i < 40 && x.exitCode === undefined; i++) {
          const next = x.stopped();
          await x.dc.nextRequest({ threadId: 1, granularity });
          const r = await Promise.race([next.then(() => 'stopped'), terminated.then(() => 'ended')]);
          if (r === 'ended') break;
          assert.ok((await x.top()).line! < line, 'never reaches the line after the exit');
        }
        await terminated;
        assert.equal(x.exitCode, qemuStatus(5), `granularity ${granularity ?? 'line'}`);
        assert.equal(x.stdout, '');
      } finally {
        await x.end();
      }
    }
  });

  it('stopOnEntry shows the Multiboot machine state: EAX = 0x2BADB002, EBX = 0x98000, CR0.PE without PG', async function () {
    const x = await new Session(accel).start();
    try {
      const stopped = x.stopped();
      await x.launch({ program: KERNEL, stopOnEntry: true });
      await stopped;
      const regs = await x.registers();
      assert.equal(regs.eax, '0x2badb002');
      assert.equal(regs.ebx, '0x00098000');
      const cr0 = BigInt((await x.repl('cr0')).split(' ')[0]);
      assert.equal(cr0 & 1n, 1n);
      assert.equal(cr0 & (1n << 31n), 0n);
      assert.match(await x.repl('.machine'), /^boot: loaded as a Multiboot kernel by its ELF program headers: entry 0x[0-9a-f]+, boot information at 0x98000 \(EBX\)/m);
    } finally {
      await x.end();
    }
  });
});

describe('Multiboot: what is refused, and why (no guest runs)', function () {
  this.timeout(60000);
  it('--cmdline and --module on a kernel without a Multiboot header: a usage error naming the reason', function () {
    const r = cli(['run', guest('hello-world', 'hello.c'), '--mode', 'protected', '--cmdline', 'x', '--json']);
    assert.equal(r.status, 1);
    assert.match(JSON.parse(r.stdout).message, /--cmdline and --module are for Multiboot kernels; .*hello\.c has no Multiboot header/);
  });

  it('a header requiring a video mode table (flag 2) is refused, as the specification asks of a loader that cannot meet it', function () {
    const img = Buffer.alloc(64);
    img.writeUInt32LE(0x1badb002, 0);
    img.writeUInt32LE(4, 4);
    img.writeUInt32LE((-(0x1badb002 + 4)) >>> 0, 8);
    const file = path.join(tmp, 'video.bin');
    fs.writeFileSync(file, img);
    const r = cli(['run', file, '--json']);
    assert.equal(r.status, 1);
    assert.match(JSON.parse(r.stdout).message, /requires a video mode table \(flag 2\)/);
  });

  it('a magic number with a wrong checksum is not a header: the file is a plain flat binary', function () {
    const img = Buffer.alloc(64);
    img.writeUInt32LE(0x1badb002, 0);
    img.writeUInt32LE(0, 4);
    img.writeUInt32LE(1, 8);
    const file = path.join(tmp, 'nochecksum.bin');
    fs.writeFileSync(file, img);
    const r = cli(['run', file, '--json']);
    assert.equal(r.status, 1);
    assert.match(JSON.parse(r.stdout).message, /a flat binary carries no mode/);
  });

  it('a module that does not fit in memory is refused with where it would go', function () {
    const big = path.join(tmp, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(2 << 20));
    const r = cli(['run', KERNEL, '--module', big, '--json']);
    assert.equal(r.status, 1);
    assert.match(JSON.parse(r.stdout).message, /module .*big\.bin \(2097152 bytes\) does not fit/);
  });
});

describeWithQemu('Multiboot and isa-debug-exit under QEMU TCG (the reference)', function () {
  this.timeout(120000);
  const elf = (source: string): string => {
    const r = cli(['build', source, '--mode', 'protected']);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n')[0];
  };

  it('QEMU\'s Multiboot loader passes the bare-bones kernel\'s checks (the checks are right) with status 1', function () {
    const r = qemu(elf(KERNEL), { append: 'console=ttyS0 debug', initrd: `${mod1} first,${mod2}` });
    assert.deepEqual(failedChecks(r.serial), []);
    assert.match(r.serial, /checks failed: 0\n/);
    assert.match(r.serial, /module 0: string="\S+mod1\.txt first" size=34 first line="hello from module one"/);
    assert.equal(r.status, 1);
  });

  it('QEMU runs the kvm-unit-tests-style long-mode kernel the same way', function () {
    const r = qemu(buildLong64(tmp));
    assert.equal(r.serial, LONG64_OUTPUT);
    assert.equal(r.status, qemuStatus(0x2a));
  });

  it('QEMU loads the a.out-kludge kernel the same way: same output, same status', function () {
    const r = qemu(buildKludge(tmp));
    assert.equal(r.serial, 'kludge: EAX=0x2BADB002, loaded at 0x200000\nkludge: bss zeroed\n');
    assert.equal(r.status, qemuStatus(0x21));
  });

  it('QEMU\'s isa-debug-exit statuses are (value << 1) | 1 for the values the suite uses', function () {
    const kernel = elf(EXIT_CODE);
    for (const [value, width, port] of [[0x7f, 1, 0xf6], [0x80, 2, 0xf6], [0x1234, 2, 0xf4], [0x12345, 4, 0xf4], [0xffffffff, 1, 0xf7]] as const) {
      const r = qemu(kernel, { append: `0x${value.toString(16)} ${width} 0x${port.toString(16)}` });
      assert.equal(r.status, qemuStatus(value), `value 0x${value.toString(16)}`);
      assert.equal(r.serial, '');
    }
  });

  it('QEMU drops a 2-byte write at 0xf5 (not aligned to its size): the guest goes on', function () {
    const r = qemu(elf(EXIT_CODE), { append: '3 2 0xf5', timeoutMs: 3000 });
    assert.equal(r.serial, 'after exit\n');
    assert.equal(r.status, 0, 'still running (QEMU does not stop at HLT) until the test\'s SIGTERM, on which QEMU exits 0 — not 7');
  });
});
