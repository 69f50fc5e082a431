// Compiles a C program against the system's <linux/kvm.h> and checks every ioctl number, struct size,
// field offset and constant of kvm-abi.ts against it, so the layouts can never drift silently.
// Needs the header and gcc, never /dev/kvm: it runs on every machine.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CAP, IRQ, REG_NAMES, SEGMENT_NAMES, SYNC, EXIT, GUESTDBG, INTERNAL_ERROR, IOCTL, KVM_API_VERSION, MEM_FLAG, OFFSET, SIZE } from '../../debug-adapter/vmm/kvm/kvm-abi';

describe('KVM ABI layout (against <linux/kvm.h>)', function () {
  let actual: Record<string, number>;

  before(function () {
    const lines: string[] = [];
    const emit = (key: string, expr: string): void => {
      lines.push(`  printf("%s=%llu\\n", "${key}", (unsigned long long)(${expr}));`);
    };
    for (const key of Object.keys(SIZE)) emit(`SIZE.${key}`, `sizeof(struct ${key})`);
    for (const key of Object.keys(OFFSET)) {
      const [struct, ...field] = key.split('.');
      emit(`OFFSET.${key}`, `offsetof(struct ${struct}, ${field.join('.')})`);
    }
    REG_NAMES.forEach((r) => emit(`REG.${r}`, `offsetof(struct kvm_regs, ${r})`));
    SEGMENT_NAMES.forEach((r) => emit(`SEG.${r}`, `offsetof(struct kvm_sregs, ${r})`));
    for (const key of Object.keys(IOCTL)) emit(`IOCTL.${key}`, key);
    for (const group of [CAP, EXIT, GUESTDBG, INTERNAL_ERROR, IRQ, MEM_FLAG, SYNC])
      for (const key of Object.keys(group)) emit(`CONST.${key}`, key);
    emit('CONST.KVM_API_VERSION', 'KVM_API_VERSION');
    const src = `#include <stddef.h>\n#include <stdio.h>\n#include <linux/kvm.h>\nint main(void) {\n${lines.join('\n')}\n  return 0;\n}\n`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-abi-'));
    fs.writeFileSync(path.join(dir, 'abi.c'), src);
    execFileSync('gcc', ['-o', path.join(dir, 'abi'), path.join(dir, 'abi.c')], { stdio: 'pipe' });
    const out = execFileSync(path.join(dir, 'abi'), { encoding: 'utf8' });
    actual = Object.fromEntries(out.trim().split('\n').map((l) => [l.split('=')[0], Number(l.split('=')[1])]));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has the struct sizes of the header', function () {
    for (const [k, v] of Object.entries(SIZE)) assert.equal(v, actual[`SIZE.${k}`], `sizeof(struct ${k})`);
  });

  it('has the field offsets of the header', function () {
    for (const [k, v] of Object.entries(OFFSET)) assert.equal(v, actual[`OFFSET.${k}`], `offsetof ${k}`);
  });

  it('decodes kvm_regs in header order and every segment of kvm_sregs at its offset', function () {
    REG_NAMES.forEach((r, i) => assert.equal(i * 8, actual[`REG.${r}`], `kvm_regs.${r}`));
    SEGMENT_NAMES.forEach((s) => assert.equal(OFFSET[`kvm_sregs.${s}`], actual[`SEG.${s}`], `kvm_sregs.${s}`));
  });

  it('has the ioctl numbers of the header', function () {
    for (const [k, v] of Object.entries(IOCTL)) assert.equal(v, actual[`IOCTL.${k}`], k);
  });

  it('has the exit reasons, capabilities and flags of the header', function () {
    for (const group of [CAP, EXIT, GUESTDBG, INTERNAL_ERROR, IRQ, MEM_FLAG, SYNC])
      for (const [k, v] of Object.entries(group)) assert.equal(v, actual[`CONST.${k}`], k);
    assert.equal(KVM_API_VERSION, actual['CONST.KVM_API_VERSION']);
  });
});
