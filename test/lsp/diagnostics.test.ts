// Diagnostics: the real assembler on unsaved text (mapped back through line markers, also into
// included files), debounced and cancelled by newer edits; our own instant checks; a missing
// assembler.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-types';
import { LspClient, ROOT, uriOf } from './lsp-client';
import { writeSample } from './fixtures';

const show = (d: Diagnostic[]): string => d.map((x) => `${x.range.start.line}:${x.range.start.character}-${x.range.end.character} [${x.source}/${x.code ?? ''}] ${String(x.message)}`).join('\n');
const brief = (d: Diagnostic[]): Array<[number, number, number, string | number | undefined]> =>
  d.map((x) => [x.range.start.line, x.range.start.character, x.range.end.character, x.code]);

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-diag-'));
}

describe('language server: diagnostics', function () {
  this.timeout(60000);
  const dirs: string[] = [];
  const clients: LspClient[] = [];
  const start = async (root: string, initializationOptions?: unknown): Promise<LspClient> => {
    const c = await LspClient.start({ root, initializationOptions });
    clients.push(c);
    return c;
  };
  after(async () => {
    for (const c of clients) await c.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('runs the assembler on the unsaved text and reports at the edited line', async () => {
    const dir = tempDir();
    dirs.push(dir);
    for (const f of ['kernel2.S', 'runtime.h']) fs.copyFileSync(path.join(ROOT, 'guests', 'linux-journal', f), path.join(dir, f));
    const file = path.join(dir, 'kernel2.S');
    const c = await start(dir);
    const uri = await c.open(file);
    await c.assembled(file);
    assert.deepEqual(await c.diagnosticsFor(uri), []);
    await c.edit(uri, 21, 0, 21, 0, '    frobnicate %eax\n');
    await c.assembled(file);
    const d = await c.diagnosticsFor(uri, (x) => x.length > 0);
    assert.equal(d.length, 1, show(d));
    assert.deepEqual(d[0].range, { start: { line: 21, character: 4 }, end: { line: 21, character: 19 } });
    assert.equal(d[0].source, 'as');
    assert.equal(d[0].message, "no such instruction: 'frobnicate %eax'");
    assert.ok(!fs.readFileSync(file, 'utf8').includes('frobnicate'), 'the file on disk is untouched');
  });

  it('maps messages into an unsaved included header, and shows a preprocessor error at the #include line too', async () => {
    const s = writeSample();
    dirs.push(s.dir);
    const c = await start(s.dir);
    const main = await c.open(s.main);
    const defs = await c.open(s.defs);
    await c.assembled(s.main);
    await c.edit(defs, 14, 0, 14, 0, 'bogus_in_header %eax\n#error stop here\n');
    await c.assembled(s.main);
    const dh = await c.diagnosticsFor(defs, (x) => x.some((y) => y.source !== 'kvm-guest'));
    assert.deepEqual(dh.map((x) => [x.range.start.line, x.source, String(x.message)]), [[15, 'cpp', '#error stop here']]);
    const dm = await c.diagnosticsFor(main, (x) => x.some((y) => /defs\.h/.test(String(y.message))));
    const atInclude = dm.filter((x) => x.range.start.line === 1);
    assert.deepEqual(atInclude.map((x) => String(x.message)), ['in defs.h:16: #error stop here']);
    await c.edit(defs, 15, 0, 16, 0, '');
    await c.assembled(s.main);
    const dh2 = await c.diagnosticsFor(defs, (x) => x.some((y) => y.source === 'as'));
    assert.deepEqual(dh2.map((x) => [x.range.start.line, x.source, String(x.message)]), [[14, 'as', "no such instruction: 'bogus_in_header %eax'"]]);
  });

  it('our own checks: undefined and duplicate labels, numeric labels, mode errors; nothing false for #if branches, macros, linker symbols', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const text = [
      '        .code16', //                       0
      'start:', //                                1
      '        movw    $1, %ax', //               2
      '        movw    nowhere, %ax', //          3
      '        jmp     1f', //                    4
      'start:  nop', //                           5
      '        movq    %rax, %rbx', //            6
      '        .code32', //                       7
      '        iretq', //                         8
      '        pushq   $1', //                    9
      '#ifdef FOO', //                           10
      'twice:  nop', //                          11
      '#else', //                                12
      'twice:  nop', //                          13
      '#endif', //                               14
      '        .macro  mk name', //              15
      '\\name:  nop', //                         16
      '        .endm', //                        17
      '        mk      made_by_macro', //        18
      '        jmp     made_by_macro', //        19
      '        call    _end', //                 20
      '        .code64', //                      21
      '        movq    %rax, %r8', //            22
      '        pushl   %eax', //                 23
      '        pusha', //                        24
      '',
    ].join('\n');
    const file = path.join(dir, 'checks.S');
    fs.writeFileSync(file, text);
    const c = await start(dir, { assemblerDiagnostics: false });
    const uri = await c.open(file);
    const d = await c.diagnosticsFor(uri, (x) => x.length > 0);
    assert.deepEqual(brief(d), [
      [3, 16, 23, 'undefined-symbol'],
      [4, 16, 18, 'undefined-label'],
      [6, 16, 20, 'mode'],
      [6, 22, 26, 'mode'],
      [8, 8, 13, 'mode'],
      [9, 8, 13, 'mode'],
      [23, 8, 13, 'mode'],
      [24, 8, 13, 'mode'],
      [5, 0, 5, 'duplicate-label'],
    ], show(d));
    const msg = (line: number, start: number): string => String(d.find((x) => x.range.start.line === line && x.range.start.character === start)?.message);
    assert.match(msg(3, 16), /^'nowhere' is not defined in the files of this build: resolved at link time\?/);
    assert.equal(d.find((x) => x.code === 'undefined-symbol')?.severity, 3, 'an Information hint, not an Error');
    assert.equal(msg(4, 16), "no '1:' label after this use of 1f");
    assert.equal(msg(6, 16), 'register %rax only exists in 64-bit code (.code64); this is 16-bit code (.code16)');
    assert.equal(msg(8, 8), "'iretq' is not valid in 32-bit code (.code32); it exists in 64-bit mode");
    assert.equal(msg(9, 8), "'pushq': push has no 64-bit operand form in 32-bit code (.code32)");
    assert.equal(msg(23, 8), "'pushl': push has no 32-bit operand form in 64-bit code (.code64)");
    assert.equal(msg(24, 8), "'pusha' is not valid in 64-bit code (.code64); it exists in 16-bit and 32-bit mode");
    const dup = d.find((x) => x.code === 'duplicate-label') as Diagnostic;
    assert.equal(dup.message, "'start' is already defined on line 2");
    assert.deepEqual(dup.relatedInformation?.[0].location, { uri, range: { start: { line: 1, character: 0 }, end: { line: 1, character: 5 } } });
    // Fixing the text clears them at once (no assembler involved).
    await c.change(uri, '        .code64\nstart:  movq %rax, %r8\n        jmp start\n');
    assert.deepEqual(await c.diagnosticsFor(uri, (x) => x.length === 0), []);
  });

  it('no false undefined symbols: labels made by #define macros (ENTRY(x)), .weak names, relocation suffixes, .equ after use', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'idioms.S');
    fs.writeFileSync(file, [
      '#define ENTRY(name) .globl name; name:',
      '        .code32',
      '        call    later_fn',
      '        .weak   maybe_there',
      '        call    maybe_there',
      '        movl    $LIMIT, %ecx',
      '        leal    table@GOTOFF(%ebx), %esi',
      'ENTRY(later_fn)',
      '        ret',
      'table:  .long   0',
      '        .equ    LIMIT, 10',
      '',
    ].join('\n'));
    const c = await start(dir, { assemblerDiagnostics: false });
    const uri = await c.open(file);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await c.diagnosticsFor(uri), []);
  });

  it('names the build defines (KVM_GUEST_BITS, settings `defines`) are not undefined, in .s and .S files', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const s = path.join(dir, 'defsym.s');
    fs.writeFileSync(s, '        .code32\n        movl    $KVM_GUEST_BITS, %eax\n        movl    $FOO, %ebx\n');
    const S = path.join(dir, 'cpp.S');
    fs.writeFileSync(S, '#ifdef FOO\n        movl    $FOO + KVM_GUEST_MODE_PROTECTED, %eax\n#else\n        jmp     nowhere\n#endif\n');
    const c = await start(dir, { defines: { FOO: '3' }, defaultMode: 'protected' });
    for (const file of [s, S]) {
      const uri = await c.open(file);
      await c.assembled(file);
      assert.deepEqual(await c.diagnosticsFor(uri), [], file);
    }
  });

  it('debounces edits and cancels an assembler run when a newer edit arrives', async () => {
    const dir = tempDir();
    dirs.push(dir);
    // A slow `as`: gives the test time to edit while it runs.
    const slow = path.join(dir, 'slow-as');
    fs.writeFileSync(slow, '#!/bin/sh\nsleep 1.5\nexec as "$@"\n', { mode: 0o755 });
    const file = path.join(dir, 'slow.s');
    fs.writeFileSync(file, '        .code32\nstart:  nop\n');
    const c = await start(dir, { tools: { as: slow }, diagnosticsDelayMs: 200 });
    const uri = await c.open(file);
    await c.waitFor('the first run to start', () => (c.logs.includes(`assembler: ${file} v1 started`) ? true : undefined));
    for (let i = 0; i < 5; i++) {
      await c.edit(uri, 1, 11, 1, 11, ' ');
      await new Promise((r) => setTimeout(r, 30));
    }
    await c.assembled(file, 20000);
    const runs = c.logs.filter((l) => l.startsWith(`assembler: ${file} `) && !l.endsWith(' started'));
    assert.deepEqual(runs.map((l) => l.replace(/ \(protected\).*| cancelled.*/, (m) => (m.includes('cancelled') ? ' cancelled' : ''))), [
      `assembler: ${file} v1 cancelled`,
      `assembler: ${file} v6`,
    ]);
  });

  it('an assembler that is not installed: one warning saying what to install, our own checks still run', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'x.S');
    fs.writeFileSync(file, '        .code16\n        movw nowhere, %ax\n');
    const c = await start(dir, { tools: { gcc: path.join(dir, 'no-such-gcc') } });
    const uri = await c.open(file);
    await c.assembled(file);
    const d = await c.diagnosticsFor(uri, (x) => x.some((y) => y.code === 'toolchain'));
    assert.deepEqual(d.map((x) => x.code).sort(), ['toolchain', 'undefined-symbol']);
    const tool = d.find((x) => x.code === 'toolchain') as Diagnostic;
    assert.equal(tool.severity, 2);
    assert.match(String(tool.message), /^Assembler diagnostics are off: gcc \(the GNU C compiler\) was not found at .*no-such-gcc .*install the Debian package "gcc"/);
  });

  it('the extension\'s options: `runAssembler: false` (Restricted Mode) runs nothing; empty `toolchain` paths mean PATH', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'r.S');
    fs.writeFileSync(file, '        .code16\n        movw nowhere, %ax\n');
    const off = await start(dir, { runAssembler: false, includePaths: [], toolchain: { as: '', ld: '', gcc: '', objcopy: '' } });
    const uri = await off.open(file);
    const d = await off.diagnosticsFor(uri, (x) => x.length > 0);
    assert.deepEqual(d.map((x) => x.code), ['undefined-symbol']);
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(!off.logs.some((l) => l.startsWith('assembler:')), off.logs.join('\n'));
    const on = await start(dir, { runAssembler: true, toolchain: { as: '', ld: '', gcc: '', objcopy: '' } });
    const uri2 = await on.open(file);
    await on.assembled(file);
    assert.deepEqual((await on.diagnosticsFor(uri2)).map((x) => x.code), ['undefined-symbol']);
  });

  it('.s files: line markers keep the lines right; a `kvm-guest: mode=long` marker picks 64-bit code', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const s = path.join(dir, 'plain.s');
    fs.writeFileSync(s, '# a comment\n        .code32\n        nop\n        bogus %eax   # here\n');
    const m = path.join(dir, 'marked.S');
    fs.writeFileSync(m, '// kvm-guest: mode=long\n        movq %rax, %rbx\n        iretq\n');
    const c = await start(dir);
    const su = await c.open(s);
    await c.assembled(s);
    const ds = await c.diagnosticsFor(su, (x) => x.length > 0);
    assert.deepEqual(ds.map((x) => [x.range.start.line, x.range.start.character, x.range.end.character, String(x.message)]), [[3, 8, 18, "no such instruction: 'bogus %eax'"]]);
    const mu = await c.open(m);
    await c.assembled(m);
    assert.deepEqual(await c.diagnosticsFor(mu), []);
    assert.ok(c.logs.some((l) => l.startsWith(`assembler: ${m} v1 (long)`)), c.logs.join('\n'));
    void uriOf;
  });
});
