// QEMU TCG as the independent reference for Multiboot kernels: `qemu-system-x86_64 -accel tcg
// -kernel` with QEMU's own isa-debug-exit at 0xf4 and COM1 on stdout.
import { spawnSync } from 'node:child_process';

export const QEMU = 'qemu-system-x86_64';

/** Why QEMU cannot serve as the reference here, or undefined when it can. */
export const qemuProblem: string | undefined = ((): string | undefined => {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (r.error) return `${QEMU} is not installed (${(r.error as NodeJS.ErrnoException).code}): install it (Debian/Ubuntu: apt-get install qemu-system-x86)`;
  return r.status === 0 ? undefined : `${QEMU} --version failed: ${r.stderr.trim()}`;
})();

export const hasQemu = qemuProblem === undefined;

/**
 * A suite whose tests run QEMU: where it cannot run, every test is pending and the title says why
 * (nothing skips silently).
 */
export function describeWithQemu(title: string, body: (this: Mocha.Suite) => void): void {
  describe(`${title}${qemuProblem ? ` [pending: ${qemuProblem}]` : ''}`, function () {
    if (qemuProblem)
      before(function () {
        this.skip(); // the title says why
      });
    body.call(this);
  });
}

/** QEMU's process exit status for a guest value: isa-debug-exit calls exit((value << 1) | 1). */
export const qemuStatus = (value: number): number => ((value << 1) | 1) & 0xff;

/** Runs a Multiboot kernel under QEMU TCG; the status is null only when QEMU could not be run. */
export function qemuKernel(
  kernel: string,
  opts: { append?: string; initrd?: string; memoryMiB?: number; timeoutMs?: number; smp?: number; extra?: string[] } = {},
): { status: number | null; serial: string } {
  const args = [
    '-accel', 'tcg', '-kernel', kernel, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-serial', 'stdio', '-display', 'none', '-no-reboot', '-nodefaults', '-m', String(opts.memoryMiB ?? 64),
  ];
  if (opts.append !== undefined) args.push('-append', opts.append);
  if (opts.initrd !== undefined) args.push('-initrd', opts.initrd);
  if (opts.smp !== undefined) args.push('-smp', String(opts.smp));
  args.push(...(opts.extra ?? []));
  const r = spawnSync(QEMU, args, { encoding: 'latin1', timeout: opts.timeoutMs ?? 30000 });
  return { status: r.status, serial: r.stdout };
}
