// Drives the language server as a separate process over stdio with vscode-languageserver-protocol,
// the way an editor does.
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Diagnostic } from 'vscode-languageserver-types';

// The protocol package publishes only an `exports` map (see language/server/lsp.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require('vscode-languageserver-protocol/node') as {
  createProtocolConnection(reader: unknown, writer: unknown): ProtocolConnection;
  StreamMessageReader: new (s: NodeJS.ReadableStream) => unknown;
  StreamMessageWriter: new (s: NodeJS.WritableStream) => unknown;
  CancellationTokenSource: new () => { token: unknown; cancel(): void };
};

interface ProtocolConnection {
  listen(): void;
  sendRequest<R>(method: string, params?: unknown, token?: unknown): Promise<R>;
  sendNotification(method: string, params?: unknown): Promise<void>;
  onNotification(method: string, handler: (params: any) => void): void;
  onRequest(method: string, handler: (params: any) => unknown): void;
  dispose(): void;
}

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The server compiled by the same tsc run as these tests. */
export const SERVER_OUT = path.join(ROOT, 'out', 'language', 'server-entry.js');
export const SERVER_DIST = path.join(ROOT, 'dist', 'language-server.js');

export const uriOf = (file: string): string => pathToFileURL(file).href;

export interface StartOptions {
  root?: string;
  initializationOptions?: unknown;
  env?: NodeJS.ProcessEnv;
  server?: string;
  capabilities?: unknown;
  /** Node flags for the server process (profiling). */
  execArgv?: string[];
}

export class LspClient {
  readonly logs: string[] = [];
  readonly diagnostics = new Map<string, { version?: number; diagnostics: Diagnostic[] }>();
  private readonly versions = new Map<string, number>();
  private readonly listeners: Array<() => void> = [];
  indexed?: { files: number; lines: number; ms: number };
  stderr = '';
  exited = false;

  private constructor(readonly child: ChildProcess, readonly conn: ProtocolConnection) {}

  static async start(opts: StartOptions = {}): Promise<LspClient> {
    const server = opts.server ?? SERVER_OUT;
    const child = spawn(process.execPath, [...(opts.execArgv ?? []), server, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout as NodeJS.ReadableStream), new rpc.StreamMessageWriter(child.stdin as NodeJS.WritableStream));
    const client = new LspClient(child, conn);
    child.stderr?.on('data', (b: Buffer) => (client.stderr += b.toString()));
    child.on('exit', () => {
      client.exited = true;
      client.wake();
    });
    conn.onNotification('window/logMessage', (p: { message: string }) => {
      client.logs.push(p.message);
      client.wake();
    });
    conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; version?: number; diagnostics: Diagnostic[] }) => {
      client.diagnostics.set(p.uri, { version: p.version, diagnostics: p.diagnostics });
      client.wake();
    });
    conn.onNotification('kvmGuest/indexed', (p: { files: number; lines: number; ms: number }) => {
      client.indexed = p;
      client.wake();
    });
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('workspace/inlayHint/refresh', () => null);
    conn.onRequest('workspace/semanticTokens/refresh', () => null);
    conn.listen();
    const root = opts.root;
    await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: root ? uriOf(root) : null,
      workspaceFolders: root ? [{ uri: uriOf(root), name: path.basename(root) }] : null,
      capabilities: opts.capabilities ?? {
        workspace: { inlayHint: { refreshSupport: true }, didChangeWatchedFiles: { dynamicRegistration: true } },
        textDocument: {
          hover: { contentFormat: ['markdown'] },
          completion: { completionItem: { snippetSupport: true }, completionList: { itemDefaults: ['editRange'] } },
        },
      },
      initializationOptions: opts.initializationOptions,
    });
    await conn.sendNotification('initialized', {});
    return client;
  }

  private wake(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** Resolves when `check` returns a value (re-checked on every notification), or rejects after `ms`. */
  async waitFor<T>(what: string, check: () => T | undefined, ms = 20000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (this.exited) throw new Error(`server exited while waiting for ${what}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; logs:\n${this.logs.join('\n')}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitIndexed(): Promise<{ files: number; lines: number; ms: number }> {
    return this.request('kvmGuest/indexStats');
  }

  request<R>(method: string, params?: unknown): Promise<R> {
    return this.conn.sendRequest<R>(method, params);
  }

  async open(file: string, text?: string, languageId = 'gas'): Promise<string> {
    const uri = uriOf(file);
    this.versions.set(uri, 1);
    await this.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId, version: 1, text: text ?? fs.readFileSync(file, 'utf8') },
    });
    return uri;
  }

  /** Replaces the whole text (a change without a range). */
  async change(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  /** An incremental edit. */
  async edit(uri: string, line: number, character: number, endLine: number, endCharacter: number, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [{ range: { start: { line, character }, end: { line: endLine, character: endCharacter } }, text }],
    });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  version(uri: string): number {
    return this.versions.get(uri) ?? 0;
  }

  /** Diagnostics for the current version that satisfy `pred` (default: the assembler has run). */
  async diagnosticsFor(uri: string, pred: (d: Diagnostic[]) => boolean = () => true, ms = 20000): Promise<Diagnostic[]> {
    const want = this.versions.get(uri);
    return this.waitFor(`diagnostics of ${uri}`, () => {
      const d = this.diagnostics.get(uri);
      if (d === undefined || (want !== undefined && d.version !== undefined && d.version !== want)) return undefined;
      return pred(d.diagnostics) ? d.diagnostics : undefined;
    }, ms);
  }

  /** Waits until the assembler has reported on `file` for the current version (log line). */
  async assembled(file: string, ms = 30000): Promise<void> {
    const uri = uriOf(file);
    const v = this.versions.get(uri) ?? 0;
    const prefix = `assembler: ${file} v${v} `;
    await this.waitFor(`assembler run of ${file} v${v}`, () => (this.logs.some((l) => l.startsWith(prefix) && !l.includes('cancelled') && !l.endsWith(' started')) ? true : undefined), ms);
  }

  pos(uri: string, line: number, character: number): { textDocument: { uri: string }; position: { line: number; character: number } } {
    return { textDocument: { uri }, position: { line, character } };
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    try {
      await Promise.race([this.request('shutdown'), new Promise((r) => setTimeout(r, 3000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    await new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      // A loaded machine can take seconds to let the server clean up and exit: SIGKILL (which
      // leaves its temp folders behind for the leak check to find) only after a long wait.
      const t = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 15000);
      this.child.on('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.conn.dispose();
  }
}

/** Position of the `nth` occurrence of `needle` in `text` (0-based line/character), plus `offset` characters. */
export function find(text: string, needle: string, nth = 0, offset = 0): { line: number; character: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' (#${nth}) not in text`);
  }
  at += offset;
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  return { line, character: at - (before.lastIndexOf('\n') + 1) };
}
