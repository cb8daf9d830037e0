import { readFileSync } from 'node:fs';
import type { PeerAddress } from '../net/peer-transport';
import type { KvMemberOptions } from './kv-member';

/** The usage line of `npm run kv`. */
export const KV_USAGE = 'usage: npm run kv -- --id I --peers H0:P0,H1:P1,H2:P2 --http HOST:PORT --data DIR --secret-file F [--tls-key F --tls-cert F --tls-ca F]';

/** A command-line mistake: the message says which flag and why. */
export class UsageError extends Error {
  /** Creates the error for one mistake. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses `host:port` (IPv6 hosts in brackets: `[::1]:7000`).
 * @throws {@link UsageError} when it is not one.
 */
export function parseAddress(text: string, flag: string): PeerAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) throw new UsageError(`${flag}: expected HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/**
 * Reads the flags of `npm run kv` into member options: the secret file is read as text with
 * its trailing newline trimmed, and must not be empty.
 * @throws {@link UsageError} for a missing or malformed flag.
 */
export function parseKvArgs(argv: readonly string[]): KvMemberOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? '';
    const value = argv[i + 1];
    if (!flag.startsWith('--') || value === undefined) throw new UsageError(`unexpected argument ${JSON.stringify(flag)}\n${KV_USAGE}`);
    flags.set(flag.slice(2), value);
  }
  const known = new Set(['id', 'peers', 'http', 'data', 'secret-file', 'tls-key', 'tls-cert', 'tls-ca']);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new UsageError(`unknown flag --${flag}\n${KV_USAGE}`);
  const required = (flag: string): string => {
    const value = flags.get(flag);
    if (value === undefined || value === '') throw new UsageError(`--${flag} is required\n${KV_USAGE}`);
    return value;
  };
  const peers = required('peers').split(',').map((text) => parseAddress(text, '--peers'));
  const id = Number(required('id'));
  if (!Number.isSafeInteger(id) || id < 0 || id >= peers.length) throw new UsageError(`--id: expected an integer in [0, ${peers.length}), got ${JSON.stringify(flags.get('id'))}`);
  const secretFile = required('secret-file');
  let secret: string;
  try {
    secret = readFileSync(secretFile, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new UsageError(`--secret-file: cannot read ${secretFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (secret.length === 0) throw new UsageError(`--secret-file: ${secretFile} is empty`);
  const tlsFlags = ['tls-key', 'tls-cert', 'tls-ca'].filter((flag) => flags.has(flag));
  if (tlsFlags.length !== 0 && tlsFlags.length !== 3) throw new UsageError('--tls-key, --tls-cert and --tls-ca go together');
  const read = (flag: string): Buffer => {
    const file = required(flag);
    try {
      return readFileSync(file);
    } catch (error) {
      throw new UsageError(`--${flag}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return {
    id,
    peers,
    http: parseAddress(required('http'), '--http'),
    dataDir: required('data'),
    secret,
    ...(tlsFlags.length === 3 ? { tls: { key: read('tls-key'), cert: read('tls-cert'), ca: read('tls-ca') } } : {}),
  };
}
