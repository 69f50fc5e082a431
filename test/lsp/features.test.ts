// Every request of the language server on a sample project (a .S file with a #included header,
// a .include'd macro file, numeric labels, mode switches; an Intel-syntax .s file), over stdio.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  CompletionItem, CompletionList, DocumentSymbol, FoldingRange, Hover, Location, SemanticTokens, SignatureHelp,
  SymbolInformation, WorkspaceEdit,
} from 'vscode-languageserver-types';
import { LspClient, uriOf } from './lsp-client';
import { INTEL_S, MAIN_S, Sample, writeSample } from './fixtures';

const md = (h: Hover | null): string => (h && typeof h.contents === 'object' && 'value' in h.contents ? String(h.contents.value) : '');
const labels = (l: CompletionList): string[] => l.items.map((i) => i.label);

describe('language server: features on a sample project', function () {
  this.timeout(60000);
  let client: LspClient;
  let s: Sample;
  let main: string;
  let intel: string;
  let defsUri: string;
  let macrosUri: string;

  before(async () => {
    s = writeSample();
    client = await LspClient.start({ root: s.dir });
    await client.waitIndexed();
    main = await client.open(s.main);
    intel = await client.open(s.intel);
    defsUri = uriOf(s.defs);
    macrosUri = uriOf(s.macros);
  });
  after(async () => {
    await client?.stop();
    fs.rmSync(s.dir, { recursive: true, force: true });
  });

  const hover = async (uri: string, line: number, character: number): Promise<string> =>
    md(await client.request<Hover>('textDocument/hover', client.pos(uri, line, character)));
  const definition = (uri: string, line: number, character: number): Promise<Location[] | null> =>
    client.request<Location[] | null>('textDocument/definition', client.pos(uri, line, character));
  const range = (l1: number, c1: number, l2: number, c2: number): Location['range'] => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });

  describe('hover', () => {
    it('a macro from the .include\'d file shows its definition and body', async () => {
      const h = await hover(main, 9, 10);
      assert.equal(h, [
        '**SETUP_STACK** — macro, macros.inc:2', '', '```gas', '.macro SETUP_STACK top', '        movw    $\\top, %sp',
        '        movw    %sp, %bp', '.endm', '```', '', 'macros.inc - included with .include',
      ].join('\n'));
    });
    it('a #define: definition and value; a function-like one: its parameters', async () => {
      assert.equal(await hover(main, 9, 22), '**STACK_TOP** — preprocessor macro, defs.h:7\n\n```c\n#define STACK_TOP 0x7c00\n```\n\nValue: 0x7c00 (31744)');
      assert.equal(await hover(main, 18, 19), '**SCALE** — preprocessor function-like macro, defs.h:8\n\n```c\n#define SCALE(x) ((x) * 4)\n```');
      assert.match(await hover(main, 10, 18), /Value: 0x64 \(100\)\n\nkeyboard controller status$/);
    });
    it('a #define chosen by #if in the header, evaluated for this file\'s mode (.code16: KVM_GUEST_BITS=16)', async () => {
      assert.equal(await hover(main, 17, 20), '**WORD_SIZE** — preprocessor macro, defs.h:13\n\n```c\n#define WORD_SIZE 4\n```\n\nValue: 4');
    });
    it('an .equ constant: the directive and its value', async () => {
      assert.equal(await hover(main, 34, 18), '**GDT_LIMIT** — constant, line 33\n\n```gas\n.equ    GDT_LIMIT, 3 * 8 - 1\n```\n\nValue: 0x17 (23)');
    });
    it('a privileged instruction: summary, forms for this mode, encoding, privilege, flags and reference link', async () => {
      const h = await hover(main, 15, 10);
      assert.match(h, /^\*\*lgdt\*\* — Loads GDTR \(limit and base\)/);
      assert.match(h, /\| AT&T form \| Encoding \| Modes \|\n\|---\|---\|---\|\n\| `lgdt m16&32` \| `o16 0F 01 \/2` \| 16, 32 \|/);
      assert.match(h, /Valid in 16-bit, 32-bit, 64-bit code\. This line is 16-bit \(`\.code16`\)\./);
      assert.match(h, /Privileged: CPL 0 only/);
      assert.match(h, /Flags: not affected\./);
      assert.match(h, /\[Full reference: LGDT on felixcloutier\.com\]\(https:\/\/www\.felixcloutier\.com\/x86\/lgdt:lidt\)/);
    });
    it('mov to CR0 links the MOV-to-control-register page and marks the CPL-0 forms; flags written by orl', async () => {
      const h = await hover(main, 26, 9);
      assert.match(h, /^\*\*movl\*\* \(MOV\)/);
      // The forms that take `%eax, %cr0` first; their flags, not those of plain moves.
      assert.match(h, /\|---\|---\|---\|---\|\n\| `mov r32, %crN` \| `0F 22 \/r` \| 16, 32 \| yes \|\n/);
      // The written form decides: MOV to CR0 is privileged (CPL 0), whatever other MOV forms are.
      assert.match(h, /This line: `mov cr, r32` \(`0F 22 \/r`\)\.\n\nPrivileged: this form runs at CPL 0 only/);
      assert.doesNotMatch(h, /Not privileged/);
      assert.match(h, /Flags: leaves OF SF ZF AF CF PF undefined\./);
      const plain = await hover(main, 17, 9);
      assert.match(plain, /\| `movl \$imm32, r32` \| `o32 B8\+rd id` \| 16, 32, 64 \| \|/);
      assert.match(plain, /Flags: not affected\./);
      assert.match(h, /felixcloutier\.com\/x86\/mov-1\)/);
      const orl = await hover(main, 25, 9);
      assert.match(orl, /Flags: writes SF ZF PF; clears OF CF; leaves AF undefined\./);
    });
    it('iretq in 32-bit code says it is not valid there', async () => {
      assert.match(await hover(main, 27, 9), /Valid in 64-bit code\. This line is 32-bit \(`\.code32`\): \*\*not valid here\*\*\./);
    });
    it('registers, directives, numeric labels, numbers, macro parameters', async () => {
      assert.match(await hover(main, 10, 24), /^\*\*%al\*\* — 8-bit general-purpose register\n\nAccumulator/);
      assert.match(await hover(main, 32, 9), /^`\.equ name, expression`\n\nGive a symbol a value/);
      assert.equal(await hover(main, 12, 16), '**1:** — numeric local label, line 11 (the nearest before this use)');
      assert.equal(await hover(main, 25, 18), '`1` = `0x1` = `0b1`');
      assert.equal(await hover(macrosUri, 2, 18), '**top** — parameter of .macro SETUP_STACK; written `\\top` in the body.');
      assert.equal(await hover(macrosUri, 8, 25), '**port** — parameter of .macro PUTC (default `0xe9`); written `\\port` in the body.');
    });
    it('Intel syntax: bare registers and Intel operand forms', async () => {
      assert.match(await hover(intel, 7, 17), /^\*\*rsi\*\* — 64-bit general-purpose register/);
      const lea = await hover(intel, 7, 9);
      assert.match(lea, /\| Intel form \| Encoding \| Modes \|/);
      assert.match(lea, /\| `lea r64, m` \| `o64 8D \/r` \| 64 \|/);
    });
  });

  describe('definition, references, rename', () => {
    it('numeric labels: 1b goes back, 1f goes forward', async () => {
      assert.deepEqual(await definition(main, 12, 16), [{ uri: main, range: range(10, 0, 10, 1) }]);
      assert.deepEqual(await definition(main, 13, 16), [{ uri: main, range: range(15, 0, 15, 1) }]);
      assert.deepEqual(await definition(intel, 10, 16), [{ uri: intel, range: range(9, 0, 9, 1) }]);
    });
    it('into the .include\'d macro file and the #include\'d header; macro parameters; the include line itself', async () => {
      assert.deepEqual(await definition(main, 9, 10), [{ uri: macrosUri, range: range(1, 7, 1, 18) }]);
      assert.deepEqual(await definition(main, 10, 18), [{ uri: defsUri, range: range(4, 8, 4, 12) }]);
      assert.deepEqual(await definition(main, 17, 20), [{ uri: defsUri, range: range(12, 8, 12, 17) }]);
      assert.deepEqual(await definition(macrosUri, 2, 18), [{ uri: macrosUri, range: range(1, 19, 1, 22) }]);
      assert.deepEqual(await definition(main, 1, 12), [{ uri: defsUri, range: range(0, 0, 0, 0) }]);
      assert.deepEqual(await definition(intel, 6, 40), [{ uri: intel, range: range(16, 0, 16, 5) }]);
    });
    it('references of a label, of a #define across files, of a numeric label', async () => {
      const refs = await client.request<Location[]>('textDocument/references', { ...client.pos(main, 29, 18), context: { includeDeclaration: true } });
      assert.deepEqual(refs, [{ uri: main, range: range(23, 0, 23, 8) }, { uri: main, range: range(29, 16, 29, 24) }]);
      const noDecl = await client.request<Location[]>('textDocument/references', { ...client.pos(main, 29, 18), context: { includeDeclaration: false } });
      assert.deepEqual(noDecl, [{ uri: main, range: range(29, 16, 29, 24) }]);
      const port = await client.request<Location[]>('textDocument/references', { ...client.pos(main, 10, 18), context: { includeDeclaration: true } });
      assert.deepEqual(port.sort((a, b) => a.uri.localeCompare(b.uri)), [{ uri: defsUri, range: range(4, 8, 4, 12) }, { uri: main, range: range(10, 17, 10, 21) }]);
      const num = await client.request<Location[]>('textDocument/references', { ...client.pos(main, 10, 0), context: { includeDeclaration: true } });
      assert.deepEqual(num, [{ uri: main, range: range(10, 0, 10, 1) }, { uri: main, range: range(12, 16, 12, 18) }]);
    });
    it('rename a #define across the header and the source; a numeric label; a macro parameter', async () => {
      assert.deepEqual(await client.request('textDocument/prepareRename', client.pos(main, 10, 18)), { range: range(10, 17, 10, 21), placeholder: 'PORT' });
      const edit = await client.request<WorkspaceEdit>('textDocument/rename', { ...client.pos(main, 10, 18), newName: 'KBD_PORT' });
      assert.deepEqual(edit.changes, {
        [defsUri]: [{ range: range(4, 8, 4, 12), newText: 'KBD_PORT' }],
        [main]: [{ range: range(10, 17, 10, 21), newText: 'KBD_PORT' }],
      });
      const num = await client.request<WorkspaceEdit>('textDocument/rename', { ...client.pos(main, 12, 16), newName: '7' });
      assert.deepEqual(num.changes, { [main]: [{ range: range(10, 0, 10, 1), newText: '7' }, { range: range(12, 16, 12, 17), newText: '7' }] });
      const prm = await client.request<WorkspaceEdit>('textDocument/rename', { ...client.pos(macrosUri, 1, 20), newName: 'where' });
      assert.deepEqual(prm.changes, { [macrosUri]: [{ range: range(1, 19, 1, 22), newText: 'where' }, { range: range(2, 18, 2, 21), newText: 'where' }] });
      await assert.rejects(client.request('textDocument/rename', { ...client.pos(main, 29, 18), newName: '9bad' }), /not a valid symbol name/);
      assert.equal(await client.request('textDocument/prepareRename', client.pos(main, 10, 9)), null); // a mnemonic
    });
    it('document highlights of a label', async () => {
      const hl = await client.request<Array<{ range: Location['range']; kind: number }>>('textDocument/documentHighlight', client.pos(main, 33, 3));
      assert.deepEqual(hl, [{ range: range(33, 0, 33, 8), kind: 3 }, { range: range(15, 16, 15, 24), kind: 2 }]);
    });
  });

  describe('completion', () => {
    it('mnemonics valid in the line\'s mode, with AT&T size suffixes and operand snippets', async () => {
      const l = await client.request<CompletionList>('textDocument/completion', client.pos(main, 19, 14)); // `rep st|osb`: after a prefix
      assert.ok(labels(l).includes('stosb') && labels(l).includes('stosl'));
      const m = await client.request<CompletionList>('textDocument/completion', client.pos(main, 8, 10)); // `cli|`
      const names = labels(m);
      assert.ok(names.includes('cli') && names.includes('cmpl') && names.includes('cmpb'));
      assert.ok(!names.includes('cdqe'), 'cdqe is 64-bit only');
      assert.deepEqual(m.itemDefaults?.editRange, range(8, 8, 8, 10));
      const cmpl = m.items.find((i) => i.label === 'cmpl') as CompletionItem;
      assert.equal(cmpl.insertText, 'cmpl ${1:r32}, ${2:r/m32}');
      assert.equal(cmpl.insertTextFormat, 2);
      const resolved = await client.request<CompletionItem>('completionItem/resolve', cmpl);
      assert.match(String((resolved.documentation as { value: string }).value), /^\*\*cmpl\*\* \(CMP\) — Subtracts the source/);
      const intelHead = await client.request<CompletionList>('textDocument/completion', client.pos(intel, 8, 9)); // `x|or` in 64-bit code
      assert.ok(labels(intelHead).includes('xor') && !labels(intelHead).includes('xorl'), 'no AT&T suffixes in Intel syntax');
    });
    it('macros from the .include\'d file and directives at the start of a statement', async () => {
      await client.edit(main, 21, 0, 21, 0, '        SE');
      const l = await client.request<CompletionList>('textDocument/completion', client.pos(main, 21, 10));
      const setup = l.items.find((i) => i.label === 'SETUP_STACK');
      assert.ok(setup, labels(l).slice(0, 20).join(' '));
      assert.equal(setup.insertText, 'SETUP_STACK ${1:top}');
      await client.edit(main, 21, 8, 21, 10, '.eq');
      const d = await client.request<CompletionList>('textDocument/completion', client.pos(main, 21, 11));
      const equ = d.items.find((i) => i.label === '.equ') as CompletionItem;
      assert.equal(equ.insertText, '.equ ${1:name}, ${2:value}');
      assert.deepEqual(d.itemDefaults?.editRange, range(21, 8, 21, 11));
      await client.edit(main, 21, 0, 21, 11, '');
    });
    it('registers for the mode: `%` then names; no 64-bit registers in 16-bit code; bare names in Intel noprefix', async () => {
      await client.edit(main, 21, 0, 21, 0, '        movw %');
      const l = await client.request<CompletionList>('textDocument/completion', client.pos(main, 21, 14));
      const names = labels(l);
      assert.ok(names.includes('%ax') && names.includes('%eax') && names.includes('%cr0') && names.includes('%cs'));
      assert.ok(!names.includes('%rax') && !names.includes('%r8'));
      assert.deepEqual(l.itemDefaults?.editRange, range(21, 13, 21, 14));
      await client.edit(main, 21, 0, 21, 14, '');
      const i = await client.request<CompletionList>('textDocument/completion', client.pos(intel, 8, 21)); // `eax, ea|x`
      assert.ok(labels(i).includes('eax') && labels(i).includes('rax') && !labels(i).includes('%eax'));
    });
    it('operands: labels, constants and #defines from included files, numeric label references', async () => {
      await client.edit(main, 21, 0, 21, 0, '        jmp ');
      const l = await client.request<CompletionList>('textDocument/completion', client.pos(main, 21, 12));
      const names = labels(l);
      for (const n of ['_start', 'pm_entry', 'gdt_desc', 'GDT_LIMIT', 'PORT', 'STACK_TOP', '1b']) assert.ok(names.includes(n), n);
      const b = l.items.find((x) => x.label === '1b') as CompletionItem;
      assert.equal(b.detail, 'local label 1: on line 16');
      await client.edit(main, 21, 0, 21, 12, '');
    });
    it('preprocessor directives after `#` in a .S file', async () => {
      await client.edit(main, 21, 0, 21, 0, '#inc');
      const l = await client.request<CompletionList>('textDocument/completion', client.pos(main, 21, 4));
      const inc = l.items.find((x) => x.label === '#include') as CompletionItem;
      assert.equal(inc.insertText, '#include "${1:kvm-guest.h}"');
      assert.deepEqual(l.itemDefaults?.editRange, range(21, 0, 21, 4));
      await client.edit(main, 21, 0, 21, 4, '');
    });
    it('nothing inside a comment', async () => {
      assert.equal(await client.request('textDocument/completion', client.pos(main, 0, 10)), null);
    });
  });

  it('completion for a client without snippets or item defaults: a text edit on every item, plain text', async () => {
    const plain = await LspClient.start({ root: s.dir, capabilities: {} });
    try {
      const uri = await plain.open(s.main);
      const l = await plain.request<CompletionList>('textDocument/completion', plain.pos(uri, 8, 10));
      assert.equal(l.itemDefaults, undefined);
      const cmpl = l.items.find((i) => i.label === 'cmpl') as CompletionItem;
      assert.deepEqual(cmpl.textEdit, { range: range(8, 8, 8, 10), newText: 'cmpl' });
      assert.equal(cmpl.insertTextFormat, 1);
    } finally {
      await plain.stop();
    }
  });

  it('signature help: the operand forms of the mode, the active operand', async () => {
    const sh = await client.request<SignatureHelp>('textDocument/signatureHelp', client.pos(main, 10, 24));
    assert.deepEqual(sh.signatures.map((x) => x.label), ['in $imm8, %al', 'in %dx, %al']);
    assert.equal(sh.activeParameter, 1);
    assert.deepEqual(sh.signatures[0].parameters, [{ label: [3, 8] }, { label: [10, 13] }]);
    const macro = await client.request<SignatureHelp>('textDocument/signatureHelp', client.pos(main, 16, 16));
    assert.deepEqual(macro.signatures.map((x) => x.label), ['PUTC ch, port=0xe9']);
    assert.equal(macro.activeParameter, 0);
  });

  it('document symbols: sections holding their labels, constants', async () => {
    const syms = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: main } });
    const flat = syms.map((x) => [x.name, x.kind, x.selectionRange.start.line, (x.children ?? []).map((c) => [c.name, c.kind, c.range.start.line, c.range.end.line])]);
    assert.deepEqual(flat, [
      ['.start', 3, 5, [['_start', 12, 7, 22], ['pm_entry', 12, 23, 29]]],
      ['.rodata', 3, 31, [['gdt_desc', 13, 33, 35], ['gdt', 13, 36, 37]]],
      ['GDT_LIMIT', 14, 32, []],
    ]);
    const defs = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: defsUri } });
    assert.deepEqual(defs.map((x) => [x.name, x.kind, x.detail]), [
      ['DEFS_H', 14, '#define'], ['PORT', 14, '#define 0x64'], ['READY', 14, '#define 0x02'], ['STACK_TOP', 14, '#define 0x7c00'],
      ['SCALE', 12, '#define(x) ((x) * 4)'], ['WORD_SIZE', 14, '#define 8'], ['WORD_SIZE', 14, '#define 4'],
    ]);
  });

  it('workspace symbols across files', async () => {
    const w = await client.request<SymbolInformation[]>('workspace/symbol', { query: 'gdt' });
    assert.deepEqual(w.map((x) => x.name).sort(), ['GDT_LIMIT', 'gdt', 'gdt_desc']);
    const m = await client.request<SymbolInformation[]>('workspace/symbol', { query: 'setup' });
    assert.deepEqual(m.map((x) => [x.name, x.location.uri, x.location.range.start.line]), [['SETUP_STACK', macrosUri, 1]]);
  });

  it('semantic tokens: macro calls, #defines, labels, registers, mnemonics, numbers, comments', async () => {
    const t = await client.request<SemanticTokens>('textDocument/semanticTokens/full', { textDocument: { uri: main } });
    const legend = ['keyword', 'macro', 'function', 'label', 'variable', 'parameter', 'number', 'string', 'comment', 'namespace', 'enumMember'];
    const out: Array<[number, number, number, string, number]> = [];
    let line = 0;
    let ch = 0;
    for (let i = 0; i < t.data.length; i += 5) {
      line += t.data[i];
      ch = t.data[i] === 0 ? ch + t.data[i + 1] : t.data[i + 1];
      out.push([line, ch, t.data[i + 2], legend[t.data[i + 3]], t.data[i + 4]]);
    }
    const on = (l: number): Array<[number, number, string, number]> => out.filter((x) => x[0] === l).map((x) => [x[1], x[2], x[3], x[4]]);
    assert.deepEqual(on(0), [[0, 54, 'comment', 0]]);
    assert.deepEqual(on(7), [[0, 6, 'label', 1]]);
    assert.deepEqual(on(9), [[8, 11, 'function', 0], [20, 9, 'macro', 0]]);
    assert.deepEqual(on(10), [[0, 1, 'label', 1], [8, 3, 'keyword', 0], [17, 4, 'macro', 0], [23, 3, 'variable', 2]]);
    assert.deepEqual(on(15), [[0, 1, 'label', 1], [8, 4, 'keyword', 0], [16, 8, 'label', 0]]);
    assert.deepEqual(on(32), [[8, 4, 'macro', 2], [16, 9, 'variable', 5], [27, 1, 'number', 0], [31, 1, 'number', 0], [35, 1, 'number', 0]]);
  });

  it('folding: label blocks; #if branches and the include guard in the header; macro bodies', async () => {
    const f = await client.request<FoldingRange[]>('textDocument/foldingRange', { textDocument: { uri: main } });
    assert.deepEqual(f.map((x) => [x.startLine, x.endLine]), [[7, 22], [23, 29], [33, 35], [36, 37]]);
    const h = await client.request<FoldingRange[]>('textDocument/foldingRange', { textDocument: { uri: defsUri } });
    assert.deepEqual(h.map((x) => [x.startLine, x.endLine]), [[1, 15], [9, 10], [11, 13]]);
    const m = await client.request<FoldingRange[]>('textDocument/foldingRange', { textDocument: { uri: macrosUri } });
    assert.deepEqual(m.map((x) => [x.startLine, x.endLine]), [[1, 4], [6, 9]]);
  });

  it('privileged and string instructions: our summary, the privilege, the reference page', async () => {
    const cases: Array<[string, RegExp, RegExp, string]> = [
      ['lgdt    (%eax)', /^\*\*lgdt\*\* — Loads GDTR/, /Privileged: CPL 0 only/, 'lgdt:lidt'],
      ['lidt    (%eax)', /^\*\*lidt\*\* — Loads IDTR/, /Privileged: CPL 0 only/, 'lgdt:lidt'],
      ['ltr     %ax', /^\*\*ltr\*\* — Loads the task register/, /Privileged: CPL 0 only/, 'ltr'],
      ['invlpg  (%eax)', /^\*\*invlpg\*\* — Invalidates the TLB entries/, /Privileged: CPL 0 only/, 'invlpg'],
      ['rdmsr', /^\*\*rdmsr\*\* — Reads the model-specific register/, /Privileged: CPL 0 only/, 'rdmsr'],
      ['wrmsr', /^\*\*wrmsr\*\* — Writes EDX:EAX to the model-specific register/, /Privileged: CPL 0 only/, 'wrmsr'],
      ['movl    %eax, %cr3', /^\*\*movl\*\* \(MOV\) — Copies the source operand/, /This line: `mov cr, r32` \(`0F 22 \/r`\)\.\n\nPrivileged: this form runs at CPL 0 only/, 'mov-1'],
      ['hlt', /^\*\*hlt\*\* — Stops the processor/, /Privileged: CPL 0 only/, 'hlt'],
      ['cli', /^\*\*cli\*\* — Clears the interrupt flag/, /IOPL-sensitive/, 'cli'],
      ['sti', /^\*\*sti\*\* — Sets the interrupt flag/, /IOPL-sensitive/, 'sti'],
      ['iretl', /^\*\*iretl\*\* \(IRETD\) — Returns from an interrupt with 32-bit operands/, /Not privileged\./, 'iret:iretd:iretq'],
      ['inb     $0x60, %al', /^\*\*inb\*\* \(IN\) — Reads from an I\/O port/, /I\/O-sensitive/, 'in'],
      ['outw    %ax, %dx', /^\*\*outw\*\* \(OUT\) — Writes AL, AX or EAX to an I\/O port/, /I\/O-sensitive/, 'out'],
      ['movsb', /^\*\*movsb\*\* — Copies a byte from DS:\(E\/R\)SI/, /String instruction/, 'movs:movsb:movsw:movsd:movsq'],
      ['stosl', /^\*\*stosl\*\* \(STOSD\) — Stores EAX at ES:DI/, /String instruction/, 'stos:stosb:stosw:stosd:stosq'],
      ['lodsw', /^\*\*lodsw\*\* — Loads the word at DS:SI/, /String instruction/, 'lods:lodsb:lodsw:lodsd:lodsq'],
      ['outsb', /^\*\*outsb\*\* — Writes the byte at DS:\(E\)SI/, /I\/O-sensitive/, 'outs:outsb:outsw:outsd'],
    ];
    const text = '        .code32\n' + cases.map(([c]) => `        ${c}\n`).join('') + '        .code64\n        iretq\n        rep movsq\n';
    const file = `${s.dir}/privileged.s`;
    fs.writeFileSync(file, text);
    const uri = await client.open(file);
    for (let i = 0; i < cases.length; i++) {
      const [src, summary, privilege, page] = cases[i];
      const h = await hover(uri, i + 1, 9);
      assert.match(h, summary, src);
      assert.match(h, privilege, src);
      assert.ok(h.includes(`(https://www.felixcloutier.com/x86/${page})`), `${src}: ${h}`);
    }
    const iretq = await hover(uri, cases.length + 2, 9);
    assert.match(iretq, /^\*\*iretq\*\* — Returns from an interrupt in 64-bit mode/);
    assert.match(iretq, /\| `iretq` \| `o64 CF` \| 64 \|/);
    const rep = await hover(uri, cases.length + 3, 9);
    assert.match(rep, /^\*\*rep\*\* — prefix\. Repeats the string instruction/);
    const movsq = await hover(uri, cases.length + 3, 13);
    assert.match(movsq, /Prefix: `rep`/);
    await client.close(uri);
  });

  it('rename a macro and a label across the include graph; references of a .globl label across separately built files', async () => {
    const mac = await client.request<WorkspaceEdit>('textDocument/rename', { ...client.pos(main, 16, 9), newName: 'EMIT' });
    assert.deepEqual(mac.changes, {
      [macrosUri]: [{ range: range(6, 7, 6, 11), newText: 'EMIT' }],
      [main]: [{ range: range(16, 8, 16, 12), newText: 'EMIT' }],
    });
    // A label defined in the main file, used from the header-included part.
    const part = `${s.dir}/part.inc`;
    fs.writeFileSync(part, '        jmp     gdt_desc\n');
    await client.change(main, MAIN_S.replace('.include "macros.inc"', '.include "macros.inc"\n.include "part.inc"'));
    const lab = await client.request<WorkspaceEdit>('textDocument/rename', { ...client.pos(main, 34, 3), newName: 'gdt_pointer' });
    assert.deepEqual(Object.keys(lab.changes ?? {}).sort(), [main, uriOf(part)].sort());
    assert.deepEqual(lab.changes?.[uriOf(part)], [{ range: range(0, 16, 0, 24), newText: 'gdt_pointer' }]);
    await client.change(main, MAIN_S);
    // Two objects linked together: `.globl shared` in one, used in the other.
    const a = `${s.dir}/obj-a.s`;
    const b = `${s.dir}/obj-b.s`;
    fs.writeFileSync(a, '        .globl  shared\nshared: ret\n');
    fs.writeFileSync(b, '        call    shared\n');
    const ua = await client.open(a);
    const ub = await client.open(b);
    assert.deepEqual(await definition(ub, 0, 18), [{ uri: ua, range: range(1, 0, 1, 6) }]);
    const refs = await client.request<Location[]>('textDocument/references', { ...client.pos(ua, 1, 2), context: { includeDeclaration: true } });
    assert.deepEqual(refs.map((r) => [r.uri, r.range.start.line]).sort(), [[ua, 0], [ua, 1], [ub, 0]].sort());
    await client.close(ua);
    await client.close(ub);
  });

  it('files changing on disk (didChangeWatchedFiles): a new header resolves a waiting #include', async () => {
    const file = `${s.dir}/waits.S`;
    fs.writeFileSync(file, '#include "later.h"\n        movl    $LATER, %eax\n');
    const uri = await client.open(file);
    assert.match(await hover(uri, 0, 12), /`later\.h` was not found/);
    fs.writeFileSync(`${s.dir}/later.h`, '#define LATER 0x42\n');
    await client.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(`${s.dir}/later.h`), type: 1 }] });
    // Messages are handled in order: the next request sees the new file.
    const h = await hover(uri, 1, 20);
    assert.match(h, /#define LATER 0x42/);
    assert.match(h, /Value: 0x42 \(66\)/);
    await client.close(uri);
  });

  it('the sample texts are what the positions above assume', () => {
    assert.equal(MAIN_S.split('\n')[15], '1:      lgdt    gdt_desc');
    assert.equal(INTEL_S.split('\n')[9], '2:      dec     ecx');
  });
});

// A .S file with no .code directive, no marker and no compile_commands.json entry: gcc -m32 /
// as --32 assemble it (our diagnostics and build), so hover, signature help and our checks read it
// as 32-bit code and the hover says why.
describe('language server: the bitness a source is assembled in before any .code directive', function () {
  this.timeout(60000);
  const TEXT = [
    '/* an interrupt handler: no .code directive, no compile_commands.json */',
    '        .text',
    '        .globl  handler',
    'handler:',
    '        push    %eax',
    '        iret',
    '',
  ].join('\n');
  let dir: string;
  const clients: LspClient[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-nomode-'));
  });
  after(async () => {
    for (const c of clients) await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const start = async (initializationOptions?: unknown): Promise<LspClient> => {
    const c = await LspClient.start({ root: dir, initializationOptions });
    clients.push(c);
    return c;
  };

  it('hover says what the instruction is in 32-bit code, and why 32-bit; the assembler ran 32-bit', async () => {
    const file = path.join(dir, 'handler.S');
    fs.writeFileSync(file, TEXT);
    const c = await start();
    const uri = await c.open(file);
    await c.assembled(file);
    // The live diagnostics assembled it as protected mode (gcc -m32) and GNU as took `push %eax`.
    assert.ok(c.logs.some((l) => l.startsWith(`assembler: ${file} v1 (protected)`)), c.logs.join('\n'));
    assert.deepEqual(await c.diagnosticsFor(uri), []);
    const hover = async (line: number, character: number): Promise<string> =>
      md(await c.request<Hover>('textDocument/hover', c.pos(uri, line, character)));
    const why = /This line is 32-bit \(assembled as 32-bit, `gcc -m32`: no `\.code` directive and no compile_commands\.json entry\)\./;
    // SDM: IRET with a 32-bit operand size is IRETD (CF), what gcc -m32 makes of `iret`.
    const iret = await hover(5, 9);
    assert.match(iret, /^\*\*iret\*\* \(IRETD\)/);
    assert.match(iret, why);
    assert.doesNotMatch(iret, /not valid here/);
    // PUSH r32 (50+rd) exists in 16/32-bit code only (SDM: N.E. in 64-bit mode).
    const push = await hover(4, 9);
    assert.match(push, /This line: `push r32` \(`o32 50\+rd`\)/);
    assert.match(push, why);
    assert.doesNotMatch(push, /r64/);
    // Signature help offers the forms of 32-bit code: no 64-bit register forms.
    const sh = await c.request<SignatureHelp>('textDocument/signatureHelp', c.pos(uri, 4, 19));
    const forms = sh.signatures.map((x) => x.label);
    assert.ok(forms.some((f) => /r32/.test(f)), forms.join(' | '));
    assert.ok(!forms.some((f) => /r64/.test(f)), forms.join(' | '));
  });

  it('a real-mode guest of ours is 32-bit code until its .code16: what gcc -m32 makes of the lines before it', async () => {
    const file = path.join(dir, 'real.S');
    // KVM_GUEST_ names make it one of our guests: real mode from its first .code16 (modes.ts).
    fs.writeFileSync(file, '/* KVM_GUEST_MODE_REAL guest */\n        push    %ax\n        .code16\n        push    %ax\n');
    const c = await start();
    const uri = await c.open(file);
    await c.assembled(file);
    assert.ok(c.logs.some((l) => l.startsWith(`assembler: ${file} v1 (real)`)), c.logs.join('\n'));
    const hover = async (line: number): Promise<string> => md(await c.request<Hover>('textDocument/hover', c.pos(uri, line, 9)));
    // gcc -m32 encodes the first as 66 50 (32-bit code), the second as 50 (16-bit code).
    assert.match(await hover(1), /This line is 32-bit \(our build's mode for this guest, from its first `\.code16`; `gcc -m32` assembles what precedes a `\.code16` as 32-bit code\)\./);
    assert.match(await hover(3), /This line is 16-bit \(`\.code16`\)\./);
  });

  it('our own checks (assembler off) flag what GNU as --32 rejects: swapgs and iretq are 64-bit only', async () => {
    const file = path.join(dir, 'sixty.S');
    fs.writeFileSync(file, TEXT + '        swapgs\n        iretq\n');
    const c = await start({ assemblerDiagnostics: false });
    const uri = await c.open(file);
    const d = await c.diagnosticsFor(uri, (x) => x.some((y) => y.code === 'mode'));
    const mode = d.filter((x) => x.code === 'mode').map((x) => [x.range.start.line, x.severity, x.message]);
    const why = 'assembled as 32-bit, gcc -m32: no .code directive and no compile_commands.json entry';
    assert.deepEqual(mode, [
      [6, 1, `'swapgs' is not valid in 32-bit code (${why}); it exists in 64-bit mode`],
      [7, 1, `'iretq' is not valid in 32-bit code (${why}); it exists in 64-bit mode`],
    ], JSON.stringify(d));
  });
});
