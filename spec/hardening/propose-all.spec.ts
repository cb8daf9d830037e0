// Hardening: proposeAll's result names the batch it appended, even when a `committed`
// listener proposes more inside the call (today lastIndex is read after the events, so it
// counts the listener's entry too).

import { InMemoryCluster } from '../../lib';
import { Solo, type Data } from './helpers';

describe('proposeAll result', () => {
  it('a committed listener that proposes inside the call does not change lastIndex (cluster of one)', () => {
    const solo = new Solo(0, 1);
    solo.server.triggerTimeout();
    let proposed = false;
    solo.server.on('committed', () => {
      if (proposed) return;
      proposed = true;
      solo.server.propose('c');
    });
    const result = solo.server.proposeAll(['a', 'b']);
    expect(result).toEqual({ type: 'appended', firstIndex: 1, lastIndex: 2, term: 1 });
    expect([1, 2, 3].map((i) => solo.state.getLogEntry(i)?.data)).toEqual(['a', 'b', 'c']);
  });

  it('the same through an InMemoryCluster of one', () => {
    const cluster = InMemoryCluster.make<Data>(1, { seed: 2 });
    expect(cluster.runUntil(() => cluster.leader() !== undefined, 10_000)).toBe(true);
    const leader = cluster.leader();
    let proposed = false;
    leader?.on('committed', () => {
      if (proposed) return;
      proposed = true;
      leader.propose('c');
    });
    const result = cluster.proposeAll(['a', 'b']);
    expect(result).toMatchObject({ type: 'appended', firstIndex: 1, lastIndex: 2 });
    expect(cluster.committed(0).map((e) => e.data)).toEqual(['a', 'b', 'c']);
  });

  it('propose\'s index is its own entry\'s, likewise', () => {
    const solo = new Solo(0, 1);
    solo.server.triggerTimeout();
    let proposed = false;
    solo.server.on('committed', () => {
      if (proposed) return;
      proposed = true;
      solo.server.propose('c');
    });
    expect(solo.server.propose('a')).toEqual({ type: 'appended', index: 1, term: 1 });
    expect(solo.state.currentLogIndex).toBe(2);
  });
});
