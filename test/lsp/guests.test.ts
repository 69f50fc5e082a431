// The language server on the example guests and the seed listings, over a real stdio connection:
// no false errors (ours or the assembler's), hover, navigation across #include, and inlay hints
// with the addresses and bytes of a real build.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Diagnostic, Hover, InlayHint, Location } from 'vscode-languageserver-types';
import { buildGuest } from '../../debug-adapter/toolchain/build';
import { find, LspClient, ROOT, uriOf } from './lsp-client';
import { SEED_LISTINGS } from './seed-listings';

const guest = (...p: string[]): string => path.join(ROOT, 'guests', ...p);
const md = (h: Hover | null): string => (h && typeof h.contents === 'object' && 'value' in h.contents ? String(h.contents.value) : '');
const errors = (d: Diagnostic[]): Diagnostic[] => d.filter((x) => x.severity === 1);
const show = (d: Diagnostic[]): string => d.map((x) => `${x.range.start.line}:${x.range.start.character} [${x.source}] ${x.message}`).join('\n');

describe('language server: example guests and seed listings', function () {
  this.timeout(120000);
  let client: LspClient;

  before(async () => {
    client = await LspClient.start({ root: guest() });
    await client.waitIndexed();
  });
  after(async () => client?.stop());

  const roots = [
    'linux-journal/kernel1.S', 'linux-journal/kernel2.S', 'linux-journal/kernel3.S', 'hello-world/hello16.s',
    'hello-world/hello.c', 'long-mode-playground/playground.S', 'protected-elf/protected.S',
  ];
  for (const rel of roots) {
    it(`${rel}: no errors from our checks or the assembler`, async () => {
      const file = guest(rel);
      const uri = await client.open(file);
      await client.assembled(file);
      const d = await client.diagnosticsFor(uri);
      assert.deepEqual(errors(d), [], show(d));
      if (rel.endsWith('kernel3.S')) {
        // The one thing the assembler says: a real warning, on the right line.
        assert.equal(d.length, 1, show(d));
        assert.equal(d[0].range.start.line, 11);
        assert.match(String(d[0].message), /segment override on 'lea' is ineffectual/);
        assert.equal(d[0].source, 'as');
      } else assert.deepEqual(d, [], show(d));
    });
  }

  for (const rel of ['include/kvm-guest.h', 'linux-journal/runtime.h']) {
    it(`${rel}: a header alone gives no diagnostics`, async () => {
      const uri = await client.open(guest(rel));
      const d = await client.diagnosticsFor(uri);
      assert.deepEqual(d, [], show(d));
    });
  }

  it('the seed listings (kernel1/2/3.S, runtime.h) give no errors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-seeds-'));
    try {
      for (const [name, text] of Object.entries(SEED_LISTINGS)) fs.writeFileSync(path.join(dir, name), text);
      for (const name of ['kernel1.S', 'kernel2.S', 'kernel3.S']) {
        const file = path.join(dir, name);
        const uri = await client.open(file);
        await client.assembled(file);
        const d = await client.diagnosticsFor(uri);
        assert.deepEqual(errors(d), [], `${name}:\n${show(d)}`);
        await client.close(uri);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kernel3.S: hover on rep/outsb explains the string I/O instruction, its privilege and links the reference', async () => {
    const file = guest('linux-journal/kernel3.S');
    const text = fs.readFileSync(file, 'utf8');
    const uri = await client.open(file);
    const at = find(text, 'rep/outsb', 0, 5); // on `outsb`
    assert.deepEqual(at, { line: 13, character: 12 });
    const h = md(await client.request<Hover>('textDocument/hover', client.pos(uri, at.line, at.character)));
    assert.match(h, /^\*\*outsb\*\* — Writes the byte at DS:\(E\)SI to the I\/O port in DX/);
    assert.match(h, /Prefixes: `cs`, `rep`/);
    assert.match(h, /\| `outsb` \| `6E` \| 16, 32, 64 \|/);
    assert.match(h, /This line is 16-bit \(`\.code16`\)/);
    assert.match(h, /I\/O-sensitive: allowed when CPL ≤ IOPL/);
    assert.match(h, /String instruction/);
    assert.match(h, /Flags: reads DF\./);
    assert.match(h, /\(https:\/\/www\.felixcloutier\.com\/x86\/outs:outsb:outsw:outsd\)/);
    const rep = md(await client.request<Hover>('textDocument/hover', client.pos(uri, 13, 8)));
    assert.match(rep, /^\*\*rep\*\* — prefix\. Repeats the string instruction/);
  });

  it('kernel2.S: a #define from runtime.h: hover with its value, definition in the header, references in both files', async () => {
    const file = guest('linux-journal/kernel2.S');
    const text = fs.readFileSync(file, 'utf8');
    const uri = await client.open(file);
    const at = find(text, 'IO_PORT_PSEUDO_SERIAL', 0, 3);
    assert.deepEqual(at, { line: 9, character: 19 });
    const h = md(await client.request<Hover>('textDocument/hover', client.pos(uri, at.line, at.character)));
    assert.match(h, /^\*\*IO_PORT_PSEUDO_SERIAL\*\* — preprocessor macro, runtime\.h:6/);
    assert.match(h, /#define IO_PORT_PSEUDO_SERIAL 0xf1/);
    assert.match(h, /Value: 0xf1 \(241\)/);
    assert.match(h, /The launcher prints every byte written to this port\./);
    const def = await client.request<Location[]>('textDocument/definition', client.pos(uri, at.line, at.character));
    assert.deepEqual(def, [{ uri: uriOf(guest('linux-journal/runtime.h')), range: { start: { line: 5, character: 8 }, end: { line: 5, character: 29 } } }]);
    const refs = await client.request<Location[]>('textDocument/references', { ...client.pos(uri, at.line, at.character), context: { includeDeclaration: true } });
    const inMain = refs.filter((r) => r.uri === uri).map((r) => r.range.start.line);
    assert.deepEqual(inMain, [9, 11, 13, 15, 17, 19]);
    assert.ok(refs.some((r) => r.uri === uriOf(guest('linux-journal/runtime.h')) && r.range.start.line === 5));
  });

  it('hello16.s: `#` comments, numeric labels 1b/2f resolve to the right definitions', async () => {
    const file = guest('hello-world/hello16.s');
    const text = fs.readFileSync(file, 'utf8');
    const uri = await client.open(file);
    const back = find(text, '1b');
    assert.deepEqual(back, { line: 18, character: 16 });
    const d1 = await client.request<Location[]>('textDocument/definition', client.pos(uri, back.line, back.character));
    assert.deepEqual(d1, [{ uri, range: { start: { line: 13, character: 0 }, end: { line: 13, character: 1 } } }]);
    const fwd = find(text, '2f');
    const d2 = await client.request<Location[]>('textDocument/definition', client.pos(uri, fwd.line, fwd.character));
    assert.deepEqual(d2, [{ uri, range: { start: { line: 19, character: 0 }, end: { line: 19, character: 1 } } }]);
    const back3 = find(text, '3b');
    const d3 = await client.request<Location[]>('textDocument/definition', client.pos(uri, back3.line, back3.character));
    assert.deepEqual(d3, [{ uri, range: { start: { line: 22, character: 0 }, end: { line: 22, character: 1 } } }]);
  });

  it('playground.S: hover on a register, a label with its doc comment, and COM1_PORT from kvm-guest.h', async () => {
    const file = guest('long-mode-playground/playground.S');
    const text = fs.readFileSync(file, 'utf8');
    const uri = await client.open(file);
    const r12 = find(text, '%r12d', 0, 2);
    const hr = md(await client.request<Hover>('textDocument/hover', client.pos(uri, r12.line, r12.character)));
    assert.match(hr, /^\*\*%r12d\*\* — 32-bit general-purpose register/);
    assert.match(hr, /Same storage: `%r12`, `%r12w`, `%r12b`/);
    assert.match(hr, /Only in 64-bit code\./);
    const call = find(text, 'call    serial_puts', 0, 10);
    const hl = md(await client.request<Hover>('textDocument/hover', client.pos(uri, call.line, call.character)));
    assert.match(hl, /^\*\*serial_puts\*\* — code label in `\.text`, line 57/);
    assert.match(hl, /serial_puts: sends the NUL-terminated string at %rsi\./);
    const com1 = find(text, 'COM1_PORT', 0, 2);
    const hc = md(await client.request<Hover>('textDocument/hover', client.pos(uri, com1.line, com1.character)));
    assert.match(hc, /#define COM1_PORT 0x3f8/);
    assert.match(hc, /Value: 0x3f8 \(1016\)/);
  });

  it('inlay hints give the address and bytes of each line after a build; label hover gives its address', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-build-'));
    try {
      for (const f of ['kernel2.S', 'runtime.h']) fs.copyFileSync(guest('linux-journal', f), path.join(dir, f));
      const source = path.join(dir, 'kernel2.S');
      const built = await buildGuest({ source, mode: 'real' });
      assert.ok(built.ok, JSON.stringify(built.diagnostics));
      const uri = await client.open(source);
      const hints = await client.request<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 30, character: 0 } } });
      const labels = hints.map((h) => [h.position.line, h.position.character, h.label]);
      assert.deepEqual(labels, [
        [8, 30, '0x0000: b0 48'], [9, 37, '0x0002: e6 f1'], [10, 30, '0x0004: b0 65'], [11, 37, '0x0006: e6 f1'],
        [12, 30, '0x0008: b0 6c'], [13, 37, '0x000a: e6 f1'], [14, 30, '0x000c: b0 6c'], [15, 37, '0x000e: e6 f1'],
        [16, 30, '0x0010: b0 6f'], [17, 37, '0x0012: e6 f1'], [18, 31, '0x0014: b0 0a'], [19, 37, '0x0016: e6 f1'],
        [21, 54, '0x0018: f4'], [24, 27, '0xfff0: ea 00 00 00 f0'],
      ]);
      const h = md(await client.request<Hover>('textDocument/hover', client.pos(uri, 24, 24)));
      assert.match(h, /^\*\*start\*\* — code label in `\.text`, line 8/);
      assert.match(h, /Address 0x0 in the last build \(`build\/kernel2\.real\.elf`, real mode\)\. At the default load address that is F000:0000 \(linear 0xf0000\)\./);
      // Unsaved changes: the lines on screen are no longer what was built, so no hints.
      await client.edit(uri, 0, 0, 0, 0, '\n');
      const stale = await client.request<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 30, character: 0 } } });
      assert.deepEqual(stale, []);
      await client.close(uri);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
