// Where the conformance runner's kvm-unit-tests come from: the pinned release archive
// (kvm-unit-tests.json: URLs and its SHA-256), fetched into .conformance/ and checked before it is
// unpacked, or a tree or archive the user names (--source / KVM_UNIT_TESTS_SRC). The npm registry
// has no kvm-unit-tests package, and the project does not vendor its sources.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface PinnedSource {
  release: string;
  archive: string;
  sha256: string;
  urls: string[];
  tests: string[];
}

export class SourceUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceUnavailable';
  }
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Refuses an archive whose SHA-256 is not the pinned one, naming both. */
export function verifyArchive(file: string, pinned: PinnedSource): void {
  const actual = sha256Of(file);
  if (actual !== pinned.sha256)
    throw new Error(`${file}: SHA-256 ${actual}, but ${pinned.archive} is pinned at ${pinned.sha256} (test/conformance/kvm-unit-tests.json): refusing to build it`);
}

async function download(pinned: PinnedSource, to: string, log: (s: string) => void): Promise<void> {
  const failures: string[] = [];
  for (const url of pinned.urls) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      fs.writeFileSync(to + '.part', Buffer.from(await r.arrayBuffer()));
      fs.renameSync(to + '.part', to);
      log(`fetched ${url}`);
      return;
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      failures.push(`${url}: ${cause ?? (e as Error).message}`);
    }
  }
  throw new SourceUnavailable(
    `kvm-unit-tests ${pinned.release} could not be fetched (${failures.join('; ')}). Put ${pinned.archive} in .conformance/ or in vendor/ of the shared folder beside the project, ` +
      'or give an unpacked tree or the archive with --source or KVM_UNIT_TESTS_SRC',
  );
}

/**
 * Where a copy of the pinned archive may already be: `.conformance/`, or `vendor/` of the shared
 * folder beside the project (where whoever can reach the release's hosts can leave it for machines
 * that cannot: this project's development machines and CI reach only the npm and Debian registries).
 */
export function archiveLocations(pinned: PinnedSource, workDir: string): string[] {
  return [path.join(workDir, pinned.archive), path.join(workDir, '..', '..', 'shared', 'vendor', pinned.archive)];
}

export function localArchive(pinned: PinnedSource, workDir: string): string | undefined {
  return archiveLocations(pinned, workDir).find((f) => fs.existsSync(f));
}

/**
 * The unpacked source tree: `given` (a directory, used as it is, or an archive, checked), else the
 * pinned archive in `workDir` (fetched when missing), checked and unpacked there.
 */
export async function sourceTree(pinned: PinnedSource, workDir: string, given: string | undefined, log: (s: string) => void): Promise<string> {
  if (given && fs.statSync(given, { throwIfNoEntry: false })?.isDirectory()) {
    log(`using the kvm-unit-tests tree ${given} as given (not checked against the pinned release)`);
    return given;
  }
  fs.mkdirSync(workDir, { recursive: true });
  const archive = given ?? localArchive(pinned, workDir) ?? path.join(workDir, pinned.archive);
  if (!fs.existsSync(archive)) {
    if (given) throw new SourceUnavailable(`${given}: no such file or directory`);
    await download(pinned, archive, log);
  }
  verifyArchive(archive, pinned);
  const tree = path.join(workDir, pinned.archive.replace(/\.tar\.(bz2|gz|xz)$/, ''));
  if (!fs.existsSync(path.join(tree, 'configure'))) {
    fs.mkdirSync(tree, { recursive: true });
    const r = spawnSync('tar', ['-xf', archive, '-C', tree, '--strip-components=1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar could not unpack ${archive}: ${r.stderr}`);
  }
  return tree;
}

/** Builds the x86-64 tests (`./configure --arch=x86_64 && make`) unless every wanted .flat exists. */
export function buildTests(tree: string, flats: string[], log: (s: string) => void): void {
  if (flats.every((f) => fs.existsSync(path.join(tree, 'x86', f)))) return;
  const logFile = path.join(tree, 'conformance-build.log');
  log(`building kvm-unit-tests in ${tree} (log: ${logFile})`);
  for (const [cmd, args] of [['./configure', ['--arch=x86_64']], ['make', ['-j2']]] as const) {
    if (cmd === './configure' && fs.existsSync(path.join(tree, 'config.mak'))) continue;
    const r = spawnSync(cmd, [...args], { cwd: tree, encoding: 'utf8', maxBuffer: 64 << 20 });
    fs.appendFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${tree} (exit ${r.status}); see ${logFile}`);
  }
}
