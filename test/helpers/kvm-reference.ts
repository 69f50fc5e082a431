// What this host's KVM can do, as the tests' own C probe (kvm-reference-probe.c: plain ioctls from
// <linux/kvm.h>, built here with gcc) finds it — never as kvm-guest's host probe reports it. Tests
// whose expectation depends on the host (paged32 runs or is refused; breakpoints on DR0–DR3 or by
// single-step scanning) take it from here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli';

export interface KvmReference {
  /** A paged32 guest (CR0.PG, CR4.PSE, no long mode) runs to HLT. */
  paged32: boolean;
  /** A DR0 execute breakpoint exits at its address. */
  hardwareBreakpoints: boolean;
  /** KVM offers the in-kernel irqchip, the PIT, irqfd with resampling and ioeventfd, and creates the irqchip. */
  irqchip: boolean;
  /** What the probe saw, for messages. */
  notes: { paged32: string; hardwareBreakpoints: string; irqchip: string };
}

const SOURCE = path.join(ROOT, 'test', 'helpers', 'kvm-reference-probe.c');
// A build product next to the compiled tests (not a temp folder: nothing to clean up).
const BINARY = path.join(ROOT, 'out', 'test', 'helpers', 'kvm-reference-probe');

let cached: KvmReference | undefined;

/** Builds (when stale) and runs the probe on the KVM device the product would use; throws when KVM is unusable. */
export function kvmReference(): KvmReference {
  if (cached) return cached;
  if (!fs.existsSync(BINARY) || fs.statSync(BINARY).mtimeMs < fs.statSync(SOURCE).mtimeMs) {
    fs.mkdirSync(path.dirname(BINARY), { recursive: true });
    const cc = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-o', BINARY, SOURCE], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`building the KVM reference probe failed:\n${cc.stderr}`);
  }
  const device = process.env.KVM_GUEST_KVM_DEVICE || '/dev/kvm';
  const r = spawnSync(BINARY, [device], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`the KVM reference probe cannot use ${device}: ${r.stderr.trim() || `status ${r.status}`}`);
  const line = (key: string): [boolean, string] => {
    const m = new RegExp(`^${key} (yes|no) (.*)$`, 'm').exec(r.stdout);
    if (!m) throw new Error(`the KVM reference probe printed no '${key}' line:\n${r.stdout}`);
    return [m[1] === 'yes', m[2]];
  };
  const [paged32, p32note] = line('paged32');
  const [hardwareBreakpoints, hwnote] = line('hwbp');
  const [irqchip, irqnote] = line('irqchip');
  cached = { paged32, hardwareBreakpoints, irqchip, notes: { paged32: p32note, hardwareBreakpoints: hwnote, irqchip: irqnote } };
  return cached;
}
