// The package's entries, checked from the sources (fast; spec/package/tarball.spec.ts checks
// the built package): the subpath entries together export exactly what lib/index.ts exports,
// and the browser-facing ones (raft-ts/core, raft-ts/testing) reach no Node.js module
// through any chain of imports.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

const root = join(__dirname, '..', '..');
const lib = join(root, 'lib');
const SUBPATHS = { core: 'core.ts', node: 'node.ts', storage: 'storage.ts', testing: 'testing.ts' } as const;
const BROWSER_FACING = ['core.ts', 'testing.ts'] as const;

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

/** The names an entry file exports; it must consist of `export { ... } from` lines only. */
function exportedNames(file: string): Set<string> {
  const names = new Set<string>();
  const source = parse(file);
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) {
      throw new Error(`${relative(root, file)}: expected only \`export { ... } from\` statements, found: ${statement.getText(source).slice(0, 80)}`);
    }
    for (const element of statement.exportClause.elements) names.add(element.name.text);
  }
  return names;
}

/** Every module specifier a file imports or re-exports, type-only ones left out (they vanish from the build). */
function runtimeImports(file: string): string[] {
  const specifiers: string[] = [];
  const source = parse(file);
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly === true : node.isTypeOnly;
      if (!typeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0] as ts.Expression)) {
      const callee = node.expression.getText(source);
      if (callee === 'require' || node.expression.kind === ts.SyntaxKind.ImportKeyword) specifiers.push((node.arguments[0] as ts.StringLiteral).text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** The chains of runtime imports from `entry` to a Node.js built-in module, as `a.ts → b.ts → node:fs`. */
function nodeImportChains(entry: string): string[] {
  const builtins = new Set(builtinModules);
  const chains: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, path: string[]): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeImports(file)) {
      const here = [...path, relative(lib, file)];
      if (specifier.startsWith('node:') || builtins.has(specifier) || builtins.has(specifier.split('/')[0] ?? '')) {
        chains.push([...here, specifier].join(' → '));
      } else if (specifier.startsWith('.')) {
        const base = resolve(dirname(file), specifier);
        const candidates = [`${base}.ts`, join(base, 'index.ts')];
        const target = candidates.find((candidate) => {
          try {
            readFileSync(candidate);
            return true;
          } catch {
            return false;
          }
        });
        if (target === undefined) throw new Error(`${relative(root, file)}: cannot resolve ${specifier}`);
        walk(target, here);
      }
      // A bare package (eventemitter3) is the package's own dependency: esbuild checks it in tarball.spec.ts.
    }
  };
  walk(join(lib, entry), []);
  return chains;
}

describe('package entries', () => {
  it('the subpath entries together export exactly the names of lib/index.ts', () => {
    const all = exportedNames(join(lib, 'index.ts'));
    const parts = Object.values(SUBPATHS).map((file) => exportedNames(join(lib, file)));
    const union = new Set(parts.flatMap((names) => [...names]));
    // A name added to lib/index.ts goes into one of lib/core.ts, lib/testing.ts, lib/storage.ts too.
    expect({ missingFromSubpaths: [...all].filter((name) => !union.has(name)).sort() }).toEqual({ missingFromSubpaths: [] });
    expect({ missingFromIndex: [...union].filter((name) => !all.has(name)).sort() }).toEqual({ missingFromIndex: [] });
  });

  it('raft-ts/core and raft-ts/testing import no Node.js module, directly or not', () => {
    for (const entry of BROWSER_FACING) expect({ entry, chains: nodeImportChains(entry) }).toEqual({ entry, chains: [] });
  });

  it('the check above sees the Node.js modules of raft-ts/storage', () => {
    expect(nodeImportChains(SUBPATHS.storage)).toEqual(expect.arrayContaining([expect.stringMatching(/^storage\.ts → storage\/.*→ node:fs$/)]));
  });

  it('package.json exports each entry with its types, and the lock file is as npm writes it', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; engines: { node: string } };
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    for (const [subpath, file] of Object.entries(SUBPATHS)) {
      const base = file.replace(/\.ts$/, '');
      expect(manifest.exports[`./${subpath}`]).toEqual({ types: `./dist/${base}.d.ts`, default: `./dist/${base}.js` });
    }
    expect(manifest.engines.node).toBe('>=20.15');
    // scripts/complete-lockfile.js, in --check mode, finds nothing to add or reorder.
    const { completeLockfile } = require(join(root, 'scripts', 'complete-lockfile.js')) as { completeLockfile: (text: string) => { text: string; added: number } };
    const lock = readFileSync(join(root, 'package-lock.json'), 'utf8');
    const completed = completeLockfile(lock);
    expect(completed.added).toBe(0);
    expect(completed.text === lock).toBe(true);
  });
});
