// Finds the installed package's root, where guests/ (linker scripts, include files) lives.
// The code runs from out/ (tsc), from dist/ (the esbuild bundle) or from an npm install, so the
// depth below the root is not fixed: walk up to the package.json that names this package.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_NAME = 'kvm-guest-studio';

let cachedRoot: string | undefined;

export function findPackageRoot(startDir?: string): string {
  if (startDir === undefined && cachedRoot !== undefined) return cachedRoot;
  const start = path.resolve(startDir ?? __dirname);
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (isOurPackage(path.join(dir, 'package.json'))) {
      if (startDir === undefined) cachedRoot = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`cannot find the ${PACKAGE_NAME} package root in ${start} or any folder above it`);
}

function isOurPackage(file: string): boolean {
  try {
    const json: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof json === 'object' && json !== null && (json as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** guests/: the example guests, linker scripts and the guest runtime header. */
export function guestsDir(root: string = findPackageRoot()): string {
  return path.join(root, 'guests');
}

/** guests/include/: put on every guest's include path (kvm-guest.h). */
export function guestIncludeDir(root: string = findPackageRoot()): string {
  return path.join(guestsDir(root), 'include');
}
