// Name <-> address queries over ELF symbols: `name+offset` for addresses in stack traces and
// disassembly, and addresses for names typed by the user.
import type { ElfSymbol, SymbolBinding, SymbolKind } from './elf-symbols';
import { SHN_ABS, SHN_COMMON, SHN_UNDEF } from './elf-sections';

const ADDRESS_KINDS: ReadonlySet<SymbolKind> = new Set(['func', 'notype', 'object']);
const BINDING_RANK: Record<SymbolBinding, number> = { global: 0, weak: 1, local: 2 };
const KIND_RANK: Record<SymbolKind, number> = { func: 0, object: 1, notype: 2, section: 3, file: 4 };

/** Whether the symbol names a place in the program (not an absolute constant or an undefined name). */
export function isAddressSymbol(s: ElfSymbol): boolean {
  return ADDRESS_KINDS.has(s.kind) && s.sectionIndex !== SHN_UNDEF && s.sectionIndex !== SHN_ABS && s.sectionIndex !== SHN_COMMON;
}

// Global before weak before local; then functions before data before plain labels; then by name.
function better(a: ElfSymbol, b: ElfSymbol): number {
  return BINDING_RANK[a.binding] - BINDING_RANK[b.binding] || KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export class SymbolTable {
  private readonly symbols: ElfSymbol[];
  private readonly byName = new Map<string, ElfSymbol>();
  /** Address symbols grouped by value, groups sorted by value, each group best first. */
  private readonly groups: ElfSymbol[][] = [];

  constructor(symbols: readonly ElfSymbol[]) {
    this.symbols = symbols.slice();
    for (const s of this.symbols) {
      const had = this.byName.get(s.name);
      // One name can be a local in several files: the global one, else the first, wins.
      if (had === undefined || (s.binding !== 'local' && had.binding === 'local')) this.byName.set(s.name, s);
    }
    const placed = this.symbols.filter(isAddressSymbol).sort((a, b) => a.value - b.value || better(a, b));
    for (const s of placed) {
      const last = this.groups[this.groups.length - 1];
      if (last !== undefined && last[0].value === s.value) last.push(s);
      else this.groups.push([s]);
    }
  }

  all(): ElfSymbol[] {
    return this.symbols.slice();
  }

  lookup(name: string): ElfSymbol | undefined {
    return this.byName.get(name);
  }

  /**
   * The symbol `address` is in: the nearest at or below it (global preferred at equal addresses).
   * A sized symbol ends at value + size; a size-0 label reaches up to the next symbol.
   */
  at(address: number): { symbol: ElfSymbol; offset: number } | undefined {
    let lo = 0, hi = this.groups.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.groups[mid][0].value <= address) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const group = this.groups[lo - 1];
    const symbol = group.find((s) => s.size === 0 || address < s.value + s.size);
    return symbol === undefined ? undefined : { symbol, offset: address - symbol.value };
  }
}
