// The breakpoints a client set (source lines, instructions, functions, data), bound to linear
// addresses once the program is known, with their conditions, hit counts and log messages.

export type BreakpointKind = 'source' | 'instruction' | 'function';

export interface BreakpointOptions {
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

export interface Breakpoint extends BreakpointOptions {
  id: number;
  kind: BreakpointKind;
  /** Source breakpoints: the client's path and requested line. */
  path?: string;
  requestedLine?: number;
  /** Where it is bound (source: the line it moved to). */
  line?: number;
  /** Instruction breakpoints: the reference and offset; function breakpoints: the name. */
  reference?: string;
  offset?: number;
  name?: string;
  addresses: bigint[];
  verified: boolean;
  /** Why it is not verified, or where it moved. */
  message?: string;
  hits: number;
}

import type { WatchKind } from '../vmm/accelerator';

export interface DataBreakpoint {
  dataId: string;
  /** Guest-physical [start, end). */
  start: number;
  end: number;
  /** Which accesses stop the guest. */
  kind: WatchKind;
  condition?: string;
  hitCondition?: string;
  hits: number;
}

/** A source line → addresses binding, or why there is none. */
export type LineBinding = { line: number; addresses: bigint[] } | { reason: string };

/**
 * Whether a hit count satisfies a VS Code hit condition: "5" or "==5" (the fifth hit), ">5", ">=5",
 * "<5", "<=5", "%5" (every fifth). Throws on anything else so the user learns the syntax.
 */
export function hitConditionMet(condition: string, hits: number): boolean {
  const m = /^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$/.exec(condition);
  if (!m) throw new Error(`invalid hit count '${condition}': use N, ==N, >N, >=N, <N, <=N or %N`);
  const n = Number(m[2]);
  switch (m[1]) {
    case '>': return hits > n;
    case '>=': return hits >= n;
    case '<': return hits < n;
    case '<=': return hits <= n;
    case '%': return n > 0 && hits % n === 0;
    default: return hits === n;
  }
}

export class BreakpointStore {
  private nextId = 1;
  private readonly bySource = new Map<string, Breakpoint[]>();
  private instruction: Breakpoint[] = [];
  private functions: Breakpoint[] = [];
  data: DataBreakpoint[] = [];

  private make(kind: BreakpointKind, o: BreakpointOptions & Partial<Breakpoint>): Breakpoint {
    return {
      id: this.nextId++, kind, condition: o.condition || undefined, hitCondition: o.hitCondition || undefined,
      logMessage: o.logMessage || undefined, addresses: [], verified: false, hits: 0, ...o,
    } as Breakpoint;
  }

  setSource(path: string, specs: (BreakpointOptions & { line: number })[], bind?: (path: string, line: number) => LineBinding): Breakpoint[] {
    const list = specs.map((s) => {
      const bp = this.make('source', { ...s, path, requestedLine: s.line, line: s.line });
      if (bind) this.bindSource(bp, bind);
      else bp.message = 'the program is not built yet: this breakpoint binds once it is';
      return bp;
    });
    this.bySource.set(path, list);
    return list;
  }

  private bindSource(bp: Breakpoint, bind: (path: string, line: number) => LineBinding): void {
    const b = bind(bp.path!, bp.requestedLine!);
    if ('reason' in b) {
      bp.addresses = [];
      bp.verified = false;
      bp.message = b.reason;
      bp.line = bp.requestedLine;
    } else {
      bp.addresses = b.addresses;
      bp.verified = true;
      bp.line = b.line;
      bp.message = b.line !== bp.requestedLine ? `line ${bp.requestedLine} has no code: moved to line ${b.line}` : undefined;
    }
  }

  /** Binds (again) every source breakpoint, e.g. after a build; returns those whose binding changed. */
  rebindSources(bind: (path: string, line: number) => LineBinding): Breakpoint[] {
    const changed: Breakpoint[] = [];
    for (const list of this.bySource.values())
      for (const bp of list) {
        const before = JSON.stringify([bp.verified, bp.line, bp.addresses.map(String), bp.message]);
        this.bindSource(bp, bind);
        if (JSON.stringify([bp.verified, bp.line, bp.addresses.map(String), bp.message]) !== before) changed.push(bp);
      }
    return changed;
  }

  setInstruction(specs: (BreakpointOptions & { reference: string; offset?: number; address?: bigint; error?: string })[]): Breakpoint[] {
    this.instruction = specs.map((s) =>
      this.make('instruction', {
        condition: s.condition, hitCondition: s.hitCondition, logMessage: s.logMessage, reference: s.reference, offset: s.offset,
        addresses: s.address !== undefined ? [s.address] : [], verified: s.address !== undefined, message: s.error,
      }),
    );
    return this.instruction;
  }

  setFunctions(specs: (BreakpointOptions & { name: string; address?: bigint; error?: string })[]): Breakpoint[] {
    this.functions = specs.map((s) =>
      this.make('function', {
        condition: s.condition, hitCondition: s.hitCondition, name: s.name,
        addresses: s.address !== undefined ? [s.address] : [], verified: s.address !== undefined, message: s.error,
      }),
    );
    return this.functions;
  }

  /**
   * Binds (again) every function breakpoint by its symbol, e.g. after a build (clients set them
   * before launching); returns those whose binding changed.
   */
  rebindFunctions(lookup: (name: string) => bigint | undefined, built: boolean): Breakpoint[] {
    const changed: Breakpoint[] = [];
    for (const bp of this.functions) {
      const address = lookup(bp.name!);
      const before = JSON.stringify([bp.verified, bp.addresses.map(String), bp.message]);
      bp.addresses = address !== undefined ? [address] : [];
      bp.verified = address !== undefined;
      bp.message = address !== undefined ? undefined : built ? `no symbol '${bp.name}' in the program` : 'the program is not built yet';
      if (JSON.stringify([bp.verified, bp.addresses.map(String), bp.message]) !== before) changed.push(bp);
    }
    return changed;
  }

  all(): Breakpoint[] {
    return [...[...this.bySource.values()].flat(), ...this.instruction, ...this.functions];
  }

  /** Every linear address a verified breakpoint is bound to. */
  addresses(): bigint[] {
    const set = new Set<bigint>();
    for (const bp of this.all()) if (bp.verified) for (const a of bp.addresses) set.add(a);
    return [...set];
  }

  at(pc: bigint): Breakpoint[] {
    return this.all().filter((bp) => bp.verified && bp.addresses.includes(pc));
  }

  resetHits(): void {
    for (const bp of this.all()) bp.hits = 0;
    for (const d of this.data) d.hits = 0;
  }
}
