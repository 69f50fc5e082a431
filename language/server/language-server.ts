// The language server: documents and workspace indexing, debounced diagnostics, and the LSP
// requests wired to the feature modules. Every handler is guarded: a failure is logged and
// answered with "nothing", never a crash.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { CompletionItem, Position, TextDocumentIdentifier } from 'vscode-languageserver-types';
import { sourceKindOf } from '../../debug-adapter/toolchain/build';
import { detectModeFromSource, type CpuMode } from '../../debug-adapter/toolchain/modes';
import { ASSUMED_MODE } from '../index/build-mode';
import { guestIncludeDir } from '../../debug-adapter/toolchain/package-root';
import { BuildArtifacts } from '../build-info/build-artifacts';
import { CompileCommands } from '../build-info/compile-commands';
import { completion, resolveCompletion } from '../features/completion';
import { foldingRanges } from '../features/folding';
import { hover } from '../features/hover';
import { inlayHints } from '../features/inlay-hints';
import { definition, highlights, prepareRename, references, rename, RenameError } from '../features/navigation';
import { semanticTokens, SEMANTIC_LEGEND } from '../features/semantic-tokens';
import { signatureHelp } from '../features/signature-help';
import { documentSymbols, workspaceSymbols } from '../features/symbols';
import { instructionTable } from '../instruction-data/iced-table';
import { warmUpParser } from '../index/warm-up';
import { readText, WorkspaceIndex } from '../index/workspace-index';
import { UriMap } from '../util/uri';
import type { ServerContext } from './context';
import { lsp, type Connection } from './lsp';
import { DEFAULT_SETTINGS, readSettings, type Settings } from './settings';
import { DiagnosticsScheduler } from './diagnostics-scheduler';
import { scanWorkspace } from './workspace-scan';
import { FileArchCache } from '../ppc64/file-arch';
import { powerCompletion, powerHover } from '../ppc64/power-features';

interface PositionParams {
  textDocument: TextDocumentIdentifier;
  position: Position;
}
interface Token {
  isCancellationRequested: boolean;
}


export class AsmLanguageServer {
  private readonly documents = new lsp.TextDocuments(TextDocument);
  private readonly uris = new UriMap();
  private readonly artifacts = new BuildArtifacts();
  private readonly compileCommands = new CompileCommands(() => this.roots, () => this.settings.compileCommands);
  private readonly index: WorkspaceIndex;
  private settings: Settings = DEFAULT_SETTINGS;
  private roots: string[] = [];
  private readonly docByPath = new Map<string, string>(); // path → uri of open documents
  /** path → the document version whose text is on disk (none while it differs). */
  private readonly cleanVersion = new Map<string, number | undefined>();
  private readonly diagnostics: DiagnosticsScheduler;
  private readonly fileArch = new FileArchCache();
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private canRefreshInlayHints = false;
  private canWatchFiles = false;
  private indexing: Promise<void> | undefined;
  private shuttingDown = false;
  readonly ctx: ServerContext;

  constructor(private readonly connection: Connection) {
    warmUpParser();
    this.index = new WorkspaceIndex({
      includePaths: () => [guestIncludeDirSafe(), ...this.settings.includePaths],
      defaultMode: () => this.settings.defaultMode ?? modeOfFlags(this.settings.extraFlags),
      defines: () => this.settings.defines,
      compileFlags: (file) => this.compileCommands.flagsFor(file),
    });
    this.index.openTextOf = (file) => this.documentFor(file)?.getText();
    this.ctx = {
      index: this.index,
      uris: this.uris,
      artifacts: this.artifacts,
      settings: () => this.settings,
      document: (file) => this.documentFor(file),
      lineText: (file, line) => {
        const doc = this.documentFor(file);
        if (doc) return doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$|\r$/, '');
        return this.index.lineText(file, line);
      },
      buildMode: (file) => this.buildMode(file),
      archOf: (file) => this.fileArch.of(file, this.documentFor(file)?.getText() ?? this.index.textOf(file)),
      clientSupportsEditRange: false,
      clientSupportsSnippets: false,
    };
    this.diagnostics = new DiagnosticsScheduler({
      connection,
      index: this.index,
      uris: this.uris,
      ctx: this.ctx,
      settings: () => this.settings,
      stopped: () => this.shuttingDown,
      isOpen: (file) => this.docByPath.has(file),
      uriOf: (file) => this.docByPath.get(file),
      documentFor: (file) => this.documentFor(file),
      documentForUri: (uri) => this.documents.get(uri),
      unsaved: (file) => this.unsaved(file),
      buildMode: (file) => this.buildMode(file),
      fresh: (file) => this.fresh(file),
      guard: (what, f) => this.guard(what, f),
    });
  }

  listen(): void {
    const c = this.connection;
    c.onInitialize((params: { initializationOptions?: unknown; workspaceFolders?: Array<{ uri: string }> | null; rootUri?: string | null; capabilities?: Record<string, any> }) => {
      const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
      this.roots = folders.map((u) => this.uris.toPath(u)).filter((p): p is string => p !== undefined);
      this.settings = readSettings(params.initializationOptions, DEFAULT_SETTINGS, this.roots[0]);
      const ws = params.capabilities?.workspace ?? {};
      this.canRefreshInlayHints = ws.inlayHint?.refreshSupport === true;
      this.canWatchFiles = ws.didChangeWatchedFiles?.dynamicRegistration === true;
      const defaults = params.capabilities?.textDocument?.completion?.completionList?.itemDefaults;
      this.ctx.clientSupportsEditRange = Array.isArray(defaults) && defaults.includes('editRange');
      this.ctx.clientSupportsSnippets = params.capabilities?.textDocument?.completion?.completionItem?.snippetSupport === true;
      return {
        capabilities: {
          textDocumentSync: { openClose: true, change: 2, save: { includeText: false } },
          hoverProvider: true,
          completionProvider: { triggerCharacters: ['.', '%', '$', '#', '\\'], resolveProvider: true },
          signatureHelpProvider: { triggerCharacters: [' ', ','], retriggerCharacters: [','] },
          definitionProvider: true,
          referencesProvider: true,
          documentHighlightProvider: true,
          renameProvider: { prepareProvider: true },
          documentSymbolProvider: true,
          workspaceSymbolProvider: true,
          foldingRangeProvider: true,
          semanticTokensProvider: { legend: SEMANTIC_LEGEND, full: true, range: true },
          inlayHintProvider: true,
          workspace: { workspaceFolders: { supported: true } },
        },
        serverInfo: { name: 'kvm-guest-asm', version: '0.1.0' },
      };
    });
    c.onInitialized(() => {
      if (this.canWatchFiles) {
        void c.client.register(lsp.DidChangeWatchedFilesNotification.type, {
          watchers: [{ globPattern: '**/*.{S,s,sx,asm,inc,h,c}' }, { globPattern: '**/build/*.elf' }, { globPattern: '**/compile_commands.json' }],
        }).catch(() => undefined);
      }
      // Then the instruction table, so the first hover does not wait for it.
      this.indexing = this.indexWorkspace().finally(() => setTimeout(() => instructionTable(), 0));
    });
    c.onDidChangeConfiguration((p: { settings?: unknown }) => {
      const key = (x: Settings): string => JSON.stringify([x.includePaths, x.defaultMode, x.defines, x.compileCommands, modeOfFlags(x.extraFlags)]);
      const before = key(this.settings);
      this.settings = readSettings(p.settings, this.settings, this.roots[0]);
      if (key(this.settings) !== before) this.index.reset();
      for (const file of this.docByPath.keys()) this.diagnostics.schedule(file, true);
    });
    c.onDidChangeWatchedFiles((p: { changes: Array<{ uri: string; type: number }> }) => {
      for (const ch of p.changes) {
        const file = this.uris.toPath(ch.uri);
        if (file === undefined) continue;
        if (file.endsWith('.elf')) {
          this.elfChanged();
          continue;
        }
        if (path.basename(file) === 'compile_commands.json') {
          // The build's flags changed: every mode, define and include may differ.
          this.compileCommands.invalidate();
          this.index.reset();
          for (const f of this.docByPath.keys()) this.diagnostics.schedule(f, true);
          continue;
        }
        const changed = ch.type === 3 ? this.index.remove(file) : this.index.diskChanged(file);
        this.afterIndexChange(changed);
      }
    });

    this.documents.onDidOpen((e: { document: TextDocument }) => this.guard('open', () => this.opened(e.document)));
    this.documents.onDidChangeContent((e: { document: TextDocument }) => this.guard('change', () => this.changed(e.document)));
    this.documents.onDidSave((e: { document: TextDocument }) => this.guard('save', () => {
      const file = this.uris.toPath(e.document.uri);
      if (file !== undefined) this.cleanVersion.set(file, e.document.version);
    }));
    this.documents.onDidClose((e: { document: TextDocument }) => this.guard('close', () => this.closed(e.document)));

    // POWER files (ppc64 guests) get POWER hovers and completion; everything label-based is shared.
    const power = (file: string): boolean => this.ctx.archOf(file).arch === 'ppc64';
    c.onHover((p: PositionParams) => this.at(p, 'hover', (file) =>
      power(file) ? powerHover(this.ctx, file, p.position.line, p.position.character) : hover(this.ctx, file, p.position.line, p.position.character)));
    c.onCompletion((p: PositionParams) => this.at(p, 'completion', (file) =>
      power(file) ? powerCompletion(this.ctx, file, p.position.line, p.position.character) : completion(this.ctx, file, p.position.line, p.position.character)));
    c.onCompletionResolve((item: CompletionItem) => this.guard('completion resolve', () => resolveCompletion(this.ctx, item)) ?? item);
    c.onSignatureHelp((p: PositionParams) => this.at(p, 'signature help', (file) => (power(file) ? null : signatureHelp(this.ctx, file, p.position.line, p.position.character))));
    c.onDefinition((p: PositionParams) => this.at(p, 'definition', (file) => definition(this.ctx, file, p.position.line, p.position.character)));
    c.onReferences(async (p: PositionParams & { context: { includeDeclaration: boolean } }, token: Token) => {
      await yieldToMessages();
      if (token.isCancellationRequested) return this.cancelled();
      return this.at(p, 'references', (file) => references(this.ctx, file, p.position.line, p.position.character, p.context.includeDeclaration, () => token.isCancellationRequested));
    });
    c.onDocumentHighlight((p: PositionParams) => this.at(p, 'highlight', (file) => highlights(this.ctx, file, p.position.line, p.position.character)));
    c.onPrepareRename((p: PositionParams) => this.at(p, 'prepare rename', (file) => prepareRename(this.ctx, file, p.position.line, p.position.character)));
    c.onRenameRequest((p: PositionParams & { newName: string }) => {
      try {
        return this.at(p, 'rename', (file) => rename(this.ctx, file, p.position.line, p.position.character, p.newName), true);
      } catch (e) {
        if (e instanceof RenameError) return new lsp.ResponseError(lsp.ErrorCodes.InvalidParams, e.message);
        return null;
      }
    });
    c.onDocumentSymbol((p: { textDocument: TextDocumentIdentifier }) => this.doc(p, 'document symbols', (file) => documentSymbols(this.ctx, file)));
    c.onWorkspaceSymbol(async (p: { query: string }, token: Token) => {
      await yieldToMessages();
      if (token.isCancellationRequested) return this.cancelled();
      await this.indexing;
      if (token.isCancellationRequested) return this.cancelled();
      try {
        const r = await workspaceSymbols(this.ctx, p.query, () => token.isCancellationRequested);
        return r === 'cancelled' ? this.cancelled() : r;
      } catch (e) {
        this.connection.console.error(`workspace symbols failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        return [];
      }
    });
    c.onFoldingRanges((p: { textDocument: TextDocumentIdentifier }) => this.doc(p, 'folding', (file) => foldingRanges(this.ctx, file)));
    c.languages.semanticTokens.on((p: { textDocument: TextDocumentIdentifier }, token: Token) => {
      if (token.isCancellationRequested) return { data: [] };
      return this.doc(p, 'semantic tokens', (file) => semanticTokens(this.ctx, file)) ?? { data: [] };
    });
    c.languages.semanticTokens.onRange((p: { textDocument: TextDocumentIdentifier; range: { start: Position; end: Position } }) =>
      this.doc(p, 'semantic tokens', (file) => semanticTokens(this.ctx, file, p.range.start.line, p.range.end.line)) ?? { data: [] });
    c.languages.inlayHint.on((p: { textDocument: TextDocumentIdentifier; range: { start: Position; end: Position } }) =>
      this.doc(p, 'inlay hints', (file) => inlayHints(this.ctx, file, p.range.start.line, p.range.end.line, this.unsaved(file))) ?? []);

    // Custom requests, for tests and tools: index statistics and a wait for pending diagnostics.
    c.onRequest('kvmGuest/indexStats', async () => {
      await this.indexing;
      return this.stats;
    });

    c.onShutdown(() => {
      this.shuttingDown = true;
      this.diagnostics.stop();
      for (const w of this.watchers.values()) w.close();
    });
    this.documents.listen(c);
    c.listen();
  }

  private stats = { files: 0, lines: 0, ms: 0, wallMs: 0 };

  // ---- documents --------------------------------------------------------------------------

  private unsaved(file: string): boolean {
    const doc = this.documentFor(file);
    return doc !== undefined && doc.version !== this.cleanVersion.get(file);
  }

  private documentFor(file: string): TextDocument | undefined {
    const uri = this.docByPath.get(file);
    return uri === undefined ? undefined : this.documents.get(uri);
  }

  private opened(doc: TextDocument): void {
    const file = this.uris.toPath(doc.uri);
    if (file === undefined) return;
    this.docByPath.set(file, doc.uri);
    const text = doc.getText();
    // readText: regular files of bounded size only (a FIFO would block the server).
    const disk = readText(file);
    this.cleanVersion.set(file, disk === text ? doc.version : undefined);
    const changed = this.index.update(file, text, doc.version, true);
    this.afterIndexChange(changed);
    this.diagnostics.schedule(file, true);
    this.watchBuildDir(file);
  }

  private changed(doc: TextDocument): void {
    const file = this.uris.toPath(doc.uri);
    if (file === undefined) return;
    if (!this.docByPath.has(file)) return;
    // TextDocuments reports the opening as a change too: nothing new then.
    if (this.index.get(file)?.version === doc.version) return;
    this.diagnostics.schedule(file, true);
  }

  private closed(doc: TextDocument): void {
    const file = this.uris.toPath(doc.uri);
    if (file === undefined) return;
    this.docByPath.delete(file);
    this.cleanVersion.delete(file);
    this.diagnostics.forget(file, doc.uri);
    this.afterIndexChange(this.index.close(file));
  }

  /** Re-parses an open document whose text is newer than its parse. */
  private fresh(file: string): void {
    const doc = this.documentFor(file);
    if (doc === undefined) return;
    const parsed = this.index.get(file);
    if (parsed !== undefined && parsed.version === doc.version && this.index.isOpen(file)) return;
    this.afterIndexChange(this.index.update(file, doc.getText(), doc.version, true));
  }

  private afterIndexChange(changed: string[]): void {
    // Whatever sees a changed file may gain or lose definitions: re-check the open ones.
    const affected = new Set<string>();
    for (const f of changed) for (const g of this.index.scope(f)) affected.add(g);
    for (const f of affected) if (this.docByPath.has(f)) this.diagnostics.schedule(f, false);
  }










  // ---- modes, build outputs, workspace ----------------------------------------------------

  private buildMode(file: string): CpuMode {
    const parsed = this.index.get(file);
    if (parsed?.detectedMode) return parsed.detectedMode;
    if (parsed === undefined) {
      const text = this.documentFor(file)?.getText();
      const m = text !== undefined ? detectModeFromSource(text, file) : undefined;
      if (m) return m;
    }
    return this.settings.defaultMode ?? modeOfFlags(this.settings.extraFlags) ?? ASSUMED_MODE;
  }

  private watchBuildDir(file: string): void {
    for (const root of this.index.roots(file)) {
      if (sourceKindOf(root) === undefined) continue;
      const dir = path.dirname(root);
      if (this.watchers.has(dir)) continue;
      try {
        // Watch the source folder (recursive watching is not portable): build/ appears in it,
        // and its own watcher reports the ELF rewrites.
        const w = fs.watch(dir, { persistent: false }, (_e, name) => {
          if (name === 'build') this.watchElfDir(path.join(dir, 'build'));
        });
        w.on('error', () => undefined);
        this.watchers.set(dir, w);
        this.watchElfDir(path.join(dir, 'build'));
      } catch {
        // no watching: hints refresh on the next request
      }
    }
  }

  private watchElfDir(dir: string): void {
    if (this.watchers.has(dir) || !fs.existsSync(dir)) return;
    try {
      const w = fs.watch(dir, { persistent: false }, (_e, name) => {
        if (name && String(name).endsWith('.elf')) this.elfChanged();
      });
      w.on('error', () => undefined);
      this.watchers.set(dir, w);
    } catch {
      // ignore
    }
  }

  private elfChanged(): void {
    if (!this.canRefreshInlayHints || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.connection.languages.inlayHint.refresh().catch(() => undefined);
    }, 200);
  }

  private async indexWorkspace(): Promise<void> {
    const started = performance.now();
    let files = 0;
    let lines = 0;
    let busy = 0;
    await scanWorkspace(this.roots, (file) => {
      if (this.shuttingDown) return false;
      const t = performance.now();
      const p = this.index.get(file);
      busy += performance.now() - t;
      files++;
      lines += p?.lineCount ?? 0;
      return true;
    });
    const round = (n: number): number => Math.round(n * 10) / 10;
    // `ms`: time spent indexing; `wallMs` also counts the pauses that let requests through.
    this.stats = { files, lines, ms: round(busy), wallMs: round(performance.now() - started) };
    this.connection.console.log(`indexed ${files} files (${lines} lines) in ${this.stats.ms} ms (${this.stats.wallMs} ms wall)`);
    void this.connection.sendNotification('kvmGuest/indexed', this.stats);
    for (const f of this.docByPath.keys()) this.diagnostics.schedule(f, false);
  }

  // ---- guards -----------------------------------------------------------------------------

  private cancelled(): unknown {
    return new lsp.ResponseError(lsp.LSPErrorCodes.RequestCancelled, 'cancelled');
  }

  private at<T>(p: PositionParams, what: string, f: (file: string) => T, rethrow = false): T | null {
    return this.doc(p, what, f, rethrow);
  }

  private doc<T>(p: { textDocument: TextDocumentIdentifier }, what: string, f: (file: string) => T, rethrow = false): T | null {
    const file = this.uris.toPath(p.textDocument.uri);
    if (file === undefined) return null;
    try {
      this.fresh(file);
      return f(file);
    } catch (e) {
      if (rethrow) throw e;
      this.connection.console.error(`${what} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return null;
    }
  }

  private guard<T>(what: string, f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      this.connection.console.error(`${what} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return undefined;
    }
  }
}

/** The bitness `extraFlags` ask for (-m16/-m32/-m64, --32/--64), as a mode. */
function modeOfFlags(flags: readonly string[]): CpuMode | undefined {
  let mode: CpuMode | undefined;
  for (const f of flags) {
    const m = /^(?:-m|--|-Wa,--)(16|32|64)$/.exec(f);
    if (m) mode = m[1] === '64' ? 'long' : m[1] === '16' ? 'real' : 'protected';
  }
  return mode;
}

function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function guestIncludeDirSafe(): string {
  try {
    return guestIncludeDir();
  } catch {
    return path.join(__dirname, 'guests', 'include');
  }
}
