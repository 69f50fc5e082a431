// Breakpoints as DAP shows them, and source lines bound through a program's line table: shared by
// the x86 session and the ppc64 debugger.
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugInfo } from '../program/debug-info';
import type { Breakpoint, LineBinding } from './breakpoints';
import { linearRef } from './guest-address-space';

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
