// README, `--json`: "`unmapped` (first access to each unmapped port or MMIO address, with the guest
// RIP)", and the text report "unmapped MMIO read at 0xd0000000 (4 bytes) by the guest at 0x100012":
// the RIP is that of the instruction that made the access — not the start of the software CPU's
// translated block, nor the instruction after an OUT or an MMIO store (where KVM leaves RIP). Each
// accessing instruction carries a label; the expected RIP is the label's address as GNU nm reads it
// from the built ELF (in real mode, plus CS.base 0xF0000 of the reset-vector segment, README's
// "CPU modes" table), never kvm-guest's own output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runJson } from '../helpers/cli';
import { forEachAccelerator } from '../helpers/accelerators';
import { buildElf, lineOf, nmValue, Session, tempGuests } from '../promises/helpers';

interface Expect {
  space: 'port' | 'mmio';
  address: number;
  write: boolean;
  label: string;
}

const LONG = [
  '.code64', '.section .start, "ax"', '.globl _start', '_start:',
  '    nop', '    nop',
  // All in one straight-line block: the software CPU's hook sees RIP = _start for each of them.
  'in_imm:   inb     $0x70, %al', '    nop',
  'out_imm:  outb    %al, $0x71', '    nop',
  '    movl    $0xd0000000, %ebx', '    nop',
  'mmio_ld:  movl    (%rbx), %eax', '    nop',
  'mmio_st:  movl    %eax, 4(%rbx)', '    nop',
  // Prefixes that change the access (REX.W: 8 bytes; 0x66: 2 bytes) after bytes that could pass for prefixes.
  '    movq    $0x48, %rcx',
  'mmio_stq: movq    %rax, 8(%rbx)',
  '    movb    $0x66, %cl',
  'mmio_stw: movw    %ax, 16(%rbx)',
  '    movw    $0x72, %dx',
  // Two OUTs to one port in a row: the first is the first access.
  'out_dx:   outb    %al, (%dx)', '    outb    %al, (%dx)',
  'in_dx:    inb     (%dx), %al',
  '    leaq    0x20(%rbx), %rdi',
  'mmio_stos: stosl',
  '    jmp     1f', '    nop',
  // A second block: the search starts at the new block.
  '1:', '    nop',
  'out_second: outw  %ax, $0x73',
  '    hlt', '',
].join('\n');

const LONG_EXPECT: Expect[] = [
  { space: 'port', address: 0x70, write: false, label: 'in_imm' },
  { space: 'port', address: 0x71, write: true, label: 'out_imm' },
  { space: 'mmio', address: 0xd0000000, write: false, label: 'mmio_ld' },
  { space: 'mmio', address: 0xd0000004, write: true, label: 'mmio_st' },
  { space: 'mmio', address: 0xd0000008, write: true, label: 'mmio_stq' },
  { space: 'mmio', address: 0xd0000010, write: true, label: 'mmio_stw' },
  { space: 'port', address: 0x72, write: true, label: 'out_dx' },
  { space: 'port', address: 0x72, write: false, label: 'in_dx' },
  { space: 'mmio', address: 0xd0000020, write: true, label: 'mmio_stos' },
  { space: 'port', address: 0x73, write: true, label: 'out_second' },
];

// Real mode at the reset vector: CS = F000 (base 0xF0000), so the linear RIP is not the offset.
const REAL = [
  '.code16', 'start:', '    nop',
  'r_out:  outb    %al, $0x71', '    nop',
  '    movw    $0x72, %dx',
  'r_in:   inb     (%dx), %al', '    nop',
  'r_outw: outw    %ax, (%dx)',
  '    hlt',
  '. = 0xfff0', '    ljmp    $0xf000, $start', '',
].join('\n');

const REAL_EXPECT: Expect[] = [
  { space: 'port', address: 0x71, write: true, label: 'r_out' },
  { space: 'port', address: 0x72, write: false, label: 'r_in' },
  { space: 'port', address: 0x72, write: true, label: 'r_outw' },
];

const hex = (n: number): string => `0x${n.toString(16)}`;

forEachAccelerator('unmapped accesses name the accessing instruction', function (accel) {
  this.timeout(120000);
  let dir: string | undefined;
  before(function () {
    dir = tempGuests('unmapped-rip', { 'long.S': LONG, 'real.S': REAL });
  });
  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function check(src: string, expect: Expect[], csBase: number, mode?: string): void {
    const elf = buildElf(src, mode);
    const { status, json } = runJson([src, '--accel', accel, ...(mode ? ['--mode', mode] : [])]);
    assert.equal(status, 0, json.message);
    assert.equal(json.accelerator, accel);
    // The software CPU (Unicorn) splits an 8-byte MMIO store into two 4-byte ones: the second half is
    // a separate unmapped address, made by the same instruction.
    const split = new Set(accel === 'tcg' && expect === LONG_EXPECT ? [`mmio 0xd000000c write at ${hex(csBase + nmValue(elf, 'mmio_stq'))}`] : []);
    const got = json.unmapped.map((u) => `${u.space} ${u.address} ${u.write ? 'write' : 'read'} at ${u.rip}`).filter((g) => !split.has(g));
    const want = expect.map((e) => `${e.space} ${hex(e.address)} ${e.write ? 'write' : 'read'} at ${hex(csBase + nmValue(elf, e.label))} (${e.label})`);
    assert.deepEqual(got, want.map((w) => w.replace(/ \(\w+\)$/, '')), `expected:\n  ${want.join('\n  ')}`);
  }

  it('long mode: IN/OUT (immediate and DX), MMIO loads and stores (REX.W, 0x66, STOS), in one block and after a jump', function () {
    check(path.join(dir!, 'long.S'), LONG_EXPECT, 0);
  });

  it('real mode at F000:FFF0: the RIP is CS.base + IP of the IN/OUT', function () {
    check(path.join(dir!, 'real.S'), REAL_EXPECT, 0xf0000, 'real');
  });

  it('the debug adapter names the same instruction while single-stepping over the OUT', async function () {
    const src = path.join(dir!, 'long.S');
    const elf = buildElf(src);
    const s = await new Session(accel).start();
    try {
      const line = lineOf(src, /^out_imm:/);
      await s.launch({ program: src }, { [src]: [line] });
      await s.stopped();
      // Step over the OUT, by instruction: the software CPU traces every instruction meanwhile.
      await s.step('next', 'instruction');
      // The report is an output event of its own: it may follow the stop.
      for (let i = 0; i < 100 && !s.messages.some((m) => /unmapped I\/O port write at 0x71/.test(m)); i++) await new Promise((r) => setTimeout(r, 50));
      const report = s.messages.find((m) => /unmapped I\/O port write at 0x71/.test(m));
      assert.ok(report, `no report of the OUT to 0x71 in:\n${s.messages.join('')}`);
      assert.match(report, new RegExp(`by the guest at ${hex(nmValue(elf, 'out_imm'))}:`));
      const before = s.messages.find((m) => /unmapped I\/O port read at 0x70/.test(m));
      assert.ok(before, 'the IN before the breakpoint is reported too');
      assert.match(before, new RegExp(`by the guest at ${hex(nmValue(elf, 'in_imm'))}:`));
    } finally {
      await s.end();
    }
  });
});
