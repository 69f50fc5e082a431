// Starts the assembly language server (dist/language-server.js) in its own process.
import fs from 'node:fs';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import type { ExtensionPaths } from './paths';

export async function startLanguageClient(paths: ExtensionPaths): Promise<LanguageClient | undefined> {
  if (!fs.existsSync(paths.languageServer)) return undefined;
  const run = { module: paths.languageServer, transport: TransportKind.stdio, options: { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } } };
  const serverOptions: ServerOptions = { run, debug: run };
  const settings = vscode.workspace.getConfiguration('kvmGuest');
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: 'gas-x86' }],
    synchronize: { configurationSection: 'kvmGuest', fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{S,s,sx,h,inc}') },
    initializationOptions: {
      // In Restricted Mode the server analyses the text but runs no assembler.
      runAssembler: vscode.workspace.isTrusted,
      includePaths: settings.get<string[]>('includePaths', []),
      toolchain: settings.get('toolchain'),
      undefinedSymbolHints: settings.get<boolean>('undefinedSymbolHints', true),
      compileCommands: settings.get<string>('compileCommands', '') || undefined,
    },
  };
  const client = new LanguageClient('kvmGuestAsm', 'KVM Guest Assembly', serverOptions, clientOptions);
  await client.start();
  return client;
}
