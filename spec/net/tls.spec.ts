import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { TcpTransport, type TcpTlsOptions } from '../../lib/net/tcp-transport';
import { addresses, allConnected, HOST, request, testOptions, waitFor } from './helpers';

jest.setTimeout(15000);

interface Certificates {
  readonly good: TcpTlsOptions;
  /** Signed by another CA. */
  readonly foreign: TcpTlsOptions;
}

let dir: string;
let certs: Certificates;

function openssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA and a member certificate for 127.0.0.1 signed by it, named `prefix`. */
function authority(prefix: string): TcpTlsOptions {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', `${prefix}-ca.key`, '-out', `${prefix}-ca.crt`, '-days', '1', '-subj', `/CN=${prefix} test CA`);
  openssl('req', ...ec, '-keyout', `${prefix}.key`, '-out', `${prefix}.csr`, '-subj', `/CN=${prefix} member`);
  writeFileSync(join(dir, `${prefix}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('x509', '-req', '-in', `${prefix}.csr`, '-CA', `${prefix}-ca.crt`, '-CAkey', `${prefix}-ca.key`, '-CAcreateserial',
    '-out', `${prefix}.crt`, '-days', '1', '-extfile', `${prefix}.ext`);
  const read = (name: string): Buffer => readFileSync(join(dir, name));
  return { key: read(`${prefix}.key`), cert: read(`${prefix}.crt`), ca: read(`${prefix}-ca.crt`) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'raft-net-tls-'));
  certs = { good: authority('good'), foreign: authority('foreign') };
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Connects with TLS; resolves 'refused' when the server rejects us, 'open' if the session stays up. */
function tryTls(port: number, options: tls.ConnectionOptions): Promise<'refused' | 'open'> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: HOST, port, rejectUnauthorized: false, ...options });
    let settled = false;
    const settle = (outcome: 'refused' | 'open'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    // With TLS 1.3 the server's rejection of our certificate arrives after our side is done.
    const timer = setTimeout(() => settle('open'), 3000);
    socket.on('error', () => settle('refused'));
    socket.on('close', () => settle('refused'));
    socket.on('secureConnect', () => socket.write(Buffer.alloc(0)));
  });
}

describe('TcpTransport over mutual TLS', () => {
  it('exchanges requests among three members with valid certificates', async () => {
    const peers = await addresses(3);
    const transports = await Promise.all(peers.map((_, id) => TcpTransport.listen(testOptions(id, peers, { tls: certs.good }))));
    try {
      for (const t of transports) t.onRequest((from, body, reply) => reply({ from, body }));
      await allConnected(transports);
      const answers = await Promise.all(
        transports.flatMap((from) =>
          transports.filter((to) => to !== from).map((to) => request(from, to.id, `${from.id}->${to.id}`)),
        ),
      );
      expect(answers).toHaveLength(6);
      expect(answers[0]).toEqual({ from: 0, body: '0->1' });
    } finally {
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('refuses clients without a valid certificate and keeps serving members', async () => {
    const peers = await addresses(2);
    const transports = await Promise.all(peers.map((_, id) => TcpTransport.listen(testOptions(id, peers, { tls: certs.good }))));
    try {
      const [t0, t1] = transports as [TcpTransport, TcpTransport];
      t1.onRequest((_from, body, reply) => reply(body));
      await allConnected(transports);

      expect(await tryTls(t1.port, {})).toBe('refused'); // no certificate at all
      expect(await tryTls(t1.port, { key: certs.foreign.key, cert: certs.foreign.cert })).toBe('refused'); // another CA
      await waitFor(() => t1.stats().refused.stranger === 2, 2000, 'two strangers');

      expect(t0.stats().peers[1]?.connected).toBe(true);
      expect(await request(t0, 1, 'still here')).toBe('still here');
    } finally {
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('does not connect to a member whose certificate another CA signed', async () => {
    const peers = await addresses(2);
    const t0 = await TcpTransport.listen(testOptions(0, peers, { tls: certs.good }));
    const t1 = await TcpTransport.listen(testOptions(1, peers, { tls: certs.foreign }));
    try {
      // The dialer rejects the acceptor's certificate: a stranger, counted by the dialer.
      await waitFor(() => t0.stats().refused.stranger >= 1, 3000, 'the dialer to refuse the foreign member');
      expect(t0.stats().peers[1]?.connected).toBe(false);
      expect(t1.stats().peers[0]?.connected).toBe(false);
    } finally {
      await Promise.all([t0.close(), t1.close()]);
    }
  });

  it('refuses a plain TCP client speaking the handshake without TLS', async () => {
    const peers = await addresses(2);
    const t1 = await TcpTransport.listen(testOptions(1, peers, { tls: certs.good }));
    try {
      const socket = net.connect({ host: HOST, port: t1.port });
      socket.on('error', () => undefined);
      socket.write(Buffer.from('\u0000\u0000\u0000\u0002{}'));
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await waitFor(() => t1.stats().refused.garbage === 1, 2000, 'garbage');
    } finally {
      await t1.close();
    }
  });
});
