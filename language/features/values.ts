// The numeric value of a .equ/.set constant or an object-like #define, following the names its
// expression uses through the files assembled with it.
import { findDefinitions } from '../index/resolve';
import type { WorkspaceIndex } from '../index/workspace-index';
import { evaluate } from '../parser/expression';
import type { Definition } from '../parser/types';

export function constantValue(index: WorkspaceIndex, def: Definition, depth = 0): bigint | undefined {
  if (depth > 16 || def.value === undefined || def.params !== undefined) return undefined;
  const text = def.kind === 'define' && def.value === '' ? '1' : def.value;
  if (text === '') return undefined;
  const v = evaluate(text, {
    cpp: false,
    depth,
    lookup: (name, d) => {
      const defs = def.file === '' ? [] : findDefinitions(index, def.file, name);
      const target = defs.find((x) => x.kind === 'define') ?? defs.find((x) => x.kind === 'equ' || x.kind === 'set');
      if (target === undefined) {
        const pre = index.get(def.file)?.defines.get(name);
        if (pre !== undefined && pre.params === undefined) {
          const pv = evaluate(pre.body || '1', { cpp: false, depth: d + 1, lookup: () => undefined });
          return 'value' in pv ? pv.value : 'unknown';
        }
        return undefined;
      }
      return constantValue(index, target, d + 1) ?? 'unknown';
    },
  });
  return 'value' in v ? v.value : undefined;
}
