// The published package as a user gets it: `npm pack`, installed into a fresh project, used
// from CommonJS, from ESM, from TypeScript ("module": "nodenext"), and bundled for a browser
// with esbuild. Slow (a build, a pack, an install, a tsc run: tens of seconds), so one
// beforeAll does the work and the tests share it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vm from 'node:vm';
import * as esbuild from 'esbuild';

jest.setTimeout(300_000);

const root = join(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** What every consumer program prints (as JSON) after running a 3-server cluster. */
interface ClusterReport {
  readonly leader: number;
  readonly appended: string;
  readonly committed: string[][];
  readonly sameClasses: boolean;
  readonly instanceOfWorks: boolean;
}

const EXPECTED_REPORT = {
  leader: expect.any(Number),
  appended: 'appended',
  committed: [['hello'], ['hello'], ['hello']],
  sameClasses: true,
  instanceOfWorks: true,
};

/**
 * The body of every consumer program, in plain JavaScript: elect a leader among three
 * servers, propose one entry, let it commit everywhere, and report. `testing`, `core`,
 * `storage` and `rootModule` are the package's entries as the consumer imported them.
 */
const PROGRAM = `
  const cluster = testing.InMemoryCluster.make(3, { seed: 7 });
  cluster.runUntil(() => cluster.leader() !== undefined, 10000);
  const leader = cluster.leader();
  const result = cluster.propose('hello');
  cluster.advance(200);
  const report = {
    leader: leader.id,
    appended: result.type,
    committed: [0, 1, 2].map((id) => cluster.committed(id).map((entry) => entry.data)),
    sameClasses:
      rootModule.InMemoryCluster === testing.InMemoryCluster &&
      rootModule.Server === core.Server &&
      rootModule.RaftError === core.RaftError &&
      storage.StorageError === core.StorageError &&
      typeof storage.FilePersistentState.open === 'function',
    instanceOfWorks: cluster.servers.every((server) => server instanceof core.Server),
  };
  console.log(JSON.stringify(report));
`;

let work = '';
let consumer = '';
let packed: { filename: string; files: { path: string }[] };
let installedWith = '';

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

function lastJsonLine(output: string): unknown {
  const line = output.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'raft-ts-package-'));
  // What `npm pack` runs as prepack, then the pack itself without running it twice.
  run(npm, ['run', 'build', '--silent'], root);
  const [info] = JSON.parse(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as (typeof packed)[];
  if (info === undefined) throw new Error('npm pack printed no package');
  packed = info;
  const tarball = join(work, info.filename);

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
  // The ordinary way, without the network: npm installs the tarball and takes the package's
  // one dependency, eventemitter3, from the repository's node_modules (copied, not linked).
  // Should npm refuse, unpack by hand: the tarball and eventemitter3 are all a consumer needs.
  const dependency = join(root, 'node_modules', 'eventemitter3');
  const install = spawnSync(npm, ['install', '--offline', '--install-links', '--no-audit', '--no-fund', '--ignore-scripts', tarball, dependency], {
    cwd: consumer,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const modules = join(consumer, 'node_modules');
  if (install.status === 0 && existsSync(join(modules, 'raft-ts', 'package.json')) && existsSync(join(modules, 'eventemitter3', 'package.json'))) {
    installedWith = 'npm install --offline';
  } else {
    rmSync(modules, { recursive: true, force: true });
    mkdirSync(modules, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', modules]);
    cpSync(join(modules, 'package'), join(modules, 'raft-ts'), { recursive: true });
    rmSync(join(modules, 'package'), { recursive: true, force: true });
    cpSync(join(root, 'node_modules', 'eventemitter3'), join(modules, 'eventemitter3'), { recursive: true });
    installedWith = 'unpacked by hand';
  }
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the build, its maps, the sources they point at, README, CHANGELOG and LICENSE, and nothing else', () => {
    const paths = packed.files.map((f) => f.path).sort();
    for (const required of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) expect(paths).toContain(required);
    for (const entry of ['index', 'core', 'storage', 'testing']) {
      expect(paths).toEqual(expect.arrayContaining([`dist/${entry}.js`, `dist/${entry}.d.ts`, `dist/${entry}.js.map`, `dist/${entry}.d.ts.map`, `lib/${entry}.ts`]));
    }
    const outside = paths.filter((p) => !/^(dist|lib)\//.test(p) && !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(p));
    expect(outside).toEqual([]);
    expect(paths.filter((p) => /^(spec|bench|examples|scripts)\//.test(p) || p.endsWith('.spec.ts'))).toEqual([]);
    // Every map names sources that are in the package.
    const unpacked = join(consumer, 'node_modules', 'raft-ts');
    for (const map of paths.filter((p) => p.endsWith('.map'))) {
      const { sources } = JSON.parse(readFileSync(join(unpacked, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect({ map, exists: existsSync(join(unpacked, map, '..', source)) }).toEqual({ map, exists: true });
    }
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as { license: string; engines: { node: string } };
    expect(manifest.license).toBe('MIT');
    expect(manifest.engines.node).toBe('>=20.15');
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 raft-ts contributors\n/);
    expect(['npm install --offline', 'unpacked by hand']).toContain(installedWith);
    console.log(`raft-ts tarball installed with: ${installedWith}`);
  });

  it('works from CommonJS: require of the root and of each subpath, one copy of every class', () => {
    writeFileSync(
      join(consumer, 'cluster.cjs'),
      `const testing = require('raft-ts/testing');
       const core = require('raft-ts/core');
       const storage = require('raft-ts/storage');
       const rootModule = require('raft-ts');
       ${PROGRAM}`,
    );
    expect(lastJsonLine(run(process.execPath, ['cluster.cjs'], consumer))).toEqual(EXPECTED_REPORT);
  });

  it('works from ESM: named imports of the CommonJS build, from the root and each subpath', () => {
    writeFileSync(
      join(consumer, 'cluster.mjs'),
      `import { InMemoryCluster } from 'raft-ts/testing';
       import { Server, RaftError, StorageError, InMemoryPersistentState } from 'raft-ts/core';
       import { FilePersistentState, StorageError as StorageErrorAgain } from 'raft-ts/storage';
       import * as rootModule from 'raft-ts';
       const testing = { InMemoryCluster };
       const core = { Server, RaftError, StorageError, InMemoryPersistentState };
       const storage = { FilePersistentState, StorageError: StorageErrorAgain };
       ${PROGRAM}`,
    );
    expect(lastJsonLine(run(process.execPath, ['cluster.mjs'], consumer))).toEqual(EXPECTED_REPORT);
  });

  it('refuses deep imports that the exports map does not list', () => {
    writeFileSync(join(consumer, 'deep.cjs'), `try { require('raft-ts/dist/index.js'); console.log('"loaded"'); } catch (e) { console.log(JSON.stringify(e.code)); }`);
    expect(lastJsonLine(run(process.execPath, ['deep.cjs'], consumer))).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('type-checks and runs from TypeScript with "module": "nodenext", as ESM (.mts) and as CommonJS (.cts)', () => {
    const dir = join(consumer, 'ts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', strict: true, outDir: 'out', rootDir: '.', types: ['node'], typeRoots: [join(root, 'node_modules', '@types')], skipLibCheck: true },
        include: ['*.mts', '*.cts'],
      }),
    );
    // Typed use of every entry: a wrong export name or type would fail the compile.
    const typed = `
      const cluster: InMemoryCluster<string> = InMemoryCluster.make<string>(3, { seed: 7 });
      cluster.runUntil(() => cluster.leader() !== undefined, 10_000);
      const leader: Server<string> | undefined = cluster.leader();
      if (leader === undefined) throw new Error('no leader');
      const result: ProposeResult = cluster.propose('hello');
      cluster.advance(200);
      const committed: string[][] = [0, 1, 2].map((id) => cluster.committed(id).map((entry: LogEntry<string>) => entry.data));
      const errors: { readonly prototype: RaftError }[] = [StorageError, CorruptStateError];
      const open: typeof FilePersistentState.open = FilePersistentState.open;
      console.log(JSON.stringify({
        leader: leader.id,
        appended: result.type,
        committed,
        sameClasses: errors.every((e) => e.prototype instanceof RaftError) && typeof open === 'function' && Root.Server === Server,
        instanceOfWorks: cluster.servers.every((server) => server instanceof Server),
      }));
    `;
    const imports = (rootImport: string): string => `
      import { InMemoryCluster } from 'raft-ts/testing';
      import { RaftError, Server, StorageError, type LogEntry, type ProposeResult } from 'raft-ts/core';
      import { CorruptStateError, FilePersistentState } from 'raft-ts/storage';
      ${rootImport}
    `;
    writeFileSync(join(dir, 'main.mts'), `${imports("import * as Root from 'raft-ts';")}${typed}`);
    writeFileSync(join(dir, 'main.cts'), `${imports("import Root = require('raft-ts');")}${typed}`);
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
    expect(lastJsonLine(run(process.execPath, [join('out', 'main.mjs')], dir))).toEqual(EXPECTED_REPORT);
    expect(lastJsonLine(run(process.execPath, [join('out', 'main.cjs')], dir))).toEqual(EXPECTED_REPORT);
  });

  it('type-checks the browser-facing entries without Node.js types', () => {
    const dir = join(consumer, 'ts-browser');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, types: [], skipLibCheck: false },
        include: ['*.mts'],
      }),
    );
    writeFileSync(
      join(dir, 'page.mts'),
      `import { InMemoryCluster, simulate } from 'raft-ts/testing';
       import { Server, InMemoryPersistentState, type Message } from 'raft-ts/core';
       const cluster = InMemoryCluster.make<string>(3, { seed: 1 });
       const lone = new Server<string>({ id: 0, clusterSize: 1, messageChannel: (_to: number, _m: Message<string>) => {}, persistentState: new InMemoryPersistentState<string>() });
       export const used = [cluster, lone, simulate];`,
    );
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
  });

  describe('in a browser bundle (esbuild, platform "browser")', () => {
    /** Bundles `source` as the consumer would, for a browser; fails on any Node.js module. */
    const bundle = (source: string): Promise<esbuild.BuildResult<{ write: false; metafile: true }>> =>
      esbuild.build({
        stdin: { contents: source, resolveDir: consumer, loader: 'js', sourcefile: 'page.js' },
        bundle: true,
        platform: 'browser',
        format: 'iife',
        globalName: 'page',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });

    it('raft-ts/testing and raft-ts/core build with no node: module, and run a cluster without Node.js globals', async () => {
      const result = await bundle(`
        import * as testing from 'raft-ts/testing';
        import * as core from 'raft-ts/core';
        export function run() {
          const rootModule = testing, storage = { StorageError: core.StorageError, FilePersistentState: { open() {} } };
          const lines = [];
          const console = { log: (line) => lines.push(line) };
          ${PROGRAM.replace('rootModule.Server === core.Server', 'true').replace('rootModule.RaftError === core.RaftError', 'true')}
          return lines[0];
        }
      `);
      expect(result.errors).toEqual([]);
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.filter((path) => path.startsWith('node:') || /storage\/|\/storage\.js$|simulation\/cli/.test(path))).toEqual([]);
      expect(inputs).toEqual(expect.arrayContaining([expect.stringMatching(/raft-ts\/dist\/testing\.js$/), expect.stringMatching(/eventemitter3/)]));
      const code = result.outputFiles[0]?.text ?? '';
      expect(code).not.toMatch(/\brequire\(["']node:/);
      // A bare context: no require, process, Buffer, performance, setTimeout.
      const context = vm.createContext({});
      const report = vm.runInContext(`${code}\npage.run()`, context, { timeout: 30_000 }) as string;
      expect(JSON.parse(report) as ClusterReport).toEqual(EXPECTED_REPORT);
    });

    it('raft-ts/storage does not build for a browser (so the check above would catch a node: import)', async () => {
      await expect(bundle(`export { FilePersistentState } from 'raft-ts/storage';`)).rejects.toThrow(/node:(fs|path|zlib)/);
    });
  });
});
