#!/usr/bin/env node
// The npm registry reachable here lacks some platform-specific optional packages (darwin,
// win32, android... builds of native helpers that jest and lmdb list as optional). `npm install`
// then leaves them out of package-lock.json, and `npm ci` refuses the lock as "missing"
// them. This adds an entry for each such package, with the os/cpu it is built for, so that
// `npm ci` accepts the lock and skips them on this platform, as it would anyway.
// Run it after every `npm install` that changes the lock: `node scripts/complete-lockfile.js`.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const lockPath = join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'aix'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 's390x', 'riscv64'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((part) => OS.includes(part));
  const cpu = parts.find((part) => CPU.includes(part)) ?? (parts.includes('eabi') || parts.includes('gnueabihf') || parts.includes('musleabihf') ? 'arm' : undefined);
  return os && cpu ? { os, cpu } : undefined;
}

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
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform-specific optional package entries`);
