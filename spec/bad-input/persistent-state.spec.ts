import { InMemoryPersistentState, InvalidArgumentError, RaftError } from '../../lib';

/** A state at term 4 that voted for 2, with log [1:t1 a, 2:t3 b, 3:t3 c]. */
function populated(): InMemoryPersistentState<string> {
  const state = new InMemoryPersistentState<string>();
  state.advanceToTerm(3);
  state.appendToLog('a', 1);
  state.appendToLog('b', 3);
  state.appendToLog('c', 3);
  state.advanceToTerm(4);
  state.vote(2);
  return state;
}

function snapshot(state: InMemoryPersistentState<string>): unknown {
  const log = [];
  for (let index = 1; index <= state.currentLogIndex; index++) log.push(state.getLogEntry(index));
  return {
    currentTerm: state.currentTerm,
    votedFor: state.votedFor,
    currentLogIndex: state.currentLogIndex,
    last: state.getLastLogEntry(),
    log,
  };
}

type Call = (state: InMemoryPersistentState<string>) => void;

const cases: [string, Call][] = [
  ['advanceToTerm to a lower term', (s) => s.advanceToTerm(2)],
  ['advanceToTerm to the current term', (s) => s.advanceToTerm(4)],
  ['advanceToTerm to 0', (s) => s.advanceToTerm(0)],
  ['advanceToTerm to -1', (s) => s.advanceToTerm(-1)],
  ['advanceToTerm to a non-integer term', (s) => s.advanceToTerm(5.5)],
  ['advanceToTerm to NaN', (s) => s.advanceToTerm(Number.NaN)],
  ['advanceToTerm to Infinity', (s) => s.advanceToTerm(Number.POSITIVE_INFINITY)],
  ["advanceToTerm to '5' (a string)", (s) => s.advanceToTerm('5' as unknown as number)],
  ['truncateLog(-1)', (s) => s.truncateLog(-1)],
  ['truncateLog(1.5)', (s) => s.truncateLog(1.5)],
  ['truncateLog(NaN)', (s) => s.truncateLog(Number.NaN)],
  ['appendToLog with a term below the last entry', (s) => s.appendToLog('z', 2)],
  ['appendToLog with term 0', (s) => s.appendToLog('z', 0)],
  ['appendToLog with a negative term', (s) => s.appendToLog('z', -3)],
  ['appendToLog with a non-integer term', (s) => s.appendToLog('z', 3.5)],
  ['appendEntries whose second entry goes back in term (nothing appended)', (s) => s.appendEntries([{ data: 'y', term: 4 }, { data: 'z', term: 3 }])],
  ['appendEntries whose first entry is below the last entry', (s) => s.appendEntries([{ data: 'y', term: 2 }])],
  ['vote(-1)', (s) => s.vote(-1)],
  ['vote(1.5)', (s) => s.vote(1.5)],
];

describe('InMemoryPersistentState refuses bad arguments with InvalidArgumentError and changes nothing', () => {
  it.each(cases)('%s', (_name, call) => {
    const state = populated();
    const before = snapshot(state);
    let error: unknown;
    try {
      call(state);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(RaftError);
    expect(error).toBeInstanceOf(Error);
    expect(snapshot(state)).toEqual(before);
  });

  it('appendToLog on an empty log needs a term >= 1', () => {
    const state = new InMemoryPersistentState<string>();
    expect(() => state.appendToLog('x', 0)).toThrow(InvalidArgumentError);
    expect(state.currentLogIndex).toBe(0);
    expect(state.getLastLogEntry()).toBeUndefined();
  });

  describe('control: the valid neighbours of those calls succeed', () => {
    it('advanceToTerm to a later term clears the vote', () => {
      const state = populated();
      state.advanceToTerm(5);
      expect(state.currentTerm).toBe(5);
      expect(state.votedFor).toBeUndefined();
    });

    it('truncateLog(0) empties the log; truncateLog past the end keeps it', () => {
      const state = populated();
      state.truncateLog(10);
      expect(state.currentLogIndex).toBe(3);
      state.truncateLog(0);
      expect(state.currentLogIndex).toBe(0);
      expect(state.getLastLogEntry()).toBeUndefined();
    });

    it('appendToLog with the same term as the last entry, or a later one, appends at currentLogIndex + 1', () => {
      const state = populated();
      state.appendToLog('d', 3);
      state.appendEntries([{ data: 'e', term: 4 }, { data: 'f', term: 4 }]);
      expect(state.getLastLogEntry()).toEqual({ index: 6, term: 4, data: 'f' });
      expect(state.getLogEntry(4)).toEqual({ index: 4, term: 3, data: 'd' });
    });

    it('getLogEntry outside 1..currentLogIndex is undefined, not an error', () => {
      const state = populated();
      expect(state.getLogEntry(0)).toBeUndefined();
      expect(state.getLogEntry(4)).toBeUndefined();
      expect(state.getLogEntry(-1)).toBeUndefined();
    });
  });
});
