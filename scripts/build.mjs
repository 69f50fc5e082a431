// Bundles the CLI and the vCPU worker with esbuild. The worker must stay a separate file:
// it is started with `new Worker(path)` next to the module that starts it.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: true,
  external: ['koffi', 'iced-x86'],
  logLevel: 'warning',
  absWorkingDir: root,
};
await build({
  ...common,
  entryPoints: {
    cli: 'debug-adapter/cli-entry.ts',
    'debug-adapter': 'debug-adapter/adapter-entry.ts',
    'vcpu-worker': 'debug-adapter/vmm/vcpu-worker.ts',
    'io-worker': 'debug-adapter/vmm/io-worker.ts',
    'language-server': 'language/server-entry.ts',
  },
  outdir: 'dist',
});
// The extension runs in VS Code's extension host, which provides `vscode`.
await build({
  ...common,
  entryPoints: { extension: 'extension/extension.ts' },
  external: ['vscode', 'koffi', 'iced-x86'],
  outdir: 'dist',
});
