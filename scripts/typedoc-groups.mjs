// A typedoc plugin: groups the API reference by the package's subpath entries instead of by
// kind alone. Every name exported by lib/index.ts gets a `@group` after the entry that also
// exports it: "Core" (raft-ts/core), "Errors" (the error classes, in raft-ts/core),
// "Storage" (raft-ts/storage), "Testing" and "Simulation" (raft-ts/testing), "Networked"
// (raft-ts/node). A name that no
// subpath entry exports keeps typedoc's grouping by kind (spec/package/entries.spec.ts fails
// on such a name anyway). The entries are read with the TypeScript program typedoc already
// built, so there is no list to keep in step here.
import { Comment, CommentTag, Converter } from 'typedoc';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib');

/** Entry file (relative to lib/) and the group of what it exports, first match wins. */
const ENTRIES = [
  ['core.ts', (file) => (file === join(lib, 'errors.ts') ? 'Errors' : 'Core')],
  ['storage.ts', (file) => (file === join(lib, 'errors.ts') ? 'Errors' : 'Storage')],
  ['testing.ts', (file) => (file.startsWith(join(lib, 'simulation') + sep) ? 'Simulation' : 'Testing')],
  ['node.ts', () => 'Networked'],
];

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const program = context.programs.find((p) => p.getSourceFile(join(lib, 'index.ts').split(sep).join('/')) !== undefined);
    if (program === undefined) throw new Error('typedoc-groups: lib/index.ts is not in the program');
    const checker = program.getTypeChecker();
    /** @type {Map<string, string>} */
    const groups = new Map();
    for (const [entry, groupOf] of ENTRIES) {
      const source = program.getSourceFile(join(lib, entry).split(sep).join('/'));
      const moduleSymbol = source && checker.getSymbolAtLocation(source);
      if (moduleSymbol === undefined) throw new Error(`typedoc-groups: lib/${entry} is not in the program`);
      for (const exported of checker.getExportsOfModule(moduleSymbol)) {
        if (groups.has(exported.name)) continue;
        const target = exported.flags & 2097152 /* ts.SymbolFlags.Alias */ ? checker.getAliasedSymbol(exported) : exported;
        const file = target.declarations?.[0]?.getSourceFile().fileName ?? '';
        groups.set(exported.name, groupOf(file.split('/').join(sep)));
      }
    }
    for (const reflection of context.project.children ?? []) {
      const group = groups.get(reflection.name);
      if (group === undefined) continue;
      // A function's comment lives on its signature; typedoc reads @group from either.
      const comment = reflection.comment ?? reflection.signatures?.[0]?.comment ?? (reflection.comment = new Comment());
      if (comment.blockTags.some((tag) => tag.tag === '@group')) continue;
      comment.blockTags.push(new CommentTag('@group', [{ kind: 'text', text: group }]));
    }
  });
}
