// Walks the workspace folders for assembly sources, headers and C sources, handing each to `visit` in
// batches so requests keep being answered while a large workspace is indexed.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SKIP_DIRS = new Set(['node_modules', '.git', 'out', 'dist', 'build', '.bench', '.vscode-test', '.hg', '.svn']);
// C sources too: their functions and variables are what entry code calls (definition of `call bootmain`).
const EXTENSIONS = new Set(['.S', '.s', '.sx', '.asm', '.inc', '.h', '.c']);
const MAX_FILES = 10000;
const BATCH = 25;

/** Calls `visit` for every source file; `visit` returns false to stop. */
export async function scanWorkspace(roots: readonly string[], visit: (file: string) => boolean): Promise<number> {
  let count = 0;
  const queue = [...roots];
  let sinceYield = 0;
  while (queue.length > 0 && count < MAX_FILES) {
    const dir = queue.shift() as string;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) queue.push(full);
        continue;
      }
      if (!e.isFile() || !EXTENSIONS.has(path.extname(e.name))) continue;
      if (!visit(full)) return count;
      count++;
      if (++sinceYield >= BATCH) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }
  return count;
}
