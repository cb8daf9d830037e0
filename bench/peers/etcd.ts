/**
 * The etcd raft peer for bench/run.ts: bench/peers/etcd/main.go (etcd's Raft library, three
 * RawNodes in one Go process, synchronous delivery) on the jobs of W1 and W2.
 *
 * It is built once per bench run, in GOPATH mode (no Go module proxy needed) against the
 * Debian sources of golang-etcd-server-dev (go.etcd.io/etcd/raft, etcd 3.4):
 *
 *   cd bench/peers/etcd && GO111MODULE=off GOPATH=/usr/share/gocode go build -o bin/etcd-peer .
 *
 * The GOPATH can be changed with ETCD_GOPATH. When `go` is not on PATH, the sources are not
 * there, or the build fails, the peer is skipped with the reason: it never fails the bench.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const DIRECTORY = join(__dirname, 'etcd');
const BINARY = join(DIRECTORY, 'bin', 'etcd-peer');
const GOPATH = process.env.ETCD_GOPATH ?? '/usr/share/gocode';
/** The import path main.go is written against (Debian 12's golang-etcd-server-dev, etcd 3.4). */
const RAFT_PACKAGE = 'go.etcd.io/etcd/raft';

/** The command that builds the peer, as run by {@link etcdPeer}. */
export const ETCD_BUILD_COMMAND = `cd bench/peers/etcd && GO111MODULE=off GOPATH=${GOPATH} go build -o bin/etcd-peer .`;

export type EtcdPeer =
  | { readonly available: true; readonly binary: string; readonly go: string }
  | { readonly available: false; readonly reason: string };

let cached: EtcdPeer | undefined;

/** Finds Go and the etcd sources and builds the peer (once per process); says why not otherwise. */
export function etcdPeer(): EtcdPeer {
  cached ??= build();
  return cached;
}

function build(): EtcdPeer {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return { available: false, reason: 'Go not installed' };
  if (!existsSync(join(GOPATH, 'src', RAFT_PACKAGE, 'rawnode.go'))) {
    return { available: false, reason: `etcd raft sources not found (${RAFT_PACKAGE} under ${GOPATH}/src; apt-get install golang-etcd-server-dev)` };
  }
  const env = { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '' };
  const built = spawnSync('go', ['build', '-o', BINARY, '.'], { cwd: DIRECTORY, env, encoding: 'utf8', timeout: 300_000 });
  if (built.error !== undefined || built.status !== 0) {
    const detail = (built.stderr || built.error?.message || `exit ${built.status}`).trim().split('\n').slice(0, 3).join(' / ');
    return { available: false, reason: `build failed: ${detail}` };
  }
  return { available: true, binary: BINARY, go: version.stdout.trim() };
}

/** One repetition of one job, as figures for bench/run.ts; throws when the peer is not available or fails. */
export function runEtcd(mode: 'serial' | 'batched', entries: number, batchSize = 100): Record<string, number> {
  const peer = etcdPeer();
  if (!peer.available) throw new Error(peer.reason);
  const stdout = execFileSync(peer.binary, ['-mode', mode, '-n', String(entries), '-batch', String(batchSize)], { encoding: 'utf8', timeout: 300_000 });
  const result = JSON.parse(stdout) as Record<string, Record<string, number> | undefined>;
  const figures = result[mode];
  if (figures === undefined) throw new Error(`etcd peer printed no "${mode}" figures: ${stdout.trim()}`);
  return figures;
}
