// Where the extension's bundled programs are, and how to run them with the extension host's own
// runtime (in desktop VS Code that is Electron, which runs as plain Node with ELECTRON_RUN_AS_NODE).
import path from 'node:path';
import type * as vscode from 'vscode';

export interface ExtensionPaths {
  root: string;
  adapter: string;
  cli: string;
  languageServer: string;
  templates: string;
}

export function extensionPaths(context: vscode.ExtensionContext): ExtensionPaths {
  const root = context.extensionPath;
  return {
    root,
    adapter: path.join(root, 'dist', 'debug-adapter.js'),
    cli: path.join(root, 'dist', 'cli.js'),
    languageServer: path.join(root, 'dist', 'language-server.js'),
    templates: path.join(root, 'guests', 'templates'),
  };
}

/** Environment for child processes run with process.execPath as Node. */
export function nodeEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...(process.env as Record<string, string>), ELECTRON_RUN_AS_NODE: '1', ...extra };
}

export const GUEST_SOURCE = /\.(S|s|sx|c)$/;
