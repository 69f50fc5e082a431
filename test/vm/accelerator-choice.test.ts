// Choosing the accelerator as a user without KVM or without Unicorn meets it: the machine's own
// /dev/kvm and libunicorn are hidden with the product's overrides (KVM_GUEST_KVM_DEVICE,
// KVM_GUEST_UNICORN_LIB), so these run the same on every machine. Each missing piece must be named
// with its fix, with `run`'s usual exit status 1, and `auto` must fall back to what exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI, guest } from '../helpers/cli';

const NO_KVM = { KVM_GUEST_KVM_DEVICE: '/nonexistent/kvm' };
const NO_UNICORN = { KVM_GUEST_UNICORN_LIB: 'libunicorn-absent.so.2' };

function run(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('choosing the accelerator (KVM and Unicorn hidden by override)', function () {
  this.timeout(60000);

  it('auto without KVM runs on the software CPU and says why, once', function () {
    const r = run(['run', guest('linux-journal', 'kernel2.S')], NO_KVM);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Hello\n');
    const lines = r.stderr.split('\n').filter((l) => /running on/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^kvm-guest: \/nonexistent\/kvm is absent: running on the software CPU \(Unicorn 2\.\d+\.\d+\) — same devices and exits, no hardware virtualization$/);
  });

  it('--accel kvm without KVM fails with the KVM fix (exit 1), and --json says so in one object', function () {
    const r = run(['run', guest('linux-journal', 'kernel2.S'), '--accel', 'kvm'], NO_KVM);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/nonexistent\/kvm does not exist: KVM is not available on this host\. Load the module \(sudo modprobe kvm_intel or kvm_amd\)/);
    const j = run(['run', guest('linux-journal', 'kernel2.S'), '--accel', 'kvm', '--json'], NO_KVM);
    assert.equal(j.status, 1);
    const json = JSON.parse(j.stdout);
    assert.equal(json.outcome, 'error');
    assert.match(json.message, /does not exist/);
  });

  it('--accel tcg without Unicorn says how to install it (exit 1)', function () {
    const r = run(['run', guest('linux-journal', 'kernel2.S'), '--accel', 'tcg'], NO_UNICORN);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the software CPU \(Unicorn 2\) is not available: libunicorn-absent\.so\.2 could not be loaded/);
    assert.match(r.stderr, /Debian\/Ubuntu: sudo apt-get install libunicorn2; Fedora: sudo dnf install unicorn; macOS: brew install unicorn/);
  });

  it('neither: one message naming both fixes (exit 1)', function () {
    const r = run(['run', guest('linux-journal', 'kernel2.S')], { ...NO_KVM, ...NO_UNICORN });
    assert.equal(r.status, 1);
    const msg = r.stderr.trim().split('\n').filter((l) => l.startsWith('kvm-guest:'));
    assert.equal(msg.length, 1, r.stderr);
    assert.match(msg[0], /no accelerator can run guests here\. KVM: .*modprobe.* Software CPU: .*apt-get install libunicorn2/);
  });

  it('an unknown --accel is a usage error naming the choices', function () {
    const r = run(['run', guest('linux-journal', 'kernel2.S'), '--accel', 'hvf'], {});
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown accelerator 'hvf': choose one of auto, kvm, tcg/);
  });

  it('kvm-guest info reports both accelerators, without KVM too, and never mentions int3 breakpoints', function () {
    const r = run(['info', '--json'], NO_KVM);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { accelerators: { name: string; available: boolean; problem?: string; modes: string[]; watchKinds: string[]; breakpoints: string }[]; auto: string };
    const kvm = info.accelerators.find((a) => a.name === 'kvm')!;
    const tcg = info.accelerators.find((a) => a.name === 'tcg')!;
    assert.equal(kvm.available, false);
    assert.match(kvm.problem!, /does not exist/);
    assert.equal(tcg.available, true);
    assert.deepEqual(tcg.modes, ['real', 'protected', 'paged32', 'long']);
    assert.deepEqual(tcg.watchKinds, ['read', 'write', 'readWrite']);
    assert.match(tcg.breakpoints, /unlimited/);
    assert.match(info.auto, /running on the software CPU/);
    const text = run(['info'], NO_KVM);
    assert.doesNotMatch(text.stdout, /int3/i);
    const none = run(['info', '--json'], { ...NO_KVM, ...NO_UNICORN });
    assert.equal(none.status, 1, 'no accelerator: info exits 1');
  });
});
