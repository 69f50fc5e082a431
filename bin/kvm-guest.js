#!/usr/bin/env node
'use strict';
// The published entry point: the esbuild bundle built by `npm run build` (npm ci runs it via prepare).
require('../dist/cli.js');
