// Each example exports main(); running it here keeps the examples from rotting.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as demo } from '../../examples/demo';
import { main as durable } from '../../examples/durable';
import { main as tour } from '../../examples/tour';
import { main as transport } from '../../examples/transport';
import { main as networked } from '../../examples/networked';

const quiet = (): void => undefined;

describe('examples', () => {
  it('demo: five servers elect, apply, survive a leader crash, and end with equal stores', () => {
    const lines: string[] = [];
    const result = demo((line) => lines.push(line));
    expect(result.consistent).toBe(true);
    expect(result.stores).toHaveLength(5);
    expect(result.stores[0]?.length).toBeGreaterThan(0);
    expect(result.leaders.length).toBeGreaterThanOrEqual(2);
    expect(new Set(result.leaders.map((l) => l.term)).size).toBe(result.leaders.length); // one leader per term
    expect(lines.at(-1)).toMatch(/same store .*: YES/);
  });

  it('demo: the log stays bounded, and the restarted server comes back through the leader\'s snapshot', () => {
    const result = demo(quiet);
    expect(result.longestLog).toBeLessThanOrEqual(16);
    expect(result.installedSnapshots).toHaveLength(1);
    expect(result.installedSnapshots[0]?.id).toBe(result.leaders[0]?.id); // the crashed first leader
  });

  it('demo prints the same timeline on every run (virtual time, fixed seed)', () => {
    const first: string[] = [];
    const second: string[] = [];
    demo((line) => first.push(line));
    demo((line) => second.push(line));
    expect(second).toEqual(first);
  });

  it('tour: runs and commits the proposal on a follower', () => {
    expect(tour(quiet)).toEqual(['1:set x = 1']);
  });

  it('transport: a proposal crosses a JSON wire and is committed on all three nodes', () => {
    expect(transport(quiet)).toEqual([['hello over JSON'], ['hello over JSON'], ['hello over JSON']]);
  });

  it('durable: a cluster on FilePersistentState restarts from disk with its log and terms', () => {
    const result = durable(quiet);
    for (const committed of result.committedAfterRestart) expect(committed).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    for (const { before, after } of result.terms) expect(after).toBeGreaterThan(before);
  });

  it('README shows examples/tour.ts verbatim, so the tour in the README is compiled and run by this suite', () => {
    const root = join(__dirname, '..', '..');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const source = readFileSync(join(root, 'examples', 'tour.ts'), 'utf8');
    const block = /<!-- tour:start -->\s*```ts\n([\s\S]*?)```\s*<!-- tour:end -->/.exec(readme);
    expect(block?.[1]).toBe(source);
  });

  it('networked: three members over TCP on loopback apply every write once, and stop with a hand-over', async () => {
    const lines: string[] = [];
    const totals = await networked((line) => lines.push(line));
    expect(totals).toEqual([15, 15, 15]);
    expect(lines.some((line) => /retry of session 1 .*total 15 \(applied once\)/.test(line))).toBe(true);
    expect(lines.some((line) => /linearizable read on member \d: total 15/.test(line))).toBe(true);
  }, 30_000);
});
