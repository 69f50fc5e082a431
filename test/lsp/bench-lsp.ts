// Language-server figures for `npm run bench`: a generated 20,000-line project with includes,
// indexed in-process and by the server process; hover, completion, definition and references
// latency over the real stdio connection; diagnostics after an edit. Then the real-world corpus
// (test/lsp/corpus): time to the first diagnostics and to the assembler's after opening each file,
// hover and definition latency on it. BENCH_LSP_PART=corpus runs only that part (standalone run).
import fs from 'node:fs';
import path from 'node:path';
import { WorkspaceIndex } from '../../language/index/workspace-index';
import { instructionTable } from '../../language/instruction-data/iced-table';
import { CORPUS, corpusSources, writeProject } from './fixtures';
import { find, LspClient } from './lsp-client';

export interface LspFigure {
  name: string;
  value: number;
  unit: string;
  target?: string;
  withinTarget?: boolean;
  /** For a timing over rounds: value is the median, with the extremes and the number of rounds. */
  min?: number;
  max?: number;
  rounds?: number;
}

const LINES = Number(process.env.BENCH_LSP_LINES ?? 20000);
const SAMPLES = Number(process.env.BENCH_LSP_SAMPLES ?? 200);
const ROUNDS = Math.max(10, Number(process.env.BENCH_ROUNDS ?? 10));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function timed(n: number, f: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Median [min–max] of a series of rounds, as a figure's fields. */
const overRounds = (xs: number[]): Pick<LspFigure, 'value' | 'min' | 'max' | 'rounds'> => ({ value: percentile(xs, 50), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length });

/**
 * The corpus files as an editor opens them, with the server's default settings (the assembler
 * runs 300 ms after the last change): each round opens every corpus source in turn, waits for the
 * first publishDiagnostics of the new document (our own checks), then for the assembler's, and
 * closes it again. A round's figure is the median over the files; the figure is the median
 * [min–max] over the rounds. Then hover and definition on mnemonics and names of every file.
 */
export async function lspCorpusBenchmarks(report: (f: LspFigure) => void): Promise<void> {
  const files = corpusSources().map((e) => path.resolve(CORPUS, e.directory, e.file));
  const client = await LspClient.start({ root: CORPUS });
  try {
    await client.waitIndexed();
    const first: number[] = [];
    const assembled: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const firstRound: number[] = [];
      const asmRound: number[] = [];
      for (const file of files) {
        const fromLog = client.logs.length;
        const t = performance.now();
        const uri = await client.open(file);
        await client.waitFor(`first diagnostics of ${file}`, () => (client.diagnostics.get(uri)?.version === 1 ? true : undefined));
        firstRound.push(performance.now() - t);
        await client.assembled(file, 60000, fromLog);
        asmRound.push(performance.now() - t);
        await client.close(uri);
        // The server clears a closed file's diagnostics (a publish without a version).
        await client.waitFor(`diagnostics of ${file} cleared`, () => (client.diagnostics.get(uri)?.version === undefined ? true : undefined));
      }
      first.push(percentile(firstRound, 50));
      assembled.push(percentile(asmRound, 50));
    }
    report({ name: `lsp corpus: first diagnostics after opening a file (${files.length} files, median)`, ...overRounds(first), unit: 'ms' });
    report({ name: 'lsp corpus: assembler diagnostics after opening (300 ms debounce + gcc)', ...overRounds(assembled), unit: 'ms' });

    // Mnemonics (first word of an instruction line) and names (labels, constants, #defines:
    // identifiers after the mnemonic) in every corpus file, all opened.
    const mnemonics: Array<{ uri: string; line: number; character: number }> = [];
    const names: Array<{ uri: string; line: number; character: number }> = [];
    for (const file of files) {
      const uri = await client.open(file);
      fs.readFileSync(file, 'utf8').split('\n').forEach((l, line) => {
        const m = /^\s+([a-z][a-z0-9]*)\s+(.*)$/.exec(l);
        if (!m || m[1].startsWith('.')) return;
        mnemonics.push({ uri, line, character: l.indexOf(m[1]) + 1 });
        const operands = m[2].replace(/#.*$/, '');
        const n = /\$?\(?([A-Za-z_][A-Za-z0-9_.]*)/.exec(operands);
        if (n && !/^%/.test(operands.slice(Math.max(0, n.index - 1)))) names.push({ uri, line, character: l.indexOf(n[1], l.indexOf(m[1]) + m[1].length) + 1 });
      });
    }
    const pick = <T>(xs: T[], i: number): T => xs[(i * 7919) % xs.length];
    const at = (p: { uri: string; line: number; character: number }): ReturnType<LspClient['pos']> => client.pos(p.uri, p.line, p.character);
    await client.request('textDocument/hover', at(mnemonics[0])); // warm-up
    const hover = await timed(SAMPLES, (i) => client.request('textDocument/hover', at(i % 2 ? pick(names, i) : pick(mnemonics, i))));
    report({ name: `lsp corpus: hover p50 (${mnemonics.length} mnemonics, ${names.length} names)`, value: percentile(hover, 50), unit: 'ms' });
    report({ name: 'lsp corpus: hover p95', value: percentile(hover, 95), unit: 'ms', target: '≤ 10 ms', withinTarget: percentile(hover, 95) <= 10 });
    const definition = await timed(SAMPLES, (i) => client.request('textDocument/definition', at(pick(names, i))));
    report({ name: 'lsp corpus: definition p50', value: percentile(definition, 50), unit: 'ms' });
    report({ name: 'lsp corpus: definition p95', value: percentile(definition, 95), unit: 'ms', target: '≤ 10 ms', withinTarget: percentile(definition, 95) <= 10 });
  } finally {
    await client.stop();
  }
}

export async function lspBenchmarks(report: (f: LspFigure) => void): Promise<void> {
  const project = writeProject(LINES);
  const lineCount = project.files.reduce((n, f) => n + fs.readFileSync(f, 'utf8').split('\n').length - 1, 0);
  try {
    // In-process: parse and index every file, resolving includes (instruction table excluded).
    instructionTable();
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const index = new WorkspaceIndex({ includePaths: () => [], defaultMode: () => undefined });
      const t = performance.now();
      for (const f of project.files) index.get(f);
      runs.push(performance.now() - t);
    }
    const inProcess = percentile(runs, 50);
    report({ name: `lsp: initial index, ${lineCount} lines / ${project.files.length} files (in-process, first run)`, value: runs[0], unit: 'ms', target: '≤ 300 ms', withinTarget: runs[0] <= 300 });
    report({ name: 'lsp: initial index (in-process, median of 5)', value: inProcess, unit: 'ms', target: '≤ 300 ms', withinTarget: inProcess <= 300 });

    const started = performance.now();
    const client = await LspClient.start({ root: project.dir, initializationOptions: { diagnosticsDelayMs: 300 } });
    report({ name: 'lsp: server start to the initialize answer', value: performance.now() - started, unit: 'ms' });
    try {
      const stats = await client.request<{ files: number; lines: number; ms: number; wallMs: number }>('kvmGuest/indexStats');
      report({ name: `lsp: initial index by the server process (${stats.lines} lines, ${stats.files} files)`, value: stats.ms, unit: 'ms', target: '≤ 300 ms', withinTarget: stats.ms <= 300 });
      report({ name: 'lsp: initial index by the server, wall clock (yields to requests)', value: stats.wallMs, unit: 'ms' });

      const partFile = path.join(project.dir, 'part3.S');
      const partText = fs.readFileSync(partFile, 'utf8');
      const uri = await client.open(partFile);
      const rootUri = await client.open(project.root);
      // Warm-up: instruction table, first parse of the opened document.
      await client.request('textDocument/hover', client.pos(uri, 2, 10));

      const partLines = partText.split('\n');
      // Positions of names (labels, constants, macro calls) and mnemonics in the part file.
      const names: Array<{ line: number; character: number }> = [];
      const mnemonics: Array<{ line: number; character: number }> = [];
      partLines.forEach((l, line) => {
        let m = /CONST_\d+|part\d+_fn\d+|part\d+_data\d+|M\d+/.exec(l);
        if (m && l.trim() !== '' && !/^\s*part\d+_\w+:/.test(l)) names.push({ line, character: m.index + 1 });
        m = /^\s+([a-z]+)\s/.exec(l);
        if (m) mnemonics.push({ line, character: l.indexOf(m[1]) + 1 });
      });
      const pick = <T>(xs: T[], i: number): T => xs[(i * 7919) % xs.length];

      const hover = await timed(SAMPLES, (i) => client.request('textDocument/hover', client.pos(uri, ...(Object.values(i % 2 ? pick(names, i) : pick(mnemonics, i)) as [number, number]))));
      report({ name: 'lsp: hover p50', value: percentile(hover, 50), unit: 'ms' });
      report({ name: 'lsp: hover p95', value: percentile(hover, 95), unit: 'ms', target: '≤ 10 ms', withinTarget: percentile(hover, 95) <= 10 });

      const completion = await timed(SAMPLES, (i) => {
        const p = pick(names, i);
        return client.request('textDocument/completion', client.pos(uri, p.line, p.character + 1));
      });
      report({ name: 'lsp: completion p50 (operands: labels, constants, registers)', value: percentile(completion, 50), unit: 'ms' });
      report({ name: 'lsp: completion p95', value: percentile(completion, 95), unit: 'ms', target: '≤ 10 ms', withinTarget: percentile(completion, 95) <= 10 });
      const headCompletion = await timed(Math.min(SAMPLES, 100), (i) => {
        const p = pick(mnemonics, i);
        return client.request('textDocument/completion', client.pos(uri, p.line, p.character));
      });
      report({ name: 'lsp: completion p95 (mnemonics)', value: percentile(headCompletion, 95), unit: 'ms', target: '≤ 10 ms', withinTarget: percentile(headCompletion, 95) <= 10 });

      const definition = await timed(SAMPLES, (i) => client.request('textDocument/definition', client.pos(uri, ...(Object.values(pick(names, i)) as [number, number]))));
      report({ name: 'lsp: definition p50', value: percentile(definition, 50), unit: 'ms' });
      report({ name: 'lsp: definition p95', value: percentile(definition, 95), unit: 'ms', target: '≤ 10 ms', withinTarget: percentile(definition, 95) <= 10 });

      // References of names used across the project (a function called from the next part,
      // a constant used in many parts).
      const rootText = fs.readFileSync(project.root, 'utf8');
      const refTargets = [find(partText, 'CONST_', 0, 1), find(rootText, 'part3_fn0', 0, 1)];
      const refs = await timed(40, (i) => client.request('textDocument/references', {
        ...client.pos(i % 2 ? rootUri : uri, refTargets[i % 2].line, refTargets[i % 2].character),
        context: { includeDeclaration: true },
      }));
      report({ name: 'lsp: references p50', value: percentile(refs, 50), unit: 'ms' });
      report({ name: 'lsp: references p95', value: percentile(refs, 95), unit: 'ms', target: '≤ 50 ms', withinTarget: percentile(refs, 95) <= 50 });

      // Diagnostics after an edit: our own checks, then the assembler on the unsaved text.
      const local: number[] = [];
      for (let i = 0; i < 20; i++) {
        const before = client.diagnostics.get(uri);
        const t = performance.now();
        const line = 3 + (i % 20) * 3;
        await client.edit(uri, line, 0, line, 0, i % 2 ? '' : ' ');
        await client.waitFor('diagnostics after an edit', () => (client.diagnostics.get(uri) !== before && client.diagnostics.get(uri)?.version === client.version(uri) ? true : undefined));
        local.push(performance.now() - t);
      }
      report({ name: 'lsp: own diagnostics after an edit p50 (25 ms debounce)', value: percentile(local, 50), unit: 'ms' });
      const asm: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await client.edit(rootUri, 6, 0, 6, 0, i % 2 ? '' : ' ');
        if (i % 2) await client.edit(rootUri, 6, 0, 6, 1, '');
        await client.assembled(project.root, 60000);
        asm.push(performance.now() - t);
      }
      report({ name: 'lsp: assembler diagnostics after an edit p50 (300 ms debounce + gcc)', value: percentile(asm, 50), unit: 'ms' });
    } finally {
      await client.stop();
    }
  } finally {
    fs.rmSync(project.dir, { recursive: true, force: true });
  }
  await lspCorpusBenchmarks(report);
}

if (require.main === module) {
  void (process.env.BENCH_LSP_PART === 'corpus' ? lspCorpusBenchmarks : lspBenchmarks)((f) => {
    const range = f.min !== undefined && f.max !== undefined ? `  [${f.min.toFixed(2)}–${f.max.toFixed(2)}, ${f.rounds ?? '?'} rounds]` : '';
    const target = f.target ? `  (target ${f.target}: ${f.withinTarget ? 'met' : 'NOT met'})` : '';
    console.log(`${f.name.padEnd(78)} ${f.value.toFixed(2).padStart(9)} ${f.unit}${range}${target}`);
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
