// `npm run package`: platform-specific .vsix files in dist/ (linux-x64, and linux-arm64 since koffi
// ships a prebuilt native module for it), holding only runtime files: the bundles, koffi with the
// target's native module, iced-x86, guests (linker scripts, runtime header, templates, examples),
// grammar, media. Prints each package's size.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['linux-x64', 'linux-arm64'];

execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const copy = (from, to, filter = () => true) => fs.cpSync(from, to, { recursive: true, filter: (src) => filter(src) });
const notBuildOutput = (src) => !/\/build(\/|$)/.test(src) && !/\.map$/.test(src);

/** The koffi native package for a target: from node_modules when installed, else from the registry. */
function koffiNative(target, into) {
  const name = `@koromix/koffi-${target}`;
  const local = path.join(root, 'node_modules', name);
  const dest = path.join(into, 'node_modules', name);
  if (fs.existsSync(local)) return copy(local, dest);
  const version = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'koffi', 'package.json'), 'utf8')).version;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'koffi-'));
  const tgz = execFileSync('npm', ['pack', `${name}@${version}`, '--silent'], { cwd: tmp, encoding: 'utf8' }).trim().split('\n').pop();
  fs.mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(tmp, tgz), '-C', dest, '--strip-components=1']);
  fs.rmSync(tmp, { recursive: true, force: true });
}

for (const target of targets) {
  const stage = path.join(root, 'dist', `stage-${target}`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'dist'), { recursive: true });
  for (const f of fs.readdirSync(path.join(root, 'dist')))
    if (/\.js$/.test(f)) fs.copyFileSync(path.join(root, 'dist', f), path.join(stage, 'dist', f));
  for (const dir of ['media', 'syntaxes']) copy(path.join(root, dir), path.join(stage, dir));
  copy(path.join(root, 'guests'), path.join(stage, 'guests'), notBuildOutput);
  for (const f of ['README.md', 'LICENSE']) fs.copyFileSync(path.join(root, f), path.join(stage, f));
  const manifest = { ...pkg };
  delete manifest.scripts;
  delete manifest.devDependencies;
  // Everything else is bundled by esbuild; koffi (native) and iced-x86 (WebAssembly) ship as files.
  manifest.dependencies = { koffi: pkg.dependencies.koffi, 'iced-x86': pkg.dependencies['iced-x86'] };
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  // koffi without its C++ sources, vendored headers and docs (the native module comes prebuilt).
  const koffiDir = path.join(root, 'node_modules', 'koffi');
  copy(koffiDir, path.join(stage, 'node_modules', 'koffi'), (src) => {
    const rel = path.relative(koffiDir, src);
    return !/^(vendor|doc)(\/|$)/.test(rel) && !/\.(cc|hh|h|c|inc|txt|S|asm)$|CMakeLists/.test(rel) || /LICENSE/.test(rel);
  });
  koffiNative(target, stage);
  copy(path.join(root, 'node_modules', 'iced-x86'), path.join(stage, 'node_modules', 'iced-x86'), (src) => !/\/tests(\/|$)/.test(src));
  fs.writeFileSync(path.join(stage, '.vscodeignore'), '**/*.map\n**/*.ts\n');
  const out = path.join(root, 'dist', `${pkg.name}-${target}-${pkg.version}.vsix`);
  execFileSync(path.join(root, 'node_modules', '.bin', 'vsce'), ['package', '--target', target, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', out], {
    cwd: stage,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const size = fs.statSync(out).size;
  console.log(`${path.relative(root, out)}: ${(size / 1024 / 1024).toFixed(2)} MB`);
  fs.rmSync(stage, { recursive: true, force: true });
}
