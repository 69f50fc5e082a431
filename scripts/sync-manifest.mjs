// Writes the launch attributes' JSON schema (debug-adapter/launch-schema.ts, the one source) into
// package.json's debugger contribution. Run after `tsc -p tsconfig.test.json`; a test checks sync.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const { LAUNCH_SCHEMA } = require(path.join(root, 'out', 'debug-adapter', 'launch-schema.js'));
const file = path.join(root, 'package.json');
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
const debuggerEntry = pkg.contributes.debuggers.find((d) => d.type === 'kvm-guest');
debuggerEntry.configurationAttributes.launch.properties = LAUNCH_SCHEMA;
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
console.log('package.json: launch attributes synced');
