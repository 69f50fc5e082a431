// The language server on POWER files, over stdio as an editor drives it: the seed's code.s and the
// output-port example get POWER hovers and completion, diagnostics only from the real cross
// assembler (no x86 false errors), labels, definitions and symbols; an x86 file next to them keeps
// its x86 features.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CompletionList, DocumentSymbol, Hover, InlayHint, Location, SymbolInformation } from 'vscode-languageserver-types';
import { LspClient } from '../lsp/lsp-client';
import { cli, guest } from '../helpers/cli';
import { itWithPpc64Tools } from '../helpers/ppc64-tools';

const md = (h: Hover | null): string => (h && typeof h.contents === 'object' && 'value' in h.contents ? String(h.contents.value) : '');

describe('ppc64: language server on POWER files', function () {
  this.timeout(60000);
  let dir: string;
  let client: LspClient;
  let seed: string, hello: string, x86: string;
  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppc64-lsp-'));
    seed = path.join(dir, 'code.s');
    hello = path.join(dir, 'hello.s');
    x86 = path.join(dir, 'kernel.S');
    fs.copyFileSync(guest('ppc64', 'seed.s'), seed);
    fs.copyFileSync(guest('ppc64', 'hello.s'), hello);
    fs.writeFileSync(x86, '.code16\nstart:\n    movw $0x3f8, %dx\n    hlt\n');
    client = await LspClient.start({ root: dir });
    await client.waitIndexed();
  });
  after(async function () {
    await client?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  itWithPpc64Tools(['big'], 'the seed\'s code.s has no diagnostics (no x86 false errors), once the cross assembler has run', async function () {
    const uri = await client.open(seed);
    await client.assembled(seed);
    assert.deepEqual(await client.diagnosticsFor(uri), []);
  });

  itWithPpc64Tools(['big'], 'a wrong POWER instruction is reported by the cross assembler at its line', async function () {
    const bad = path.join(dir, 'bad.s');
    fs.writeFileSync(bad, '# kvm-guest: arch=ppc64\n    li 3,1\n    frobnicate 3,4\n    mullw 18,16,17\n');
    const uri = await client.open(bad);
    await client.assembled(bad);
    const d = await client.diagnosticsFor(uri, (l) => l.length > 0);
    assert.equal(d.length, 1, JSON.stringify(d));
    assert.equal(d[0].range.start.line, 2);
    assert.equal(d[0].source, 'as');
    assert.match(String(d[0].message), /frobnicate/);
  });

  itWithPpc64Tools(['little'], 'a little-endian file (kvm-guest: endian=little) is assembled by the little-endian cross assembler', async function () {
    const le = path.join(dir, 'le.s');
    fs.writeFileSync(le, '# kvm-guest: arch=ppc64 endian=little\n# kvm-guest: endian=little\n    li 16,8\n    stw 16,0(9)\n');
    const uri = await client.open(le);
    await client.assembled(le);
    assert.deepEqual(await client.diagnosticsFor(uri), []);
    assert.ok(client.logs.some((l) => l.startsWith(`assembler: ${le} `) && l.includes('(ppc64 little-endian)')), client.logs.join('\n'));
  });

  it('hovers a POWER mnemonic with a one-line summary and the Power ISA link, and a register number as its register', async function () {
    const uri = await client.open(seed);
    const h = md(await client.request<Hover>('textDocument/hover', client.pos(uri, 2, 6)));
    assert.match(h, /^`mullw RT,RA,RB` — .*product.*\[Power ISA\]\(https:\/\/openpowerfoundation\.org\/specifications\/isa\/\)$/);
    assert.equal(h.split('\n').length, 1, 'one line');
    const li = md(await client.request<Hover>('textDocument/hover', client.pos(uri, 0, 5)));
    assert.match(li, /`li RT,SI` — load a signed 16-bit immediate into RT \(extended mnemonic for `addi RT,0,SI`\)/);
    const reg = md(await client.request<Hover>('textDocument/hover', client.pos(uri, 0, 8)));
    assert.match(reg, /register r16 \(operand RT of li\)/);
  });

  it('completes POWER mnemonics at the start of a statement, registers and labels in operands (no x86)', async function () {
    const uri = await client.open(hello);
    const heads = (await client.request<CompletionList>('textDocument/completion', client.pos(uri, 12, 4))).items.map((i) => i.label);
    for (const m of ['li', 'lis', 'mullw', 'stb', 'lbz', 'blr', 'bl', 'cmpwi', 'mtspr', 'sc', 'rfid']) assert.ok(heads.includes(m), m);
    assert.ok(!heads.includes('movl') && !heads.includes('hlt'), 'no x86 mnemonics');
    const line = fs.readFileSync(hello, 'utf8').split('\n').findIndex((l) => /^\s+b\s+next/.test(l));
    const ops = (await client.request<CompletionList>('textDocument/completion', client.pos(uri, line, 10))).items.map((i) => i.label);
    for (const r of ['%r0', '%r31', '%f1', 'cr0', 'cr7', 'next', 'done', '_start']) assert.ok(ops.includes(r), r);
    // A plain r3 is a symbol to GNU as without -mregnames ("unsupported relocation against r3").
    assert.ok(!ops.includes('r3') && !ops.includes('lr'), 'only operand spellings GNU as takes');
  });

  it('labels: document symbols and go-to-definition work on POWER code', async function () {
    const uri = await client.open(hello);
    const symbols = await client.request<(DocumentSymbol | SymbolInformation)[]>('textDocument/documentSymbol', { textDocument: { uri } });
    const names: string[] = [];
    const collect = (list: (DocumentSymbol | SymbolInformation)[]): void => {
      for (const s of list) {
        names.push(s.name);
        if ('children' in s && s.children) collect(s.children);
      }
    };
    collect(symbols);
    for (const n of ['_start', 'next', 'done', 'message']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    const lines = fs.readFileSync(hello, 'utf8').split('\n');
    const use = lines.findIndex((l) => /^\s+b\s+next/.test(l));
    const def = lines.findIndex((l) => /^next:/.test(l));
    const loc = await client.request<Location[] | Location | null>('textDocument/definition', client.pos(uri, use, lines[use].indexOf('next') + 1));
    const first = Array.isArray(loc) ? loc[0] : loc;
    assert.equal(first?.range.start.line, def);
  });

  itWithPpc64Tools(['big'], 'after a build, inlay hints show each line\'s address and bytes (the seed\'s objdump: 3a 00 00 08 at 0x100…)', async function () {
    const b = cli(['build', seed]);
    assert.equal(b.status, 0, b.stderr);
    const uri = await client.open(seed);
    const hints = await client.request<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } } });
    assert.deepEqual(hints.map((h) => [h.position.line, h.label]), [
      [0, '0x00000100: 3a 00 00 08'],
      [1, '0x00000104: 3a 20 00 04'],
      [2, '0x00000108: 7e 50 89 d6'],
    ]);
  });

  it('an x86 file in the same workspace keeps its x86 hover and completion', async function () {
    const uri = await client.open(x86);
    const h = md(await client.request<Hover>('textDocument/hover', client.pos(uri, 3, 5)));
    assert.match(h, /HLT|hlt/);
    assert.doesNotMatch(h, /Power ISA/);
  });
});
