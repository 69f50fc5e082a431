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
  // The end of input ends the server, also when it ends inside a message (a header without its
  // body: the protocol reader would otherwise wait for the rest forever). A short delay lets the
  // messages that did arrive be answered. Exiting runs the toolchain's exit hook, which kills any
  // assembler still running (as a process group) and removes its temporary folder.
  let ending = false;
  const end = (): void => {
    if (ending) return;
    ending = true;
    setTimeout(() => process.exit(0), 100);
  };
  process.stdin.on('end', end);
  process.stdin.on('close', end);
  // Killed by a signal, Node would skip the exit hook; exit instead, with the usual 128+n status.
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) process.on(sig, () => process.exit(128 + n));
}
