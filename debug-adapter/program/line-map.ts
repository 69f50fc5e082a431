// Source line <-> address queries over decoded DWARF line rows: what the debugger asks when it
// stops (locate), sets breakpoints (resolveBreakpoint) and steps by line (lineRange).
import * as path from 'node:path';
import type { LineRow } from './dwarf-lines';

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export type BreakpointResolution =
  | { file: string; line: number; addresses: number[] }
  | { reason: string };

export interface LineMapOptions {
  /**
   * Which function an address belongs to (e.g. the start of its enclosing symbol). A breakpoint
   * gets the lowest address of its line in each function, so a line inlined or repeated in several
   * functions stops in each. Without it, each sequence counts as one function.
   */
  groupOf?: (address: number) => number | string | undefined;
}

interface Sequence {
  start: number;
  /** One past the last instruction (the end_sequence row's address). */
  end: number;
  /** Rows by address, without the end_sequence row. */
  rows: LineRow[];
}

const sameLine = (a: LineRow, b: LineRow): boolean => a.line === b.line && a.file === b.file;

export class LineMap {
  private readonly sequences: Sequence[] = [];
  /** file → line → is_stmt rows (with their sequence) on that line. */
  private readonly stmts = new Map<string, Map<number, Array<{ address: number; seq: number }>>>();
  private readonly sortedLines = new Map<string, number[]>();
  private readonly fileList: string[];
  private readonly fileSet: ReadonlySet<string>;
  private readonly starts: number[];
  private readonly known: number[];

  constructor(rows: readonly LineRow[], private readonly options: LineMapOptions = {}) {
    let current: LineRow[] = [];
    for (const row of rows) {
      if (!row.endSequence) {
        current.push(row);
        continue;
      }
      // Stable sort: rows at one address keep their order (the last one describes the address).
      const sorted = current.slice().sort((a, b) => a.address - b.address);
      if (sorted.length > 0 && row.address > sorted[0].address) this.sequences.push({ start: sorted[0].address, end: row.address, rows: sorted });
      current = [];
    }
    // Rows after the last end_sequence have no known end: ignored.
    this.sequences.sort((a, b) => a.start - b.start);
    this.starts = this.sequences.map((s) => s.start);
    const files = new Set<string>();
    this.sequences.forEach((s, seq) => {
      for (const r of s.rows) {
        files.add(r.file);
        if (!r.isStmt) continue;
        let byLine = this.stmts.get(r.file);
        if (byLine === undefined) this.stmts.set(r.file, (byLine = new Map()));
        let list = byLine.get(r.line);
        if (list === undefined) byLine.set(r.line, (list = []));
        list.push({ address: r.address, seq });
      }
    });
    for (const [file, byLine] of this.stmts) this.sortedLines.set(file, [...byLine.keys()].sort((a, b) => a - b));
    this.fileList = [...files].sort();
    this.fileSet = files;
    const all = new Set<number>();
    for (const s of this.sequences) for (const r of s.rows) all.add(r.address);
    this.known = [...all].sort((a, b) => a - b);
  }

  /** The source files that have rows. */
  files(): string[] {
    return this.fileList.slice();
  }

  /** Known instruction starts (all row addresses but sequence ends), sorted and unique. */
  boundaries(): number[] {
    return this.known.slice();
  }

  /** The row that covers `address`: the last one at or below it in its sequence. */
  locate(address: number): SourceLocation | undefined {
    const hit = this.find(address);
    if (hit === undefined) return undefined;
    const r = hit.seq.rows[hit.index];
    return { file: r.file, line: r.line, column: r.column };
  }

  /** [start, end) of the contiguous rows on the same file and line as `address`. */
  lineRange(address: number): { start: number; end: number } | undefined {
    const hit = this.find(address);
    if (hit === undefined) return undefined;
    const rows = hit.seq.rows;
    let first = hit.index;
    while (first > 0 && sameLine(rows[first - 1], rows[hit.index])) first--;
    let next = hit.index + 1;
    while (next < rows.length && sameLine(rows[next], rows[hit.index])) next++;
    return { start: rows[first].address, end: next < rows.length ? rows[next].address : hit.seq.end };
  }

  /**
   * Addresses for a breakpoint at `file`:`line`: the lowest is_stmt address of the line in each
   * function. A line without code moves to the nearest following line of the file that has some.
   */
  resolveBreakpoint(file: string, line: number): BreakpointResolution {
    const match = this.matchFile(file);
    if (typeof match !== 'string') return match;
    const lines = this.sortedLines.get(match) ?? [];
    const name = path.posix.basename(match);
    let lo = 0, hi = lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lines[mid] < line) lo = mid + 1;
      else hi = mid;
    }
    if (lo === lines.length) return { reason: `no code at line ${line} of ${name} (and none after it)` };
    const target = lines[lo];
    const lowest = new Map<string, number>();
    for (const { address, seq } of this.stmts.get(match)?.get(target) ?? []) {
      const key = `${seq}:${this.options.groupOf?.(address) ?? ''}`;
      const had = lowest.get(key);
      if (had === undefined || address < had) lowest.set(key, address);
    }
    return { file: match, line: target, addresses: [...new Set(lowest.values())].sort((a, b) => a - b) };
  }

  /**
   * The table's name for `file`: the same absolute normalized path, or else the one file with the
   * same base name (editors may open a source through a symlink or a copy).
   */
  matchFile(file: string): string | { reason: string } {
    const wanted = path.posix.normalize(file);
    if (this.fileSet.has(wanted)) return wanted;
    const base = path.posix.basename(wanted);
    const same = this.fileList.filter((f) => path.posix.basename(f) === base);
    if (same.length === 1) return same[0];
    if (same.length > 1) return { reason: `${base} matches several files of this program (${same.join(', ')}): open the one you mean by its path` };
    return { reason: `${base} is not part of this program` };
  }

  private find(address: number): { seq: Sequence; index: number } | undefined {
    // Last sequence starting at or below the address; overlapping sequences are searched backwards.
    let lo = 0, hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= address) lo = mid + 1;
      else hi = mid;
    }
    for (let s = lo - 1; s >= 0; s--) {
      const seq = this.sequences[s];
      if (address >= seq.end) continue;
      let a = 0, b = seq.rows.length;
      while (a < b) {
        const mid = (a + b) >> 1;
        if (seq.rows[mid].address <= address) a = mid + 1;
        else b = mid;
      }
      return { seq, index: a - 1 };
    }
    return undefined;
  }
}
