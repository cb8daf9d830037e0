/**
 * Builds the browser visualizer (visualizer/src/page/main.ts, bundled by esbuild) and serves
 * it over node:http on 127.0.0.1.
 *
 *     npm run visualize -- [--port P]     (default 4173; 0 picks a free port)
 *
 * The browser test starts it in-process with {@link startVisualizerServer}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { build } from 'esbuild';

/** The visualizer's source folder (index.html, style.css, src/). */
const VISUALIZER_DIR = path.resolve(__dirname, '..', 'visualizer');

/** Where the bundle is written (gitignored). */
const OUT_DIR = path.join(VISUALIZER_DIR, 'dist');

/** The only paths served, each with its file and content type: nothing else is reachable. */
const ROUTES: ReadonlyMap<string, { readonly file: string; readonly type: string }> = new Map([
  ['/', { file: path.join(VISUALIZER_DIR, 'index.html'), type: 'text/html; charset=utf-8' }],
  ['/index.html', { file: path.join(VISUALIZER_DIR, 'index.html'), type: 'text/html; charset=utf-8' }],
  ['/style.css', { file: path.join(VISUALIZER_DIR, 'style.css'), type: 'text/css; charset=utf-8' }],
  ['/main.js', { file: path.join(OUT_DIR, 'main.js'), type: 'text/javascript; charset=utf-8' }],
  ['/main.js.map', { file: path.join(OUT_DIR, 'main.js.map'), type: 'application/json; charset=utf-8' }],
]);

/** Options of {@link startVisualizerServer}. */
export interface VisualizerServerOptions {
  /**
   * TCP port on 127.0.0.1; 0 picks a free one.
   * @default 4173
   */
  readonly port?: number;
  /**
   * Bundle the page before serving; false serves the bundle already in visualizer/dist/.
   * @default true
   */
  readonly build?: boolean;
}

/** A running visualizer server, as {@link startVisualizerServer} returns it. */
export interface VisualizerServer {
  /** The page's address, e.g. `http://127.0.0.1:4173/` (with the real port when 0 was asked). */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Bundles the page with esbuild into visualizer/dist/ (browser platform, IIFE, source map).
 * @throws the esbuild error when the page does not compile.
 */
export async function buildVisualizer(): Promise<string> {
  const outfile = path.join(OUT_DIR, 'main.js');
  await build({
    entryPoints: [path.join(VISUALIZER_DIR, 'src', 'page', 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: true,
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Builds the page and serves it on 127.0.0.1: `/` (index.html), `/style.css`, `/main.js` and
 * its source map; every other path is a 404 (no file system paths are derived from the URL).
 * @throws when the build fails or the port cannot be bound.
 */
export async function startVisualizerServer(options: VisualizerServerOptions = {}): Promise<VisualizerServer> {
  if (options.build !== false) await buildVisualizer();
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = ROUTES.get(pathname);
    if (route === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    readFile(route.file).then(
      (body) => {
        response.writeHead(200, { 'content-type': route.type, 'content-length': body.length, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4173, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Reads `--port P` (or `--port=P`) from the command line. */
function parsePort(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = arg === '--port' ? argv[i + 1] : arg.startsWith('--port=') ? arg.slice('--port='.length) : undefined;
    if (value === undefined) continue;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Expected \`--port\` to be an integer in [0, 65535], got ${value}`);
    return port;
  }
  return 4173;
}

if (require.main === module) {
  Promise.resolve()
    .then(() => startVisualizerServer({ port: parsePort(process.argv.slice(2)) }))
    .then(
      ({ url }) => console.log(`visualizer: ${url}`),
      (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
      },
    );
}
