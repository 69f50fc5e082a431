// Every launch attribute the adapter reads has a schema entry with a description.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LAUNCH_SCHEMA } from '../../debug-adapter/launch-schema';

describe('launch configuration schema', function () {
  it('describes every attribute of LaunchArguments, and only those', function () {
    const src = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'debug-adapter', 'session.ts'), 'utf8');
    const block = /export interface LaunchArguments[^{]*\{([^}]*)\}/.exec(src)![1];
    const attrs = [...block.matchAll(/^\s*(\w+)\??:/gm)].map((m) => m[1]).sort();
    assert.deepEqual(Object.keys(LAUNCH_SCHEMA).sort(), attrs);
    for (const [name, entry] of Object.entries(LAUNCH_SCHEMA)) assert.ok(entry.description.length > 20, `${name} has a description`);
  });
});
