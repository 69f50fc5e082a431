// `serveLsp()`: the assembly language server on stdin/stdout (the extension's language client
// and `kvm-guest lsp --stdio` start it this way).
import { AsmLanguageServer } from './server/language-server';
import { lsp } from './server/lsp';

export function serveLsp(): void {
  // stdout carries the protocol: anything printed by mistake goes to stderr instead.
  console.log = console.error;
  console.info = console.error;
  console.warn = console.error;
  console.debug = console.error;
  const connection = lsp.createConnection(
    new lsp.StreamMessageReader(process.stdin),
    new lsp.StreamMessageWriter(process.stdout),
  );
  // A bug in one request must not take the server down with it.
  process.on('uncaughtException', (e) => connection.console.error(`uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => connection.console.error(`unhandled rejection: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
  new AsmLanguageServer(connection).listen();
}
