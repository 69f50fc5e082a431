// vscode-languageserver 10 only publishes an `exports` map, which this project's TypeScript
// setting (moduleResolution "node") does not read. Types come from its files, the module itself
// from its public `/node` entry at run time (Node and esbuild both follow `exports`). The
// protocol re-exports it makes are typed here, as far as we use them.
import type * as LspNode from 'vscode-languageserver/lib/node/main';

interface ProtocolPart {
  StreamMessageReader: new (stream: NodeJS.ReadableStream) => unknown;
  StreamMessageWriter: new (stream: NodeJS.WritableStream) => unknown;
  DidChangeWatchedFilesNotification: { type: unknown };
  ResponseError: new (code: number, message: string) => Error;
  ErrorCodes: { InvalidParams: number; InternalError: number };
  LSPErrorCodes: { RequestCancelled: number };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lsp = require('vscode-languageserver/node') as typeof LspNode & ProtocolPart;
export type { Connection } from 'vscode-languageserver/lib/node/main';
