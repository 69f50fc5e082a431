// The accessing-instruction search behind the `unmapped` report (debug-adapter/vmm/io-access-locator.ts),
// without an accelerator: code assembled by the real GNU as into a flat long-mode image, the CPU
// state as each accelerator shows it at the access (software CPU: RIP at the block's start;
// KVM: RIP at or after the instruction), expected RIPs from the labels' addresses as nm reads them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initialState } from '../../debug-adapter/vmm/cpu-modes';
import { resetSRegs } from '../../debug-adapter/vmm/cpu-state';
import type { CpuState } from '../../debug-adapter/vmm/cpu-state';
import type { UnmappedAccess } from '../../debug-adapter/vmm/devices/bus';
import { locateAtOrBefore, locateForward } from '../../debug-adapter/vmm/io-access-locator';

const ORG = 0x1000;

/** Assembles `source` (64-bit) at ORG: the bytes and each label's address. */
function assemble(source: string): { bytes: Uint8Array; labels: Map<string, number> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'io-locator-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.s'), `.code64\n${source}\n`);
    execFileSync('as', ['--64', '-o', path.join(dir, 'a.o'), path.join(dir, 'a.s')]);
    execFileSync('ld', ['-m', 'elf_x86_64', `-Ttext=0x${ORG.toString(16)}`, '-e', `0x${ORG.toString(16)}`, '-o', path.join(dir, 'a.elf'), path.join(dir, 'a.o')]);
    execFileSync('objcopy', ['-O', 'binary', path.join(dir, 'a.elf'), path.join(dir, 'a.bin')]);
    const labels = new Map<string, number>();
    for (const line of execFileSync('nm', [path.join(dir, 'a.elf')], { encoding: 'utf8' }).split('\n')) {
      const [v, , n] = line.trim().split(/\s+/);
      if (n) labels.set(n, parseInt(v, 16));
    }
    return { bytes: new Uint8Array(fs.readFileSync(path.join(dir, 'a.bin'))), labels };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function longState(rip: number, regs: Partial<Record<'rax' | 'rbx' | 'rcx' | 'rdx' | 'rdi', bigint>> = {}): CpuState {
  const s = initialState('long', { kind: 'linear', address: rip }, resetSRegs());
  Object.assign(s.regs, regs);
  return { regs: s.regs, sregs: s.sregs };
}

function envOf(bytes: Uint8Array): { fetch: (linear: bigint, n: number) => number[]; toPhysical: (linear: bigint) => bigint } {
  return {
    fetch: (linear, n) => {
      const at = Number(linear) - ORG;
      return at < 0 || at >= bytes.length ? [] : Array.from(bytes.subarray(at, Math.min(bytes.length, at + n)));
    },
    toPhysical: (linear) => linear,
  };
}

const port = (address: number, write: boolean, size = 1): UnmappedAccess => ({ space: 'port', address, write, size });
const mmio = (address: number, write: boolean, size: number): UnmappedAccess => ({ space: 'mmio', address, write, size });

describe('io-access-locator: the instruction behind a port or MMIO access', function () {
  const { bytes, labels } = assemble([
    '_start: nop',
    'a_in:   inb $0x70, %al',
    'a_out:  outb %al, $0x71',
    '        movl $0xd0000000, %ebx',
    'a_st:   movl %eax, 4(%rbx)',
    '        movq $0x48, %rcx',
    'a_stq:  movq %rax, 8(%rbx)',
    'a_dx1:  outb %al, (%dx)',
    'a_dx2:  outb %al, (%dx)',
    'a_rep:  rep stosl',
    'a_end:  hlt',
  ].join('\n'));
  const at = (l: string): number => labels.get(l)!;
  const env = envOf(bytes);

  it('software CPU: decodes forward from the block start to the instruction making the access', function () {
    const s = longState(ORG, { rbx: 0xd0000000n, rdx: 0x72n });
    assert.equal(locateForward(s, env, BigInt(ORG), port(0x70, false)), BigInt(at('a_in')));
    assert.equal(locateForward(s, env, BigInt(ORG), port(0x71, true)), BigInt(at('a_out')));
    assert.equal(locateForward(s, env, BigInt(ORG), mmio(0xd0000004, true, 4)), BigInt(at('a_st')));
    assert.equal(locateForward(s, env, BigInt(ORG), mmio(0xd0000008, true, 8)), BigInt(at('a_stq')));
    // The second half of an 8-byte store split in two by the emulator: inside that operand.
    assert.equal(locateForward(s, env, BigInt(ORG), mmio(0xd000000c, true, 4)), BigInt(at('a_stq')));
    // A direction that nothing makes: no answer rather than a wrong one.
    assert.equal(locateForward(s, env, BigInt(ORG), port(0x71, false)), undefined);
  });

  it('KVM, a write: the instruction ending at RIP (completed before the exit), also behind bytes that pass for prefixes', function () {
    assert.equal(locateAtOrBefore(longState(at('a_out') + 2), env, port(0x71, true)), BigInt(at('a_out')));
    assert.equal(locateAtOrBefore(longState(at('a_st') + 3, { rbx: 0xd0000000n }), env, mmio(0xd0000004, true, 4)), BigInt(at('a_st')));
    // `48 89 43 08` (REX.W mov %rax): the 3 bytes after the REX would be a 4-byte store: the size tells them apart.
    assert.equal(locateAtOrBefore(longState(at('a_dx1'), { rbx: 0xd0000000n }), env, mmio(0xd0000008, true, 8)), BigInt(at('a_stq')));
  });

  it('KVM, a write: two OUTs to one port in a row — the first access is the earlier one', function () {
    // RIP after the first OUT (kvm_pvm) is the second OUT, which would match too.
    assert.equal(locateAtOrBefore(longState(at('a_dx2'), { rdx: 0x72n }), env, port(0x72, true)), BigInt(at('a_dx1')));
  });

  it('KVM, a write by an instruction KVM has not completed (OUT on hardware KVM, a REP string store in progress): RIP itself', function () {
    assert.equal(locateAtOrBefore(longState(at('a_dx1'), { rdx: 0x72n, rbx: 0xd0000000n }), env, port(0x72, true)), BigInt(at('a_dx1')));
    assert.equal(locateAtOrBefore(longState(at('a_rep'), { rdi: 0xd0000040n, rbx: 0xd0000000n }), env, mmio(0xd0000040, true, 4)), BigInt(at('a_rep')));
  });
});
