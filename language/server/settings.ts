// Server settings: from initializationOptions and `workspace/didChangeConfiguration`
// (section `kvmGuest`). Every field is optional; wrong types are ignored.
import * as path from 'node:path';
import { isCpuMode, type CpuMode } from '../../debug-adapter/toolchain/modes';
import type { ToolOverrides } from '../../debug-adapter/toolchain/tools';

export interface Settings {
  /** Extra include folders (after the file's folder and guests/include), like BuildOptions.includePaths. */
  includePaths: string[];
  /** Mode for sources that do not say (no .code16/32/64, no `kvm-guest: mode=` marker). */
  defaultMode?: CpuMode;
  /** Run the assembler/compiler on unsaved text (debounced). */
  assemblerDiagnostics: boolean;
  diagnosticsDelayMs: number;
  tools: ToolOverrides;
  extraFlags: string[];
  defines: Record<string, string>;
  inlayHints: boolean;
  /** Information hints on names found nowhere in the build or the workspace (resolved at link time?). */
  undefinedSymbolHints: boolean;
  /** A compile_commands.json (or the folder holding it) to read the build's flags from. */
  compileCommands?: string;
}

export const DEFAULT_SETTINGS: Settings = {
  includePaths: [],
  assemblerDiagnostics: true,
  diagnosticsDelayMs: 300,
  tools: {},
  extraFlags: [],
  defines: {},
  inlayHints: true,
  undefinedSymbolHints: true,
};

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;

/** Merges `raw` (possibly `{ kvmGuest: {...} }`) into `base`; relative include paths are resolved against `root`. */
export function readSettings(raw: unknown, base: Settings, root: string | undefined): Settings {
  let o = raw as Record<string, unknown> | undefined;
  if (o && typeof o === 'object' && o.kvmGuest && typeof o.kvmGuest === 'object') o = o.kvmGuest as Record<string, unknown>;
  if (!o || typeof o !== 'object') return base;
  const s: Settings = { ...base };
  const inc = strings(o.includePaths);
  if (inc) s.includePaths = inc.map((p) => (path.isAbsolute(p) || root === undefined ? p : path.resolve(root, p)));
  if (isCpuMode(o.defaultMode)) s.defaultMode = o.defaultMode;
  if (typeof o.assemblerDiagnostics === 'boolean') s.assemblerDiagnostics = o.assemblerDiagnostics;
  // The extension's names: `runAssembler` (false in Restricted Mode), `toolchain` (kvmGuest.toolchain.*).
  if (typeof o.runAssembler === 'boolean') s.assemblerDiagnostics = o.runAssembler;
  if (typeof o.diagnosticsDelayMs === 'number' && o.diagnosticsDelayMs >= 0) s.diagnosticsDelayMs = o.diagnosticsDelayMs;
  const tools = o.tools ?? o.toolchain;
  if (tools && typeof tools === 'object') {
    const t: ToolOverrides = {};
    for (const k of ['as', 'ld', 'gcc', 'objcopy'] as const) {
      const v = (tools as Record<string, unknown>)[k];
      if (typeof v === 'string' && v.trim() !== '') t[k] = v; // '' means "the one on PATH"
    }
    s.tools = t;
  }
  const flags = strings(o.extraFlags);
  if (flags) s.extraFlags = flags;
  if (o.defines && typeof o.defines === 'object') {
    s.defines = Object.fromEntries(Object.entries(o.defines as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  }
  if (typeof o.inlayHints === 'boolean') s.inlayHints = o.inlayHints;
  if (typeof o.undefinedSymbolHints === 'boolean') s.undefinedSymbolHints = o.undefinedSymbolHints;
  if (typeof o.compileCommands === 'string') {
    const c = o.compileCommands.trim();
    s.compileCommands = c === '' ? undefined : path.isAbsolute(c) || root === undefined ? c : path.resolve(root, c);
  }
  return s;
}
