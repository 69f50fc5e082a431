// README, "Debug it" → State and Debug Console: the Segments (decoded attributes), System
// (CR0/CR3/CR4/EFER decoded, GDTR, IDTR) and Symbols (data labels and values) scopes, `phys:0x…`
// memory references, and the `.idt` and `.machine` commands. A long-mode guest written here loads
// its own IDT with one gate and raises it; expected values come from its source, from nm, from the
// README's memory map (GDT at 0x90000, long-mode page tables at 0x91000–0x96FFF) and from the x86
// architecture. The real adapter process, on the software CPU.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tcgOnly } from '../helpers/accelerators';
import { buildElf, lineOf, nmValue, Session, sessions, tempGuests } from './helpers';

const STATE_S = `/* Long mode: loads its own IDT with one 64-bit interrupt gate (vector 0x30), raises it, and
   keeps results in data labels. */
.code64
.section .start, "ax"
.globl _start
_start:
    leaq    handler(%rip), %rax
    leaq    idt + 0x30 * 16(%rip), %rdi
    movw    %ax, (%rdi)               /* offset 15:0 */
    movw    $0x18, 2(%rdi)            /* the monitor's 64-bit code selector */
    movw    $0x8e00, 4(%rdi)          /* present, DPL0, 64-bit interrupt gate */
    shrq    $16, %rax
    movw    %ax, 6(%rdi)              /* offset 31:16 */
    shrq    $16, %rax
    movl    %eax, 8(%rdi)             /* offset 63:32 */
    lidt    idtr(%rip)
    movl    $0x2a, counter(%rip)
    int     $0x30
    movw    $0xbeef, marker(%rip)
    hlt

handler:
    movl    $1, hit(%rip)
    iretq

.data
.align 16
idt:
    .fill   0x31 * 16, 1, 0
idtr:
    .word   0x31 * 16 - 1
    .quad   idt
    .type   counter, @object
    .size   counter, 4
counter:
    .long   0
    .type   hit, @object
    .size   hit, 4
hit:
    .long   0
    .type   marker, @object
    .size   marker, 2
marker:
    .word   0
`;

const hex = (n: number | bigint): string => '0x' + n.toString(16);

tcgOnly('README: machine state in a debug session (DAP)', function () {
  this.timeout(60000);
  const s = sessions('tcg');
  let dir: string;
  let src: string;
  let elf: string;
  before(function () {
    dir = tempGuests('state', { 'state.S': STATE_S });
    src = path.join(dir, 'state.S');
    elf = buildElf(src);
  });
  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A session stopped at the guest's hlt, after the interrupt handler ran. */
  async function atHlt(): Promise<Session> {
    const x = await s();
    await x.launch({ program: src }, { [src]: [lineOf(src, /^\s+hlt/)] });
    const ev = await x.stopped();
    assert.equal(ev.body.reason, 'breakpoint');
    return x;
  }

  it('Segments: CS is the monitor\'s 64-bit code segment 0x18 with its attributes decoded', async function () {
    const x = await atHlt();
    const segs = await x.scope('Segments');
    for (const name of ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt']) assert.ok(name in segs, `${name} in Segments`);
    assert.match(segs.cs.value, /^0x0018\s+base=0x0\b/);
    assert.match(segs.cs.value, /code 64-bit DPL0 present/);
    const cs = await x.children(segs.cs);
    assert.equal(Number(cs.selector), 0x18);
    assert.equal(cs.L, '1', 'L: a 64-bit code segment');
    assert.equal(cs.P, '1');
    assert.equal(cs.DPL, '0');
    assert.equal(cs.S, '1', 'a code/data segment, not a system one');
    assert.equal(parseInt(cs.type, 16) & 8, 8, 'type: code');
  });

  it('System: CR0/CR3/CR4/EFER decoded for long mode, GDTR at the monitor\'s 0x90000, IDTR as the guest loaded it', async function () {
    const x = await atHlt();
    const sys = await x.scope('System');
    const cr0 = await x.children(sys.cr0);
    assert.equal(cr0.PE, '1');
    assert.equal(cr0.PG, '1');
    const cr3 = Number(sys.cr3.value);
    assert.ok(cr3 >= 0x91000 && cr3 <= 0x96fff, `CR3 ${sys.cr3.value} inside the long-mode tables 0x91000–0x96FFF`);
    assert.equal((await x.children(sys.cr4)).PAE, '1');
    const efer = await x.children(sys.efer);
    assert.equal(efer.LME, '1');
    assert.equal(efer.LMA, '1');
    assert.match(sys.gdtr.value, /^base=0x90000 limit=0x[0-9a-f]+$/);
    assert.equal(sys.idtr.value, `base=${hex(nmValue(elf, 'idt'))} limit=${hex(0x31 * 16 - 1)}`);
  });

  it('Symbols: the guest\'s data labels with the values it stored', async function () {
    const x = await atHlt();
    const syms = await x.scope('Symbols');
    assert.equal(syms.counter?.value, '0x0000002a');
    assert.equal(syms.hit?.value, '0x00000001', 'the interrupt handler ran');
    assert.equal(syms.marker?.value, '0xbeef');
    assert.equal(syms.counter.memoryReference, hex(nmValue(elf, 'counter')));
    assert.ok(!('_start' in syms) && !('handler' in syms), 'code labels are not data');
  });

  it('phys: references read and write guest-physical memory; CR3\'s reference opens the PML4', async function () {
    const x = await atHlt();
    const counter = nmValue(elf, 'counter');
    const read = async (ref: string, count: number): Promise<Buffer> =>
      Buffer.from((await x.dc.customRequest('readMemory', { memoryReference: ref, count })).body.data, 'base64');
    assert.equal((await read(`phys:${hex(counter)}`, 4)).readUInt32LE(0), 0x2a);
    const w = await x.dc.customRequest('writeMemory', { memoryReference: `phys:${hex(counter)}`, data: Buffer.from([0x78, 0x56, 0x34, 0x12]).toString('base64') });
    assert.equal(w.body.bytesWritten, 4);
    // Identity-mapped: the linear address sees the physical write.
    assert.equal((await read(hex(counter), 4)).readUInt32LE(0), 0x12345678);
    assert.match(await x.repl('*(u32*)counter'), /^0x0*12345678\b/);
    const sys = await x.scope('System');
    assert.match(sys.cr3.memoryReference ?? '', /^phys:0x9[1-6][0-9a-f]{3}$/);
    const pml4e = (await read(sys.cr3.memoryReference!, 8)).readBigUInt64LE(0);
    assert.equal(pml4e & 1n, 1n, 'PML4[0] present (the identity map covers address 0)');
    const next = Number(pml4e & 0x000ffffffffff000n);
    assert.ok(next >= 0x91000 && next <= 0x96fff, `PML4[0] → ${hex(next)} inside 0x91000–0x96FFF`);
    // Beyond the 2 MiB of RAM there is nothing to read.
    await assert.rejects(x.dc.customRequest('readMemory', { memoryReference: 'phys:0x200000', count: 4 }), /guest-physical address 0x200000 is not mapped/);
  });

  it('.idt decodes the guest\'s gate (vector 0x30 → 0x18:handler) and shows the zeroed vectors as not present', async function () {
    const x = await atHlt();
    const idt = await x.repl('.idt');
    const lines = idt.split('\n');
    assert.equal(lines[0], `IDT at ${hex(nmValue(elf, 'idt'))}, limit ${hex(0x31 * 16 - 1)}`);
    const gate = lines.find((l) => /^\s+48\s/.test(l));
    assert.ok(gate, `vector 48 listed:\n${idt}`);
    assert.match(gate, new RegExp(`64-bit interrupt gate → 0x18:${hex(nmValue(elf, 'handler'))} DPL0 present$`));
    // Vectors 0–47 are all-zero: not present (shown one by one or folded as empty).
    for (let v = 0; v < 48; v++) {
      const line = lines.find((l) => new RegExp(`^\\s+${v}\\s`).test(l));
      if (line) assert.match(line, /not present|empty/, `vector ${v}`);
      else assert.match(idt, /… \d+ empty entr/, `vector ${v} folded into an empty run`);
    }
  });

  it('.machine: memory, accelerator, the RAM region, the vCPU mode and its control registers', async function () {
    const x = await atHlt();
    const m = await x.repl('.machine');
    assert.match(m, /^memory: 2048 KiB, long mode, entry 0x100000$/m, 'default 2M; the ELF entry _start');
    assert.match(m, /^accelerator: software CPU \(Unicorn \d+\.\d+\.\d+\)/m);
    assert.match(m, /guest-physical 0x0 \(\+2097152 bytes\) ↔ host-virtual 0x[0-9a-f]+/);
    assert.match(m, /^vCPU: 64-bit long mode$/m);
    const cr0 = /^ {2}cr0 (0x[0-9a-f]+)/m.exec(m);
    assert.ok(cr0 && (BigInt(cr0[1]) & 0x80000001n) === 0x80000001n, 'CR0.PG|PE');
    assert.match(m, /^ {2}cr3 0x9[1-6][0-9a-f]{3}$/m);
    const efer = /^ {2}efer (0x[0-9a-f]+)/m.exec(m);
    assert.ok(efer && (BigInt(efer[1]) & 0x500n) === 0x500n, 'EFER.LME|LMA');
    assert.match(m, new RegExp(`gdtr 0x90000/0x[0-9a-f]+ {2}idtr ${hex(nmValue(elf, 'idt'))}/${hex(0x31 * 16 - 1)}$`, 'm'));
  });
});
