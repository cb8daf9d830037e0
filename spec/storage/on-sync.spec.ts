import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../lib';
import { FilePersistentState } from '../../lib/storage';

describe('FilePersistentState onSync', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'raft-onsync-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports one duration per sync that wrote something, and none for an empty sync', () => {
    const durations: number[] = [];
    const state = FilePersistentState.open<string>(dir, { onSync: (seconds) => durations.push(seconds) });
    state.appendToLog('a', 1);
    state.sync();
    state.sync();
    state.appendToLog('b', 1);
    state.sync();
    state.close();
    expect(durations).toHaveLength(2);
    for (const seconds of durations) expect(seconds).toBeGreaterThanOrEqual(0);
  });

  it('a hook that throws does not fail the sync', () => {
    const state = FilePersistentState.open<string>(dir, { onSync: () => { throw new Error('metrics down'); } });
    state.appendToLog('a', 1);
    expect(() => state.sync()).not.toThrow();
    state.close();
    const reopened = FilePersistentState.open<string>(dir);
    expect(reopened.currentLogIndex).toBe(1);
    reopened.close();
  });

  it('refuses an onSync that is not a function', () => {
    expect(() => FilePersistentState.open<string>(dir, { onSync: 42 as unknown as () => void })).toThrow(ConfigurationError);
  });
});
