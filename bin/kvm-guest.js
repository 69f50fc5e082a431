#!/usr/bin/env node
'use strict';
// The published entry point: the esbuild bundle built by `npm run build` (npm ci runs it via prepare).
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`kvm-guest: ${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
