// Breakpoints as DAP shows them, and source lines bound through a program's line table: shared by
// the x86 session and the ppc64 debugger.
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugInfo } from '../program/debug-info';
import { Breakpoint, hitConditionMet, LineBinding } from './breakpoints';
import { EvalContext, evaluateCondition, interpolate } from '../inspect/expression';
import { linearRef, parseMemoryReference } from './guest-address-space';

export function toDapBreakpoint(bp: Breakpoint): DebugProtocol.Breakpoint {
  const out: DebugProtocol.Breakpoint = { id: bp.id, verified: bp.verified, message: bp.message };
  if (bp.kind === 'source') {
    out.line = bp.line;
    out.source = { path: bp.path, name: path.basename(bp.path!) };
  }
  if (bp.addresses.length) out.instructionReference = linearRef(bp.addresses[0]);
  return out;
}

/** Binds a source line to addresses through the line table of `info` (undefined: not built yet). */
export function bindLineIn(info: DebugInfo | undefined, file: string, line: number): LineBinding {
  if (!info) return { reason: 'the program is not built yet' };
  const r = info.lines.resolveBreakpoint(file, line);
  if ('reason' in r) return r;
  return { line: r.line, addresses: r.addresses.map((a) => BigInt(a)) };
}

/**
 * Counts a hit on each breakpoint at a stop and says which of them stop the guest: a condition that
 * is false or a hit count not yet met lets it go on; a logpoint logs (`log`) instead of stopping; a
 * condition or hit count that cannot be evaluated is reported (`warn`) and stops.
 */
export function breakpointsThatStop(at: Breakpoint[], ctx: EvalContext, say: { warn(text: string): void; log(text: string): void }): number[] {
  const stopping: number[] = [];
  for (const bp of at) {
    if (bp.condition) {
      try {
        if (!evaluateCondition(bp.condition, ctx)) continue;
      } catch (e) {
        say.warn(`breakpoint condition '${bp.condition}' failed: ${(e as Error).message}; stopping`);
      }
    }
    bp.hits++;
    if (bp.hitCondition) {
      try {
        if (!hitConditionMet(bp.hitCondition, bp.hits)) continue;
      } catch (e) {
        say.warn((e as Error).message);
      }
    }
    if (bp.logMessage) {
      say.log(interpolate(bp.logMessage, ctx));
      continue;
    }
    stopping.push(bp.id);
  }
  return stopping;
}

/**
 * The answer to DAP's dataBreakpointInfo: `name` as a memory reference (asAddress), a symbol, or an
 * expression with an address (only while stopped); a name with none of these cannot be watched.
 */
export function dataBreakpointInfo(
  args: DebugProtocol.DataBreakpointInfoArguments,
  resolve: { symbol(name: string): bigint | undefined; expression?(name: string): bigint | undefined },
  accessTypes: DebugProtocol.DataBreakpointAccessType[],
): DebugProtocol.DataBreakpointInfoResponse['body'] {
  let address: bigint | undefined;
  if (args.asAddress) address = parseMemoryReference(args.name)?.address;
  else address = resolve.symbol(args.name);
  if (address === undefined && !args.asAddress && resolve.expression) {
    try {
      address = resolve.expression(args.name);
    } catch {
      address = undefined;
    }
  }
  const bytes = args.bytes ?? 4;
  return address === undefined
    ? { dataId: null, description: `'${args.name}' has no address to watch` }
    : { dataId: `0x${address.toString(16)}:${bytes}`, description: `${bytes} bytes at 0x${address.toString(16)}`, accessTypes, canPersist: true };
}
