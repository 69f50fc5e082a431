// file: URIs <-> absolute paths. Answers use the URI the client sent for a file when it sent one
// (editors differ in how they percent-encode).
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export class UriMap {
  private readonly known = new Map<string, string>();

  /** The path of a file: URI (remembering its spelling), undefined for other schemes. */
  toPath(uri: string): string | undefined {
    if (!uri.startsWith('file:')) return undefined;
    try {
      const p = path.normalize(fileURLToPath(uri));
      this.known.set(p, uri);
      return p;
    } catch {
      return undefined;
    }
  }

  toUri(file: string): string {
    return this.known.get(file) ?? pathToFileURL(file).href;
  }
}
