// README promises of the command line not covered elsewhere: `kvm-guest info` as text (both
// accelerators, KVM access with its fix, the toolchain versions), the `--stats` text, and the
// `unmapped` field of `--json`. The real `kvm-guest` runs as a child process; guests boot on the
// software CPU. Expected values come from the README's words, the guests' sources and the real
// toolchain (objdump, `as --version`…), never from kvm-guest's own output.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, cli, guest, runJson } from '../helpers/cli';
import { kvmProblem } from '../helpers/accelerators';
import { kvmReference } from '../helpers/kvm-reference';
import { buildElf, objdump, tempGuests } from './helpers';

/** `kvm-guest ARGS` with extra environment, optionally as another user. */
function run(args: string[], env: Record<string, string>, uid?: number): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env }, cwd: os.tmpdir(), ...(uid !== undefined ? { uid, gid: uid } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The text of one `name:` section of `kvm-guest info` (up to the next blank line). */
function section(text: string, start: RegExp): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => start.test(l));
  assert.ok(i >= 0, `no section ${start} in:\n${text}`);
  const end = lines.findIndex((l, j) => j > i && l.trim() === '');
  return lines.slice(i, end < 0 ? undefined : end).join('\n');
}

const firstLine = (cmd: string): string => execFileSync(cmd, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();

describe('README: kvm-guest info (text)', function () {
  this.timeout(120000);

  it('reports both accelerators and the toolchain versions of this machine\'s as, ld, gcc and objcopy', function () {
    const r = cli(['info']);
    assert.equal(r.status, 0, r.stderr);
    const tcg = section(r.stdout, /^tcg: /);
    assert.match(tcg, /^tcg: software CPU \(Unicorn \d+\.\d+\.\d+\)/);
    assert.match(tcg, /available:\s+yes/);
    // README's accelerator table: the software CPU runs every mode, unlimited exact breakpoints, read/write watches.
    assert.match(tcg, /CPU modes:\s+real, protected, paged32, long\n/);
    assert.match(tcg, /breakpoints:\s+unlimited, exact/);
    assert.match(tcg, /data breakpoints:\s+read, write, readWrite\n/);
    const kvm = section(r.stdout, /^kvm: /);
    if (kvmProblem === undefined) {
      assert.match(kvm, /available:\s+yes/);
      // KVM_GET_API_VERSION is 12 on every Linux since 2.6.22 (the stable KVM ABI).
      assert.match(kvm, /KVM API version 12\b/);
      // paged32 and DR0–DR3 as the tests' own probe of this host finds them (kvm-reference-probe.c).
      const ref = kvmReference();
      assert.match(kvm, ref.paged32 ? /CPU modes:\s+real, protected, paged32, long\n/ : /CPU modes:\s+real, protected, long\n/, `reference probe: paged32 ${ref.notes.paged32}`);
      assert.match(kvm, ref.hardwareBreakpoints ? /breakpoints:\s+hardware debug registers DR0–DR3/ : /breakpoints:\s+single-step scanning/, `reference probe: ${ref.notes.hardwareBreakpoints}`);
      assert.match(kvm, ref.irqchip ? /interrupt controllers:\s+KVM's in-kernel irqchip and PIT with irqfd \+ ioeventfd for machines with virtio devices/ : /interrupt controllers:\s+the monitor's/, `reference probe: ${ref.notes.irqchip}`);
    } else {
      assert.match(kvm, /available:\s+no — /);
    }
    const tools = section(r.stdout, /^toolchain:/);
    for (const tool of ['as', 'ld', 'gcc', 'objcopy']) {
      const line = tools.split('\n').find((l) => l.trim().startsWith(tool + ' '));
      assert.ok(line, `${tool} in:\n${tools}`);
      assert.equal(line.trim().slice(tool.length).trim(), firstLine(tool), `${tool}'s version as \`${tool} --version\` prints it`);
    }
  });

  it('without access to the KVM device it gives the fix: the kvm group and setfacl (permission denied), modprobe (absent)', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promises-kvmdev-'));
    fs.chmodSync(dir, 0o755);
    const device = path.join(dir, 'kvm');
    fs.writeFileSync(device, '');
    fs.chmodSync(device, 0o000);
    try {
      // root opens a mode-000 file anyway: run as nobody (65534) there, as oneself elsewhere —
      // with a temp folder nobody may write in (the test run's own is private to its owner).
      const uid = process.getuid?.() === 0 ? 65534 : undefined;
      const childTmp = path.join(dir, 'tmp');
      fs.mkdirSync(childTmp, { mode: 0o1777 });
      fs.chmodSync(childTmp, 0o1777);
      const denied = run(['info'], { KVM_GUEST_KVM_DEVICE: device, TMPDIR: childTmp }, uid);
      assert.equal(denied.status, 0, `the software CPU is still available: ${denied.stderr}`);
      const kvm = section(denied.stdout, /^kvm: /);
      assert.match(kvm, /available:\s+no\b/);
      assert.match(kvm, new RegExp(`${device.replace(/[/.]/g, '\\$&')}: permission denied`));
      assert.match(kvm, /kvm group \(sudo usermod -aG kvm \$USER/);
      assert.match(kvm, new RegExp(`sudo setfacl -m u:\\$USER:rw ${device.replace(/[/.]/g, '\\$&')}`));
      assert.match(section(denied.stdout, /^tcg: /), /available:\s+yes/);

      const absent = run(['info'], { KVM_GUEST_KVM_DEVICE: path.join(dir, 'absent') });
      assert.equal(absent.status, 0);
      assert.match(section(absent.stdout, /^kvm: /), /available:\s+no — .*absent does not exist: .*sudo modprobe kvm_intel or kvm_amd/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A long-mode guest touching unmapped ports 0x70/0x71 and MMIO at 0xd0000000/4: reads, a write, a repeat. */
const UNMAPPED_ACCESSES = [
  '.code64', '.section .start, "ax"', '.globl _start', '_start:',
  '    inb     $0x70, %al', '    outb    %al, $0x71', '    inb     $0x70, %al',
  '    movl    $0xd0000000, %ebx', '    movl    (%rbx), %eax', '    movl    %eax, 4(%rbx)', '    movl    (%rbx), %ecx', '    hlt', '',
].join('\n');

describe('README: kvm-guest run --stats (text) [tcg: software CPU]', function () {
  this.timeout(120000);

  it('hello.c in long mode: the README\'s example — halt line with the RIP after the hlt, the peek, exits by reason and by port', function () {
    const src = guest('hello-world', 'hello.c');
    const elf = buildElf(src, 'long');
    const hlt = objdump(elf).find((i) => i.text === 'hlt');
    assert.ok(hlt, 'hello.c has a hlt');
    const r = cli(['run', src, '--mode', 'long', '--peek', '0x400:4', '--stats', '--accel', 'tcg']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Hello, world!\n');
    // RIP after HLT is the next instruction: hlt is one byte (f4).
    assert.match(r.stderr, new RegExp(`^kvm-guest: guest halted \\(HLT with interrupts off\\) at RIP 0x${(hlt.address + 1).toString(16)} in 64-bit long mode$`, 'm'));
    assert.match(r.stderr, /^kvm-guest: memory at 0x400: 2a000000$/m, '42 as a little-endian 32-bit value');
    // "Hello, world!\n" is 14 characters, one outb to 0xE9 each, then one HLT.
    const stats = r.stderr.slice(r.stderr.indexOf('exits by reason:'));
    assert.match(
      stats,
      /^exits by reason:\n {2}IO +14\n {2}HLT +1\n {2}total +15\nI\/O exits by port:\n {2}0xe9 +out 14 {2}in 0\n/,
    );
    assert.doesNotMatch(stats, /MMIO exits/, 'no MMIO section when there were no MMIO exits');
  });

  it('counts each unmapped port and MMIO address by direction; no statistics without --stats', function () {
    const dir = tempGuests('stats', {
      'um.S': UNMAPPED_ACCESSES,
    });
    try {
      const src = path.join(dir, 'um.S');
      const r = cli(['run', src, '--stats', '--accel', 'tcg']);
      assert.equal(r.status, 0, r.stderr);
      const stats = r.stderr.slice(r.stderr.indexOf('exits by reason:'));
      assert.match(stats, /^exits by reason:\n(?: {2}\w+ +\d+\n)+ {2}total +7\n/);
      assert.match(stats, /^ {2}IO +3$/m);
      assert.match(stats, /^ {2}MMIO +3$/m);
      assert.match(stats, /^ {2}HLT +1$/m);
      assert.match(stats, /\nI\/O exits by port:\n {2}0x70 +out 0 {2}in 2\n {2}0x71 +out 1 {2}in 0\n/);
      assert.match(stats, /\nMMIO exits by address:\n {2}0xd0000000 +read 2 {2}write 0\n {2}0xd0000004 +read 0 {2}write 1\n/);
      const quiet = cli(['run', src, '--accel', 'tcg']);
      assert.equal(quiet.status, 0);
      assert.doesNotMatch(quiet.stderr, /exits by reason|I\/O exits by port/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('README: the `unmapped` field of --json [tcg: software CPU]', function () {
  this.timeout(120000);

  it('lists the first access to each unmapped port and MMIO address, once each, with direction and a guest RIP inside the program', function () {
    const dir = tempGuests('unmapped', {
      'um.S': UNMAPPED_ACCESSES,
    });
    try {
      const src = path.join(dir, 'um.S');
      const elf = buildElf(src);
      const code = objdump(elf);
      const { status, json } = runJson([src, '--accel', 'tcg']);
      assert.equal(status, 0, json.message);
      const unmapped = json.unmapped as unknown as { space: string; address: string; write: boolean; rip: string }[];
      assert.ok(Array.isArray(unmapped), `unmapped is an array: ${JSON.stringify(json.unmapped)}`);
      // Port 0x70 and MMIO 0xd0000000 are each read twice: reported once, on the first access.
      assert.deepEqual(
        unmapped.map((u) => [u.space, u.address, u.write]),
        [['port', '0x70', false], ['port', '0x71', true], ['mmio', '0xd0000000', false], ['mmio', '0xd0000004', true]],
      );
      const first = code[0].address;
      const last = code[code.length - 1].address;
      for (const u of unmapped) {
        assert.match(u.rip, /^0x[0-9a-f]+$/);
        const rip = parseInt(u.rip, 16);
        assert.ok(rip >= first && rip <= last + 1, `${u.address}: RIP ${u.rip} inside the program (0x${first.toString(16)}–0x${last.toString(16)})`);
      }
      // A guest that touches nothing unmapped has an empty list, not a missing field.
      const clean = runJson([guest('linux-journal', 'kernel2.S'), '--accel', 'tcg']);
      assert.deepEqual(clean.json.unmapped, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
