// README, "Debug it": instruction breakpoints, function breakpoints on symbols, and "real mode, mode switches and segment bases are followed natively: the
// PC is CS.base + IP". The real adapter process driven by DebugClient, on the software CPU; expected
// addresses from the real toolchain (objdump, nm) and the x86 architecture.
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import fs from 'node:fs';
import path from 'node:path';
import { guest } from '../helpers/cli';
import { tcgOnly } from '../helpers/accelerators';
import { buildElf, lineOf, nmValue, objdump, sessions, tempGuests } from './helpers';

const KERNEL2 = guest('linux-journal', 'kernel2.S');
const PLAYGROUND = guest('long-mode-playground', 'playground.S');
/** Real-mode images sit at 0xF0000 (the reset-vector segment F000): linear = 0xF0000 + offset. */
const RESET_BASE = 0xf0000;
const hex = (n: number): string => '0x' + n.toString(16);

/** A guest that starts at the reset vector in real mode and enters 32-bit protected mode through its own GDT. */
const SWITCH_S = `/* real mode at the reset vector, then 32-bit protected mode through its own GDT */
.code16
start:
    cli
    mov     $0x52, %al              /* 'R', from real mode */
    outb    %al, $0xf1
    lgdtl   %cs:gdtr
    mov     %cr0, %eax
    or      $1, %eax
    mov     %eax, %cr0
    ljmpl   $0x08, $(0xf0000 + pm32)
.code32
pm32:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %ss
    mov     $0x50, %al              /* 'P', from protected mode */
    outb    %al, $0xf1
    hlt

.align 8
gdt:
    .quad   0
    .quad   0x00cf9a000000ffff      /* 0x08: flat 32-bit code, base 0 */
    .quad   0x00cf92000000ffff      /* 0x10: flat data, base 0 */
gdtr:
    .word   gdtr - gdt - 1
    .long   0xf0000 + gdt

.code16
. = 0xfff0
    ljmp    $0xf000, $start
`;

tcgOnly('README: breakpoints and stepping (DAP)', function () {
  this.timeout(60000);
  const s = sessions('tcg');

  it('instruction breakpoints (linear address, and reference + byte offset) stop exactly there; removing them lets the guest finish', async function () {
    const code = objdump(buildElf(KERNEL2));
    const outs = code.filter((i) => /^out\s+%al,\$0xf1$/.test(i.text)).map((i) => i.address);
    assert.equal(outs.length, 6, 'six outb in kernel2');
    const x = await s();
    await x.dc.launchRequest(x.args({ program: KERNEL2 }));
    const third = RESET_BASE + outs[2];
    const fifth = RESET_BASE + outs[4];
    const set = await x.dc.customRequest('setInstructionBreakpoints', {
      breakpoints: [{ instructionReference: hex(third) }, { instructionReference: hex(fifth - 2), offset: 2 }],
    });
    assert.deepEqual(set.body.breakpoints.map((b: { verified: boolean }) => b.verified), [true, true]);
    await x.dc.configurationDoneRequest();
    await x.stopped();
    assert.equal((await x.top()).instructionPointerReference, hex(third));
    assert.equal(x.stdout, 'He', 'stopped before the third outb ran');
    await x.continueTo();
    assert.equal((await x.top()).instructionPointerReference, hex(fifth));
    assert.equal(x.stdout, 'Hell');
    await x.dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
    const terminated = x.dc.waitForEvent('terminated', 20000);
    await x.dc.continueRequest({ threadId: 1 });
    await terminated;
    assert.equal(x.stdout, 'Hello\n');
    assert.equal(x.exitCode, 0);
  });

  it('function breakpoints stop at the symbol\'s address with the caller\'s output so far; an unknown name is unverified', async function () {
    const elf = buildElf(PLAYGROUND);
    const x = await s();
    await x.dc.launchRequest(x.args({ program: PLAYGROUND }));
    const set = await x.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'serial_put_hex32' }, { name: 'no_such_function' }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    assert.equal(set.body.breakpoints[1].verified, false);
    assert.match(set.body.breakpoints[1].message ?? '', /no_such_function/);
    await x.dc.configurationDoneRequest();
    await x.stopped();
    const top = await x.top();
    assert.equal(top.instructionPointerReference, hex(nmValue(elf, 'serial_put_hex32')));
    assert.equal(top.name, 'serial_put_hex32');
    assert.equal(top.line, lineOf(PLAYGROUND, /^serial_put_hex32:/) + 1, 'its first instruction\'s line');
    // _start printed the banner and the probe message, not yet the value.
    assert.match(x.stdout, /hello from 64-bit mode on the 16550 UART\nmmio read32 \[0xd0000000\] = 0x$/);
    const frames = (await x.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.equal(frames[1]?.name.split('+')[0], '_start');
    assert.equal(frames[1]?.line, lineOf(PLAYGROUND, /call\s+serial_put_hex32/));
  });

  it('function breakpoints set before the launch (as VS Code sends them) bind once the program is built, and hit', async function () {
    const elf = buildElf(PLAYGROUND);
    const x = await s();
    const changed: DebugProtocol.BreakpointEvent[] = [];
    x.dc.on('breakpoint', (e: DebugProtocol.BreakpointEvent) => changed.push(e));
    const set = await x.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'serial_put_hex32' }] });
    assert.equal(set.body.breakpoints[0].verified, false, 'nothing is built yet');
    await x.dc.launchRequest(x.args({ program: PLAYGROUND }));
    assert.ok(changed.some((e) => e.body.breakpoint.id === set.body.breakpoints[0].id && e.body.breakpoint.verified), 'a changed event verifies it');
    await x.dc.configurationDoneRequest();
    await x.stopped();
    assert.equal((await x.top()).instructionPointerReference, hex(nmValue(elf, 'serial_put_hex32')));
  });

  it('step over a rep string line with a breakpoint on it runs the whole rep (README: "over runs … rep instructions")', async function () {
    const kernel3 = guest('linux-journal', 'kernel3.S');
    const repLine = lineOf(kernel3, /rep\/outsb/);
    const x = await s();
    await x.dc.setBreakpointsRequest({ source: { path: kernel3 }, breakpoints: [{ line: repLine }] });
    await x.dc.launchRequest(x.args({ program: kernel3 }));
    await x.dc.configurationDoneRequest();
    await x.stopped();
    assert.equal((await x.top()).line, repLine);
    const top = await x.step('next');
    assert.equal(top.line, repLine + 1, 'on the hlt after the rep');
    assert.equal(x.stdout, 'Hello, World!\n', 'every byte was written by the one step over');
  });

  it('a mode switch is followed natively: real-mode lines at CS.base + IP, then 32-bit lines after the far jump', async function () {
    const dir = tempGuests('switch', { 'switch.S': SWITCH_S });
    try {
      const src = path.join(dir, 'switch.S');
      const elf = buildElf(src);
      const pm32 = RESET_BASE + nmValue(elf, 'pm32');
      const gdt = RESET_BASE + nmValue(elf, 'gdt');
      const realLine = lineOf(src, /mov\s+\$0x52/);
      const jumpLine = lineOf(src, /ljmpl/);
      const protLine = lineOf(src, /mov\s+\$0x50/);
      const x = await s();
      await x.launch({ program: src }, { [src]: [realLine, jumpLine, protLine] });

      // Real mode: CS = F000, base 0xF0000; cli is one byte, so mov $0x52 is at offset 1.
      await x.stopped();
      let top = await x.top();
      assert.equal(top.line, realLine);
      assert.equal(top.instructionPointerReference, hex(RESET_BASE + 1));
      let regs = await x.scope('Registers');
      assert.ok('ax' in regs && 'ip' in regs && !('eax' in regs), `16-bit names: ${Object.keys(regs).join(' ')}`);
      assert.equal(regs.ip.value, '0x0001');
      let segs = await x.scope('Segments');
      assert.match(segs.cs.value, /^0xf000\s+base=0xf0000\b/);

      // The far jump: one instruction step lands on pm32 in 32-bit code (CS = 0x08, base 0).
      await x.continueTo();
      assert.equal((await x.top()).line, jumpLine);
      assert.equal(x.stdout, 'R');
      top = await x.step('stepIn', 'instruction');
      assert.equal(top.instructionPointerReference, hex(pm32));
      assert.equal(top.line, lineOf(src, /mov\s+\$0x10, %ax/));
      regs = await x.scope('Registers');
      assert.ok('eax' in regs && 'eip' in regs && !('rax' in regs), `32-bit names: ${Object.keys(regs).join(' ')}`);
      assert.equal(regs.eip.value, '0x' + pm32.toString(16).padStart(8, '0'));
      segs = await x.scope('Segments');
      assert.match(segs.cs.value, /^0x0008\s+base=0x0\b/);
      assert.match(segs.cs.value, /code 32-bit/);
      const system = await x.scope('System');
      assert.match(system.gdtr.value, new RegExp(`^base=${hex(gdt)} limit=0x17$`), 'the guest\'s own GDT: 3 descriptors');
      assert.equal((await x.children(system.cr0)).PE, '1');

      // A source breakpoint in the 32-bit code binds and hits at its linear address.
      await x.continueTo();
      top = await x.top();
      assert.equal(top.line, protLine);
      const movP = objdump(elf).find((i) => /^mov\s+\$0x50,%al$/.test(i.text));
      assert.ok(movP, 'objdump decodes the 32-bit part');
      assert.equal(top.instructionPointerReference, hex(RESET_BASE + movP.address));
      assert.match(await x.repl('.regs'), /protected mode/);
      const terminated = x.dc.waitForEvent('terminated', 20000);
      await x.dc.continueRequest({ threadId: 1 });
      await terminated;
      assert.equal(x.stdout, 'RP');
      assert.equal(x.exitCode, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
