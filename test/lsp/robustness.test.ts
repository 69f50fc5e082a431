// The server must never crash: random bytes, truncated files, a 100,000-line file, include
// cycles, missing includes, out-of-range positions, cancelled requests. The random inputs are
// seeded (LSP_FUZZ_SEED, printed when a test fails, replays it) and every answer is checked
// against the protocol's invariants: ranges inside the document, folding ranges ordered, semantic
// tokens in whole 5-tuples on existing lines, no error responses.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CompletionList, Hover, Location, SemanticTokens } from 'vscode-languageserver-types';
import { LspClient, ROOT } from './lsp-client';

const REQUESTS = [
  'textDocument/hover', 'textDocument/completion', 'textDocument/definition', 'textDocument/signatureHelp',
  'textDocument/documentHighlight', 'textDocument/prepareRename',
];

const SEED = Number(process.env.LSP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

describe('language server: robustness', function () {
  this.timeout(120000);
  let dir: string;
  let client: LspClient;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-lsp-fuzz-'));
    client = await LspClient.start({ root: dir, initializationOptions: { diagnosticsDelayMs: 50 } });
    await client.waitIndexed();
  });
  after(async () => {
    await client?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`    replay with LSP_FUZZ_SEED=${SEED}`);
    assert.equal(client.exited, false, `the server exited (LSP_FUZZ_SEED=${SEED}):\n${client.stderr}`);
    assert.ok(!/uncaught|unhandled/i.test(client.logs.join('\n')), client.logs.filter((l) => /uncaught|unhandled/i.test(l)).join('\n'));
  });

  /** Every position request at `n` random places, plus the whole-document ones; every answer checked. */
  async function poke(uri: string, text: string, n: number, random: () => number): Promise<void> {
    const lines = text.split(/\r\n|\n|\r/);
    const where = `(LSP_FUZZ_SEED=${SEED})`;
    type Pos = { line: number; character: number };
    type Range = { start: Pos; end: Pos };
    const inDoc = (p: Pos, what: string): void => {
      const ok = Number.isInteger(p.line) && Number.isInteger(p.character) && p.line >= 0 && p.character >= 0 &&
        (p.line < lines.length ? p.character <= lines[p.line].length : p.line === lines.length && p.character === 0);
      assert.ok(ok, `${what}: position ${JSON.stringify(p)} outside the document (${lines.length} lines) ${where}`);
    };
    const range = (r: Range, what: string): void => {
      inDoc(r.start, what);
      inDoc(r.end, what);
      assert.ok(r.start.line < r.end.line || (r.start.line === r.end.line && r.start.character <= r.end.character), `${what}: range ends before it starts ${JSON.stringify(r)} ${where}`);
    };
    const locations = (v: unknown, what: string): void => {
      for (const l of (Array.isArray(v) ? v : v ? [v] : []) as { uri?: string; range?: Range; targetUri?: string; targetRange?: Range }[]) {
        if (l.uri === uri && l.range) range(l.range, what);
        if (l.targetUri === uri && l.targetRange) range(l.targetRange, what);
      }
    };
    for (let i = 0; i < n; i++) {
      const line = Math.floor(random() * (lines.length + 2)) - 1;
      const character = Math.floor(random() * ((lines[line]?.length ?? 10) + 3)) - 1;
      const method = REQUESTS[i % REQUESTS.length];
      const r = await client.request<unknown>(method, client.pos(uri, line, character));
      if (r === null || r === undefined) continue;
      const what = `${method} at ${line}:${character}`;
      if (method === 'textDocument/hover') {
        const h = r as Hover;
        assert.ok(h.contents !== undefined, `${what}: a hover without contents ${where}`);
        if (h.range) range(h.range, what);
      } else if (method === 'textDocument/completion') {
        const items = Array.isArray(r) ? r : (r as CompletionList).items;
        assert.ok(Array.isArray(items) && items.every((c) => typeof c.label === 'string' && c.label.length > 0), `${what}: completion items without labels ${where}`);
      } else if (method === 'textDocument/definition') locations(r, what);
      else if (method === 'textDocument/signatureHelp') assert.ok(Array.isArray((r as { signatures: unknown[] }).signatures), `${what}: no signatures array ${where}`);
      else if (method === 'textDocument/documentHighlight') for (const hl of r as { range: Range }[]) range(hl.range, what);
      else if (method === 'textDocument/prepareRename') range('range' in (r as object) ? (r as { range: Range }).range : (r as Range), what);
    }
    const symbols = await client.request<{ range?: Range; selectionRange?: Range; location?: { range: Range }; children?: unknown[] }[]>('textDocument/documentSymbol', { textDocument: { uri } });
    const walk = (syms: typeof symbols): void => {
      for (const s of syms ?? []) {
        if (s.range) range(s.range, 'documentSymbol');
        if (s.selectionRange) range(s.selectionRange, 'documentSymbol selection');
        if (s.location) range(s.location.range, 'symbol information');
        walk(s.children as typeof symbols);
      }
    };
    walk(symbols);
    const folds = await client.request<{ startLine: number; endLine: number }[]>('textDocument/foldingRange', { textDocument: { uri } });
    for (const f of folds ?? []) assert.ok(f.startLine >= 0 && f.startLine <= f.endLine && f.endLine < lines.length, `folding range ${JSON.stringify(f)} (${lines.length} lines) ${where}`);
    const tokens = await client.request<SemanticTokens>('textDocument/semanticTokens/full', { textDocument: { uri } });
    if (tokens) {
      assert.equal(tokens.data.length % 5, 0, `semantic tokens come in 5-tuples ${where}`);
      let tokLine = 0;
      let tokChar = 0;
      for (let k = 0; k < tokens.data.length; k += 5) {
        const [dl, dc, len] = tokens.data.slice(k, k + 3);
        tokLine += dl;
        tokChar = dl === 0 ? tokChar + dc : dc;
        assert.ok(tokLine < lines.length && len > 0 && tokChar + len <= lines[tokLine].length, `semantic token ${k / 5} at ${tokLine}:${tokChar}+${len} outside its line ${where}`);
      }
    }
    const hints = await client.request<{ position: Pos }[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: lines.length, character: 0 } } });
    for (const h of hints ?? []) inDoc(h.position, 'inlay hint');
    locations(await client.request('textDocument/references', { ...client.pos(uri, 0, 0), context: { includeDeclaration: true } }), 'references');
  }

  it(`random bytes as .S and .s files (seed ${SEED})`, async () => {
    const random = rng(SEED);
    for (let i = 0; i < 6; i++) {
      const ext = i % 2 ? '.s' : '.S';
      const file = path.join(dir, `random${i}${ext}`);
      const bytes = Buffer.alloc(2000 + i * 3000);
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(random() * 256);
      // Some runs with many newlines, `#`, `;`, quotes and backslashes: they steer the parser.
      if (i >= 3) for (let k = 0; k < bytes.length; k += 7) bytes[k] = '\n#;"\'\\:.(%$'.charCodeAt(k % 12);
      const text = bytes.toString('latin1');
      fs.writeFileSync(file, text, 'latin1');
      const uri = await client.open(file, text);
      await poke(uri, text, 60, random);
      await client.close(uri);
    }
  });

  it(`truncated example guests, cut at every kind of place (seed ${SEED})`, async () => {
    const random = rng(SEED ^ 0x7777);
    const sources = ['linux-journal/kernel3.S', 'long-mode-playground/playground.S', 'hello-world/hello16.s', 'include/kvm-guest.h'];
    for (const rel of sources) {
      const full = fs.readFileSync(path.join(ROOT, 'guests', rel), 'utf8');
      const file = path.join(dir, path.basename(rel));
      const uri = await client.open(file, '');
      for (let k = 0; k < 12; k++) {
        const cut = full.slice(0, Math.floor(random() * full.length));
        await client.change(uri, cut);
        await poke(uri, cut, 12, random);
      }
      await client.close(uri);
    }
  });

  it('a 100,000-line file: parsed, highlighted and answered', async () => {
    const lines: string[] = ['        .code32', '        .text'];
    for (let i = 0; lines.length < 100000; i++) {
      lines.push(`label${i}:`, `        movl    $${i}, %eax`, '1:      decl    %eax', '        jnz     1b', `        call    label${(i * 31) % 20000}`);
    }
    const text = lines.join('\n') + '\n';
    const file = path.join(dir, 'huge.s');
    fs.writeFileSync(file, text);
    const t0 = Date.now();
    const uri = await client.open(file);
    const h = await client.request<Hover>('textDocument/hover', client.pos(uri, 99998, 10));
    assert.ok(h, 'hover at the end of the file');
    const tokens = await client.request<SemanticTokens>('textDocument/semanticTokens/full', { textDocument: { uri } });
    assert.ok(tokens.data.length > 5 * 100000);
    const def = await client.request<Location[]>('textDocument/definition', client.pos(uri, 11, 20)); // call label31
    assert.equal(def?.[0].range.start.line, 2 + 5 * 31);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 20000, `took ${elapsed} ms`);
    // An edit at the top is re-parsed and answered too.
    await client.edit(uri, 0, 0, 0, 0, '# top\n');
    const h2 = await client.request<Hover>('textDocument/hover', client.pos(uri, 99999, 10));
    assert.ok(h2);
    await client.close(uri);
  });

  it('include cycles (#include and .include) and missing includes', async () => {
    const a = path.join(dir, 'cycle-a.S');
    const b = path.join(dir, 'cycle-b.h');
    const c = path.join(dir, 'cycle-c.inc');
    fs.writeFileSync(a, '#include "cycle-b.h"\n.include "cycle-c.inc"\n#include "missing.h"\n.include "missing.inc"\n        .code32\nstart_a: jmp start_b\n        movl $B_VALUE, %eax\n');
    fs.writeFileSync(b, '#include "cycle-a.S"\n#define B_VALUE 3\n');
    fs.writeFileSync(c, '.include "cycle-c.inc"\nstart_b: jmp start_a\n');
    const ua = await client.open(a);
    const d = await client.request<Location[]>('textDocument/definition', client.pos(ua, 5, 15));
    assert.deepEqual(d?.map((x) => [path.basename(new URL(x.uri).pathname), x.range.start.line]), [['cycle-c.inc', 1]]);
    const h = await client.request<Hover>('textDocument/hover', client.pos(ua, 6, 17));
    assert.match(String((h?.contents as { value: string }).value), /#define B_VALUE 3/);
    const missing = await client.request<Hover>('textDocument/hover', client.pos(ua, 2, 12));
    assert.match(String((missing?.contents as { value: string }).value), /`missing\.h` was not found next to this file or on the include path\./);
    const refs = await client.request<Location[]>('textDocument/references', { ...client.pos(ua, 5, 2), context: { includeDeclaration: true } });
    assert.equal(refs.length, 2);
    const uc = await client.open(c);
    await poke(uc, fs.readFileSync(c, 'utf8'), 20, rng(3));
    await client.close(uc);
    await client.close(ua);
  });

  it('missing includes are reported by our checks when the assembler is off', async () => {
    const other = await LspClient.start({ root: dir, initializationOptions: { assemblerDiagnostics: false } });
    try {
      const file = path.join(dir, 'needs.S');
      fs.writeFileSync(file, '#include "nowhere.h"\n#include <stdint.h>\n.include "nowhere.inc"\n');
      const uri = await other.open(file);
      const d = await other.diagnosticsFor(uri, (x) => x.length > 0);
      assert.deepEqual(d.map((x) => [x.range.start.line, x.code, String(x.message)]), [
        [0, 'missing-include', "cannot find 'nowhere.h' next to this file or on the include path"],
        [2, 'missing-include', "cannot find 'nowhere.inc' next to this file or on the include path"],
      ]);
    } finally {
      await other.stop();
    }
  });

  it('positions outside the document, unknown documents and non-file URIs get empty answers', async () => {
    const file = path.join(dir, 'small.S');
    fs.writeFileSync(file, 'start: jmp start\n');
    const uri = await client.open(file);
    assert.equal(await client.request('textDocument/hover', client.pos(uri, 1000000, 5)), null);
    assert.equal(await client.request('textDocument/hover', client.pos(uri, -1, -1)), null);
    assert.equal(await client.request('textDocument/definition', client.pos('untitled:Untitled-1', 0, 0)), null);
    const never = path.join(dir, 'never-opened.S');
    assert.equal(await client.request('textDocument/hover', client.pos('file://' + never, 0, 0)), null);
    const comp = await client.request<CompletionList | null>('textDocument/completion', client.pos(uri, 50, 50));
    assert.ok(comp === null || Array.isArray(comp.items));
    await client.close(uri);
  });

  it('honours cancellation of a request', async () => {
    // Enough names that a workspace-symbol search takes several slices.
    const big = path.join(dir, 'names.s');
    fs.writeFileSync(big, Array.from({ length: 60000 }, (_, i) => `name${i}: nop`).join('\n'));
    const uri = await client.open(big);
    const { CancellationTokenSource } = require('vscode-languageserver-protocol/node') as { CancellationTokenSource: new () => { token: unknown; cancel(): void } };
    const source = new CancellationTokenSource();
    const pending = client.conn.sendRequest('workspace/symbol', { query: 'qqqq' }, source.token);
    source.cancel();
    await assert.rejects(pending, (e: { code?: number }) => e.code === -32800);
    // Not cancelled: it finishes (nothing matches).
    assert.deepEqual(await client.request('workspace/symbol', { query: 'qqqq' }), []);
    // And it still answers afterwards.
    const h = await client.request<Hover>('textDocument/hover', client.pos(uri, 5, 2));
    assert.ok(h);
    await client.close(uri);
  });
});
