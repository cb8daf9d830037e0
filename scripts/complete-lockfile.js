#!/usr/bin/env node
// The npm registry reachable here lacks some platform-specific optional packages (darwin,
// win32, android... builds of native helpers that jest, lmdb and esbuild list as optional).
// A fresh resolution (`npm install <new package>`, or an install without a lock) then
// leaves them out of package-lock.json, and `npm ci` refuses the lock as "missing" them.
// This adds an entry for each such package, with the os/cpu it is built for, so that
// `npm ci` accepts the lock and skips them on this platform, as it would anyway.
//
// The file is written exactly as npm itself writes a lock file (npm's key order: plain
// values before objects, `name`, `version`, `resolved`, `integrity`... first, the rest in
// English locale order), so that a later `npm install`, which rewrites the file in that form,
// changes nothing (a lock written in any other key or path order is rewritten by every
// `npm install`, and `git status` never comes out clean).
//
// Run it after every `npm install` that changes the lock: `node scripts/complete-lockfile.js`.
// `--check` changes nothing and exits 1 if the lock is incomplete or not in npm's form.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseArgs } = require('node:util');

const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'aix'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'mips64el', 'ppc64', 's390x', 'riscv64'];

/** The os and cpu of a platform build, guessed from its name (`@esbuild/linux-arm64`), or undefined. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((part) => OS.includes(part));
  const arm = parts.includes('eabi') || parts.includes('gnueabihf') || parts.includes('musleabihf');
  const cpu = parts.find((part) => CPU.includes(part)) ?? (arm ? 'arm' : undefined);
  return os && cpu ? { os, cpu } : undefined;
}

/** Adds the missing platform builds to a parsed lock; returns how many it added. */
function complete(lock) {
  const packages = lock.packages;
  let added = 0;
  for (const [path, entry] of Object.entries(packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const key = `node_modules/${name}`;
      if (packages[key] !== undefined || packages[`${path}/node_modules/${name}`] !== undefined) continue;
      const platform = platformOf(name);
      if (platform === undefined) continue; // not a platform build: leave it to npm
      packages[key] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, os: [platform.os], cpu: [platform.cpu] };
      added++;
    }
  }
  return added;
}

// npm's own lock-file formatting: @npmcli/arborist's Shrinkwrap#toString, which is
// json-stringify-nice with these preferred keys.
const PREFERRED = ['name', 'version', 'lockfileVersion', 'resolved', 'integrity', 'requires', 'packages', 'dependencies'];
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const compareKeys = (a, b) => {
  const pa = PREFERRED.indexOf(a);
  const pb = PREFERRED.indexOf(b);
  if (pa >= 0 || pb >= 0) return pa < 0 ? 1 : pb < 0 ? -1 : pa - pb;
  return a.localeCompare(b, 'en');
};
function npmFormat(lock) {
  const replacer = (_key, value) => {
    if (!isObject(value)) return value;
    const entries = Object.entries(value).sort(([ak, av], [bk, bv]) =>
      isObject(av) === isObject(bv) ? compareKeys(ak, bk) : isObject(av) ? 1 : -1,
    );
    return Object.fromEntries(entries);
  };
  return `${JSON.stringify(lock, replacer, 2)}\n`;
}

/** The completed lock file text for a lock file text, and how many entries were added. */
function completeLockfile(text) {
  const lock = JSON.parse(text);
  const added = complete(lock);
  return { text: npmFormat(lock), added };
}

module.exports = { completeLockfile, platformOf };

const USAGE = `usage: node scripts/complete-lockfile.js [--check]   (also: npm run lockfile)

Adds the platform builds that the registry lacks to package-lock.json and writes it in
npm's own form. Run it after every npm install that changes the lock.

options:
  --check      change nothing; exit 1 if the lock needs this script
  -h, --help   print this help and exit`;

if (require.main === module) {
  let options;
  try {
    options = parseArgs({ options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (error) {
    console.error(`complete-lockfile: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const lockPath = join(__dirname, '..', 'package-lock.json');
  const before = readFileSync(lockPath, 'utf8');
  const { text, added } = completeLockfile(before);
  if (options.check) {
    if (text !== before) {
      console.error(`complete-lockfile: package-lock.json needs \`node scripts/complete-lockfile.js\` (${added} platform entries missing${added === 0 ? '; npm formatting differs' : ''})`);
      process.exitCode = 1;
    } else {
      console.log('complete-lockfile: package-lock.json is complete');
    }
  } else {
    if (text !== before) writeFileSync(lockPath, text);
    console.log(`complete-lockfile: added ${added} platform-specific optional package entries`);
  }
}
