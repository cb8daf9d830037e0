#!/usr/bin/env node
// Empties dist/ before `npm run build`, so that the package never ships the build of a
// module that has since been moved or deleted (tsc only adds and overwrites files).
'use strict';
const { rmSync } = require('node:fs');
const { join } = require('node:path');

rmSync(join(__dirname, '..', 'dist'), { recursive: true, force: true });
