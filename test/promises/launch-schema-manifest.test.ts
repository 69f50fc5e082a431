// README, "Debug it": "Attributes (schema in debug-adapter/launch-schema.ts): program, mode, …".
// The schema VS Code validates launch.json against is package.json's debugger contribution, which
// the build copies from launch-schema.ts (scripts/sync-manifest.mjs): the two must be identical, the
// README's list must name exactly the schema's attributes, and every launch configuration the
// manifest and the README offer must satisfy the schema.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli';
import { LAUNCH_SCHEMA } from '../../debug-adapter/launch-schema';

interface Prop {
  type: string | string[];
  enum?: string[];
  default?: unknown;
  items?: { type: string; enum?: string[] };
  pattern?: string;
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const debuggerEntry = (manifest.contributes?.debuggers ?? []).find((d: { type: string }) => d.type === 'kvm-guest');

/** Checks one launch configuration against the schema's properties; returns the problems. */
function problems(config: Record<string, unknown>, props: Record<string, Prop>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === 'type' || key === 'request' || key === 'name') continue;
    const p = props[key];
    if (!p) {
      out.push(`${key}: not in the schema`);
      continue;
    }
    // Snippet bodies hold "^\"…\"" strings (VS Code's escape for variables): strings.
    const jsType = Array.isArray(value) ? 'array' : typeof value;
    const types = Array.isArray(p.type) ? p.type : [p.type];
    if (!types.includes(jsType)) out.push(`${key}: ${jsType}, schema says ${types.join('|')}`);
    if (p.enum && typeof value === 'string' && !value.startsWith('^') && !p.enum.includes(value)) out.push(`${key}: '${value}' not in ${p.enum.join(', ')}`);
  }
  return out;
}

describe('README: the launch schema — launch-schema.ts, package.json and the README agree', function () {
  it('package.json has the kvm-guest debugger whose launch properties are exactly launch-schema.ts\'s', function () {
    assert.ok(debuggerEntry, 'contributes.debuggers has type kvm-guest');
    const launch = debuggerEntry.configurationAttributes?.launch;
    assert.ok(launch, 'configurationAttributes.launch');
    assert.deepEqual(launch.properties, JSON.parse(JSON.stringify(LAUNCH_SCHEMA)));
    assert.deepEqual(launch.required, ['program']);
  });

  it('the README lists exactly the schema\'s attributes, with the defaults and choices it states', function () {
    const start = readme.indexOf('Attributes (schema in `debug-adapter/launch-schema.ts`)');
    assert.ok(start >= 0, 'the README\'s attribute paragraph');
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    const topLevel = paragraph.replace(/\([^()]*\)/g, '');
    const named = [...topLevel.matchAll(/`(\w+)`/g)].map((m) => m[1]);
    assert.deepEqual([...named].sort(), Object.keys(LAUNCH_SCHEMA).sort());
    // "`build` (default true)", "`disassemblySyntax` (`att`/`intel`)", "`accel` (`auto`/`kvm`/`tcg`; …)"
    assert.match(paragraph, /`build` \(default true\)/);
    assert.equal(LAUNCH_SCHEMA.build.default, true);
    assert.match(paragraph, /`disassemblySyntax` \(`att`\/`intel`\)/);
    assert.deepEqual(LAUNCH_SCHEMA.disassemblySyntax.enum, ['att', 'intel']);
    assert.match(paragraph, /`accel`\s+\(`auto`\/`kvm`\/`tcg`/);
    assert.deepEqual(LAUNCH_SCHEMA.accel.enum, ['auto', 'kvm', 'tcg']);
    // The CLI's modes (README: --mode real|protected|paged32|long) are the schema's.
    assert.deepEqual(LAUNCH_SCHEMA.mode.enum, ['real', 'protected', 'paged32', 'long']);
    // README: "Memory: default 2M".
    assert.equal(LAUNCH_SCHEMA.memory.default, '2M');
  });

  it('the README\'s launch configuration, the initial configurations and every snippet satisfy the schema', function () {
    const props = debuggerEntry.configurationAttributes.launch.properties as Record<string, Prop>;
    const example = /```json\n(\{ "type": "kvm-guest"[^\n]*\})\n```/.exec(readme);
    assert.ok(example, 'the README\'s launch configuration');
    const configs: [string, Record<string, unknown>][] = [
      ['README', JSON.parse(example[1])],
      ...(debuggerEntry.initialConfigurations as Record<string, unknown>[]).map((c, i): [string, Record<string, unknown>] => [`initialConfigurations[${i}]`, c]),
      ...(debuggerEntry.configurationSnippets as { label: string; body: Record<string, unknown> }[]).map((s): [string, Record<string, unknown>] => [s.label, s.body]),
    ];
    assert.ok(configs.length >= 3);
    for (const [where, c] of configs) {
      assert.equal(c.type, 'kvm-guest', where);
      assert.equal(c.request, 'launch', where);
      assert.ok('program' in c, `${where}: program is required`);
      assert.deepEqual(problems(c, props), [], where);
    }
  });
});
