// The ppc64 KVM path cannot run here (x86-64 hosts), but its ABI can be checked: a C program built
// against Debian's powerpc kernel headers (linux-libc-dev-ppc64el-cross: <linux/kvm.h> with the
// powerpc <asm/kvm.h> and <asm/ioctl.h>) prints every struct size, field offset and ioctl number
// vm/ppc64/ppc64-kvm.ts uses. The host compiler lays the structs out as a ppc64 one does here: they
// hold only naturally aligned __u32/__u64 fields on both LP64 ABIs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PPC_KVM_IOCTL, PPC_KVM_REGS, PPC_KVM_RUN, PPC_KVM_SREGS } from '../../debug-adapter/vmm/ppc64/ppc64-kvm';

const PPC_HEADERS = '/usr/powerpc64le-linux-gnu/include';
const problem = fs.existsSync(path.join(PPC_HEADERS, 'asm', 'kvm.h')) ? undefined : `${PPC_HEADERS}/asm/kvm.h is missing (install linux-libc-dev-ppc64el-cross)`;

describe('ppc64 KVM ABI (against the powerpc <linux/kvm.h>)', function () {
  let actual: Record<string, number> = {};
  before(function () {
    if (problem) return;
    const checks: Record<string, string> = {
      'REGS.SIZE': 'sizeof(struct kvm_regs)', 'REGS.PC': 'offsetof(struct kvm_regs, pc)', 'REGS.CR': 'offsetof(struct kvm_regs, cr)',
      'REGS.CTR': 'offsetof(struct kvm_regs, ctr)', 'REGS.LR': 'offsetof(struct kvm_regs, lr)', 'REGS.XER': 'offsetof(struct kvm_regs, xer)',
      'REGS.MSR': 'offsetof(struct kvm_regs, msr)', 'REGS.GPR': 'offsetof(struct kvm_regs, gpr)',
      'SREGS.SIZE': 'sizeof(struct kvm_sregs)', 'SREGS.PVR': 'offsetof(struct kvm_sregs, pvr)', 'SREGS.SDR1': 'offsetof(struct kvm_sregs, u.s.sdr1)',
      'RUN.EXIT_REASON': 'offsetof(struct kvm_run, exit_reason)', 'RUN.MMIO_ADDR': 'offsetof(struct kvm_run, mmio.phys_addr)',
      'RUN.MMIO_DATA': 'offsetof(struct kvm_run, mmio.data)', 'RUN.MMIO_LEN': 'offsetof(struct kvm_run, mmio.len)',
      'RUN.MMIO_IS_WRITE': 'offsetof(struct kvm_run, mmio.is_write)',
    };
    for (const k of Object.keys(PPC_KVM_IOCTL)) checks[`IOCTL.${k}`] = `KVM_${k}`;
    const body = Object.entries(checks).map(([k, e]) => `  printf("%s=%llu\\n", "${k}", (unsigned long long)(${e}));`).join('\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-kvm-abi-'));
    try {
      fs.writeFileSync(path.join(dir, 'abi.c'), `#include <stddef.h>\n#include <stdio.h>\n#include <linux/kvm.h>\nint main(void) {\n${body}\n  return 0;\n}\n`);
      const gccInclude = execFileSync('gcc', ['-print-file-name=include'], { encoding: 'utf8' }).trim();
      // The powerpc kernel headers first, then the host's own (stdio.h, stddef.h).
      execFileSync('gcc', ['-nostdinc', '-isystem', PPC_HEADERS, '-isystem', gccInclude, '-isystem', '/usr/include', '-o', path.join(dir, 'abi'), path.join(dir, 'abi.c')], { stdio: 'pipe' });
      const out = execFileSync(path.join(dir, 'abi'), { encoding: 'utf8' });
      actual = Object.fromEntries(out.trim().split('\n').map((l) => [l.split('=')[0], Number(l.split('=')[1])]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const check = (title: string, fn: () => void): Mocha.Test => (problem ? it(`${title} [pending: ${problem}]`) : it(title, fn));

  check('struct kvm_regs and kvm_sregs: sizes and the offsets the seed\'s registers need', function () {
    for (const [k, v] of Object.entries(PPC_KVM_REGS)) assert.equal(v, actual[`REGS.${k}`], `kvm_regs ${k}`);
    for (const [k, v] of Object.entries(PPC_KVM_SREGS)) assert.equal(v, actual[`SREGS.${k}`], `kvm_sregs ${k}`);
  });

  check('struct kvm_run: the exit reason and the MMIO exit', function () {
    for (const [k, v] of Object.entries(PPC_KVM_RUN)) assert.equal(v, actual[`RUN.${k}`], `kvm_run ${k}`);
  });

  check('every ioctl number, in powerpc\'s _IOC encoding', function () {
    for (const [k, v] of Object.entries(PPC_KVM_IOCTL)) assert.equal(v, actual[`IOCTL.${k}`], `KVM_${k}`);
  });
});
