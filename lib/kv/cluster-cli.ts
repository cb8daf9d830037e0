/**
 * `npm run kv:cluster -- --dir D`: three members of the key-value service on 127.0.0.1, with
 * data under D (`D/member-I`), a shared secret in `D/secret` (made on first use) and the
 * ports in `D/cluster.json` (chosen free on first use, kept for later runs so members find
 * each other again). Prints `member I http://HOST:PORT` once member I's HTTP API listens.
 * The members are child processes in this process's group; SIGINT or SIGTERM stops all three.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const MEMBERS = 3;
const HOST = '127.0.0.1';

interface ClusterPorts {
  readonly raft: number[];
  readonly http: number[];
}

/** A port free now on 127.0.0.1 (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function clusterPorts(dir: string): Promise<ClusterPorts> {
  const file = join(dir, 'cluster.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ClusterPorts;
  const ports: number[] = [];
  while (ports.length < 2 * MEMBERS) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const chosen = { raft: ports.slice(0, MEMBERS), http: ports.slice(MEMBERS) };
  writeFileSync(file, `${JSON.stringify(chosen)}\n`);
  return chosen;
}

function parseDir(argv: readonly string[]): string {
  if (argv.length !== 2 || argv[0] !== '--dir' || argv[1] === undefined || argv[1] === '') {
    process.stderr.write('usage: npm run kv:cluster -- --dir D\n');
    process.exit(2);
  }
  return resolve(argv[1]);
}

async function main(): Promise<void> {
  const dir = parseDir(process.argv.slice(2));
  mkdirSync(dir, { recursive: true });
  const secretFile = join(dir, 'secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const ports = await clusterPorts(dir);
  const peers = ports.raft.map((port) => `${HOST}:${port}`).join(',');
  // The member entry, run the way this file runs: TypeScript through ts-node, or compiled.
  const entry = join(__dirname, __filename.endsWith('.ts') ? 'cli.ts' : 'cli.js');
  const loader = __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
  const children: ChildProcess[] = [];
  let stopping = false;
  let requested = false;
  const stopAll = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (let id = 0; id < MEMBERS; id++) {
    const args = [...loader, entry, '--id', String(id), '--peers', peers, '--http', `${HOST}:${ports.http[id]}`, '--data', join(dir, `member-${id}`), '--secret-file', secretFile];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening (\S+)$/.exec(line);
      if (match !== null) process.stdout.write(`member ${id} ${match[1]}\n`);
      else process.stdout.write(`member ${id}: ${line}\n`);
    });
    child.on('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`member ${id} exited (${signal ?? code}); stopping the others\n`);
      stopAll('SIGTERM');
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(requested ? 0 : 1);
    });
  }
  const onSignal = (): void => {
    requested = true;
    stopAll('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

void main();
