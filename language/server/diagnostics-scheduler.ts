// Diagnostics of open files: our own checks shortly after each edit, the assembler (debounced,
// a newer edit cancels a run still going) on the unsaved text, both published together.
import * as path from 'node:path';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DiagnosticSeverity, type Diagnostic, type Position } from 'vscode-languageserver-types';
import { sourceKindOf } from '../../debug-adapter/toolchain/build';
import type { BuildDiagnostic } from '../../debug-adapter/toolchain/diagnostics';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';
import { assembleForDiagnostics } from '../diagnostics/assemble';
import { assemblePpc64ForDiagnostics } from '../ppc64/assemble-ppc64';
import { localChecks, type LocalProblem } from '../features/local-checks';
import { findDefinitions } from '../index/resolve';
import type { WorkspaceIndex } from '../index/workspace-index';
import type { UriMap } from '../util/uri';
import type { ServerContext } from './context';
import type { Connection } from './lsp';
import type { Settings } from './settings';

const LOCAL_DELAY_MS = 25;

/** A tool message at its real place; for one inside macro expansions, the uses (outermost last). */
type PlacedDiagnostic = BuildDiagnostic & { invokedFrom?: Array<{ file: string; line: number; macro?: string }> };

/** What the scheduler needs from the server. */
export interface DiagnosticsHost {
  connection: Connection;
  index: WorkspaceIndex;
  uris: UriMap;
  ctx: ServerContext;
  settings(): Settings;
  stopped(): boolean;
  isOpen(file: string): boolean;
  uriOf(file: string): string | undefined;
  documentFor(file: string): TextDocument | undefined;
  documentForUri(uri: string): TextDocument | undefined;
  unsaved(file: string): boolean;
  buildMode(file: string): CpuMode;
  /** Re-parses an open document whose text is newer than its parse. */
  fresh(file: string): void;
  guard<T>(what: string, f: () => T): T | undefined;
}

export class DiagnosticsScheduler {
  private readonly localProblems = new Map<string, Diagnostic[]>();
  /** root → file → diagnostics from the last assembler run of that root. */
  private readonly buildProblems = new Map<string, Map<string, Diagnostic[]>>();
  private readonly buildTimers = new Map<string, NodeJS.Timeout>();
  private readonly buildRuns = new Map<string, AbortController>();
  private readonly localQueue = new Set<string>();
  private localTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: DiagnosticsHost) {}

  /** The editor closed `file`: forget its diagnostics and stop its runs. */
  forget(file: string, uri: string): void {
    this.buildRuns.get(file)?.abort();
    const t = this.buildTimers.get(file);
    if (t) clearTimeout(t);
    this.buildTimers.delete(file);
    this.buildProblems.delete(file);
    this.localProblems.delete(file);
    void this.host.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  stop(): void {
    for (const a of this.buildRuns.values()) a.abort();
    for (const t of this.buildTimers.values()) clearTimeout(t);
    if (this.localTimer) clearTimeout(this.localTimer);
  }

  schedule(file: string, withBuild: boolean): void {
    if (this.host.stopped()) return;
    this.localQueue.add(file);
    if (this.localTimer === undefined) {
      this.localTimer = setTimeout(() => {
        this.localTimer = undefined;
        const files = [...this.localQueue];
        this.localQueue.clear();
        for (const f of files) this.host.guard('checks', () => this.runLocal(f));
      }, LOCAL_DELAY_MS);
    }
    if (withBuild && this.host.settings().assemblerDiagnostics) {
      for (const root of this.host.index.roots(file)) {
        if (sourceKindOf(root) === undefined) continue;
        if (root !== file && !this.host.isOpen(root)) continue;
        this.scheduleBuild(root);
      }
    }
  }

  private runLocal(file: string): void {
    if (!this.host.isOpen(file)) return;
    this.host.fresh(file);
    const settings = this.host.settings();
    // Our own checks know x86 (modes, operands): a POWER file gets only the cross assembler's word.
    const problems = this.host.ctx.archOf(file).arch === 'ppc64' ? [] : localChecks(this.host.index, file, {
      reportMissingIncludes: !settings.assemblerDiagnostics,
      buildNames: new Set([...Object.keys(settings.defines), ...(this.host.index.flagsOf(file)?.defines.map(([k]) => k) ?? [])]),
      undefinedHints: settings.undefinedSymbolHints,
    });
    this.localProblems.set(file, problems.map((p) => this.toDiagnostic(p)));
    this.publish(file);
  }

  private toDiagnostic(p: LocalProblem): Diagnostic {
    return {
      range: { start: { line: p.line, character: p.start }, end: { line: p.line, character: p.end } },
      severity: p.severity === 'error' ? DiagnosticSeverity.Error : p.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
      source: 'kvm-guest',
      code: p.code,
      message: p.message,
      relatedInformation: p.related?.map((r) => ({
        location: { uri: this.host.uris.toUri(r.file), range: { start: { line: r.line, character: r.start }, end: { line: r.line, character: r.end } } },
        message: r.message,
      })),
    };
  }

  private scheduleBuild(root: string): void {
    const prev = this.buildTimers.get(root);
    if (prev) clearTimeout(prev);
    this.buildTimers.set(root, setTimeout(() => {
      this.buildTimers.delete(root);
      void this.runBuild(root);
    }, this.host.settings().diagnosticsDelayMs));
  }

  private async runBuild(root: string): Promise<void> {
    // A newer edit cancels the run still going for the older text.
    const running = this.buildRuns.get(root);
    if (running) running.abort();
    const controller = new AbortController();
    this.buildRuns.set(root, controller);
    const doc = this.host.documentFor(root);
    const text = doc?.getText() ?? this.host.index.textOf(root);
    if (text === undefined) return;
    const version = doc?.version ?? 0;
    const overlays: Array<{ file: string; text: string }> = [];
    for (const f of this.host.index.closure(root)) {
      if (f === root || !this.host.unsaved(f)) continue;
      const d = this.host.documentFor(f);
      if (d) overlays.push({ file: f, text: d.getText() });
    }
    const mode = this.host.buildMode(root);
    // The build's own flags (compile_commands.json) after ours, so they win where they overlap.
    const flags = this.host.index.flagsOf(root);
    const extraFlags = [...this.host.settings().extraFlags, ...(flags?.argv ?? [])];
    this.host.connection.console.log(`assembler: ${root} v${version} started`);
    try {
      const arch = this.host.ctx.archOf(root);
      const r = arch.arch === 'ppc64'
        ? await assemblePpc64ForDiagnostics({ file: root, text, endian: arch.endian, signal: controller.signal })
        : await assembleForDiagnostics({
          file: root, text, mode, includePaths: this.host.settings().includePaths, defines: this.host.settings().defines,
          tools: this.host.settings().tools, extraFlags, overlays, signal: controller.signal,
        });
      if (controller.signal.aborted) return;
      const byFile = new Map<string, Diagnostic[]>();
      const add = (file: string, d: Diagnostic): void => {
        let list = byFile.get(file);
        if (list === undefined) byFile.set(file, (list = []));
        list.push(d);
      };
      if (r.toolProblem) {
        add(root, {
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: DiagnosticSeverity.Warning, source: 'kvm-guest',
          code: 'toolchain', message: `Assembler diagnostics are off: ${r.toolProblem}. Our own checks still run.`,
        });
      }
      for (const d of this.placeMacroMessages(r.diagnostics)) {
        add(d.file, this.buildDiagnostic(d));
        // A message inside a macro body in another file is also shown where this file uses the macro.
        const use = d.invokedFrom?.[d.invokedFrom.length - 1];
        if (use && d.severity === 'error' && use.file === root && d.file !== root) {
          add(root, {
            range: this.lineRange(root, Math.max(0, use.line - 1)), severity: DiagnosticSeverity.Error, source: d.tool,
            message: `in ${path.basename(d.file)}:${d.line} (macro ${use.macro ?? ''}): ${d.message}`,
          });
        }
        // A message inside an included file is also shown at the #include line.
        const outer = d.includedFrom?.[d.includedFrom.length - 1];
        if (outer && d.severity === 'error' && outer.file === root) {
          add(root, {
            range: this.lineRange(root, Math.max(0, outer.line - 1)), severity: DiagnosticSeverity.Error, source: d.tool,
            message: `in ${path.basename(d.file)}:${d.line}: ${d.message}`,
          });
        }
      }
      const before = this.buildProblems.get(root);
      this.buildProblems.set(root, byFile);
      const touched = new Set<string>([...byFile.keys(), ...(before?.keys() ?? [])]);
      for (const f of touched) this.publish(f);
      this.host.connection.console.log(`assembler: ${root} v${version} (${arch.arch === 'ppc64' ? `ppc64 ${arch.endian}-endian` : mode}) → ${r.diagnostics.length} message(s) in ${r.ms} ms`);
    } catch (e) {
      if (controller.signal.aborted || (e as Error).name === 'AbortError') {
        this.host.connection.console.log(`assembler: ${root} v${version} cancelled (a newer edit arrived)`);
        return;
      }
      this.host.connection.console.error(`assembler run for ${root} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    } finally {
      if (this.buildRuns.get(root) === controller) this.buildRuns.delete(root);
    }
  }

  /**
   * GNU as reports a message inside a macro body at the body's line number but under the name of
   * the file being assembled, then one `Info: macro invoked from here` line per expansion level
   * (innermost first). The outermost use is right; from there inwards, each use names the macro
   * whose body holds the next location, which gives that location's real file. The Info lines
   * become related information of the message.
   */
  private placeMacroMessages(list: readonly BuildDiagnostic[]): PlacedDiagnostic[] {
    const isUse = (d: BuildDiagnostic): boolean => d.severity === 'note' && d.tool === 'as' && d.message === 'macro invoked from here';
    const out: PlacedDiagnostic[] = [];
    for (let i = 0; i < list.length; i++) {
      const d = list[i];
      if (isUse(d)) continue;
      const uses: BuildDiagnostic[] = [];
      for (let j = i + 1; j < list.length && isUse(list[j]); j++) uses.push(list[j]);
      if (uses.length === 0) {
        out.push(d);
        continue;
      }
      const locs = [d, ...uses].map((x) => ({ file: x.file, line: x.line }));
      const invokedFrom: Array<{ file: string; line: number; macro?: string }> = [];
      for (let k = locs.length - 1; k >= 1; k--) {
        const site = locs[k];
        const macro = this.headAt(site.file, site.line - 1);
        invokedFrom.unshift({ file: site.file, line: site.line, macro });
        if (macro === undefined) continue;
        const def = findDefinitions(this.host.index, site.file, macro).find((x) => x.kind === 'macro' && x.body !== undefined);
        const inner = locs[k - 1];
        if (def?.body && def.file !== '' && inner.line - 1 >= def.body.start && inner.line - 1 <= def.body.end) inner.file = def.file;
      }
      out.push({ ...d, file: locs[0].file, line: locs[0].line, invokedFrom });
    }
    return out;
  }

  /** The statement head (macro name) on a line of a file. */
  private headAt(file: string, line: number): string | undefined {
    const parsed = this.host.index.get(file);
    const i = parsed?.lineStatement[line];
    if (parsed === undefined || i === undefined || i < 0) return undefined;
    for (let k = i; k < parsed.statements.length && parsed.statements[k].line === line; k++) {
      const h = parsed.statements[k].head;
      if (h && h.kind === 'mnemonic') return h.text;
    }
    return undefined;
  }

  private buildDiagnostic(d: PlacedDiagnostic): Diagnostic {
    const line = Math.max(0, d.line - 1);
    let range = this.lineRange(d.file, line);
    if (d.column !== undefined && d.line > 0) range = { start: { line, character: d.column - 1 }, end: range.end.character > d.column - 1 ? range.end : { line, character: d.column } };
    const related = [
      ...(d.includedFrom ?? []).map((i) => ({
        location: { uri: this.host.uris.toUri(i.file), range: this.lineRange(i.file, Math.max(0, i.line - 1)) },
        message: 'included from here',
      })),
      ...(d.invokedFrom ?? []).map((i) => ({
        location: { uri: this.host.uris.toUri(i.file), range: this.lineRange(i.file, Math.max(0, i.line - 1)) },
        message: i.macro ? `macro '${i.macro}' invoked here` : 'macro invoked here',
      })),
    ];
    return {
      range,
      severity: d.severity === 'error' ? DiagnosticSeverity.Error : d.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
      source: d.tool,
      message: d.message,
      relatedInformation: related.length > 0 ? related : undefined,
    };
  }

  /** The code part of a line (no leading blanks, no trailing comment). */
  private lineRange(file: string, line: number): { start: Position; end: Position } {
    const text = this.host.ctx.lineText(file, line);
    const parsed = this.host.index.get(file);
    const comment = parsed?.tokens[line]?.find((t) => t.kind === 'comment' && t.start > 0);
    let end = comment ? comment.start : text.length;
    while (end > 0 && /\s/.test(text[end - 1])) end--;
    const start = Math.min(text.length - text.trimStart().length, end);
    return { start: { line, character: start }, end: { line, character: end > start ? end : text.length } };
  }

  publish(file: string): void {
    const uri = this.host.uriOf(file);
    if (uri === undefined) return;
    const build: Diagnostic[] = [];
    for (const m of this.buildProblems.values()) build.push(...(m.get(file) ?? []));
    // Where the assembler already reports an error, our preview of the same line gives way.
    const asmErrorLines = new Set(build.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => d.range.start.line));
    const local = (this.localProblems.get(file) ?? []).filter((d) => !(asmErrorLines.has(d.range.start.line) && (d.code === 'mode' || d.code === 'duplicate-label' || d.code === 'syntax')));
    const doc = this.host.documentForUri(uri);
    void this.host.connection.sendDiagnostics({ uri, version: doc?.version, diagnostics: [...local, ...build] });
  }
}
