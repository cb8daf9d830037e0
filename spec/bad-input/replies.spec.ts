import { InvalidMessageError, RaftError, type AppendEntriesMessage, type RequestVoteMessage } from '../../lib';
import { candidateWithLog, leaderWithLog, snapshot, type Harness } from './harness';

function expectRefused(h: Harness, act: () => void, field: string | undefined): void {
  const before = snapshot(h);
  let error: unknown;
  try {
    act();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(InvalidMessageError);
  expect(error).toBeInstanceOf(RaftError);
  expect(error).toBeInstanceOf(Error);
  if (field !== undefined) expect((error as InvalidMessageError).field).toBe(field);
  expect(snapshot(h)).toEqual(before);
}

/** The RequestVote the candidate (server 1, term 3) sent to server 0. */
function voteRequestTo0(h: Harness): RequestVoteMessage {
  const sent = h.sent.find((s) => s.to === 0 && s.message.type === 'requestVote');
  if (sent === undefined || sent.message.type !== 'requestVote') throw new Error('no vote request to 0');
  return sent.message;
}

type ReplyCase = [name: string, reply: unknown, field: string | undefined];

describe('reply closures refuse malformed replies: InvalidMessageError, nothing changes', () => {
  describe('RequestVote replies (candidate 1 of 3, term 3, request sent to 0)', () => {
    const cases: ReplyCase[] = [
      ['reply null', null, 'reply'],
      ['reply a string', 'granted', 'reply'],
      ['reply a number', 1, 'reply'],
      ['voter 2: not the server the request went to', { voter: 2, voterTerm: 3, voteGranted: true }, 'voter'],
      ['voter 1: the candidate itself', { voter: 1, voterTerm: 3, voteGranted: true }, 'voter'],
      ['voter 5: outside the cluster', { voter: 5, voterTerm: 3, voteGranted: true }, 'voter'],
      ['voter -1', { voter: -1, voterTerm: 3, voteGranted: true }, 'voter'],
      ["voter '0' (a string)", { voter: '0', voterTerm: 3, voteGranted: true }, 'voter'],
      ['voter missing', { voterTerm: 3, voteGranted: true }, 'voter'],
      ['voterTerm -1', { voter: 0, voterTerm: -1, voteGranted: false }, 'voterTerm'],
      ['voterTerm 3.5', { voter: 0, voterTerm: 3.5, voteGranted: true }, 'voterTerm'],
      ['voterTerm NaN', { voter: 0, voterTerm: Number.NaN, voteGranted: true }, 'voterTerm'],
      ["voterTerm '3' (a string)", { voter: 0, voterTerm: '3', voteGranted: true }, 'voterTerm'],
      ['voterTerm 2: a grant below the request term', { voter: 0, voterTerm: 2, voteGranted: true }, 'voterTerm'],
      ["voteGranted 'yes' (not a boolean)", { voter: 0, voterTerm: 3, voteGranted: 'yes' }, 'voteGranted'],
      ['voteGranted 1 (not a boolean)', { voter: 0, voterTerm: 3, voteGranted: 1 }, 'voteGranted'],
      ['voteGranted missing', { voter: 0, voterTerm: 3 }, 'voteGranted'],
      ['voteGranted with a later voterTerm', { voter: 0, voterTerm: 4, voteGranted: true }, 'voterTerm'],
      ['a wrong voter with a much later term (must not make the candidate step down)', { voter: 2, voterTerm: 9, voteGranted: false }, 'voter'],
      ['a non-boolean voteGranted with a later term (must not be half-applied)', { voter: 0, voterTerm: 9, voteGranted: 'no' }, 'voteGranted'],
    ];

    it.each(cases)('%s', (_name, reply, field) => {
      const h = candidateWithLog();
      expect(h.server.currentTerm).toBe(3);
      const request = voteRequestTo0(h);
      expectRefused(h, () => (request.replyChannel as (r: unknown) => void)(reply), field);
      expect(h.server.role).toBe('candidate');
      // The closure still works: the genuine vote elects the candidate.
      request.replyChannel({ voter: 0, voterTerm: 3, voteGranted: true });
      expect(h.server.role).toBe('leader');
    });

    it('control: a valid refusal with a later term makes the candidate step down', () => {
      const h = candidateWithLog();
      voteRequestTo0(h).replyChannel({ voter: 0, voterTerm: 7, voteGranted: false });
      expect(h.server.role).toBe('follower');
      expect(h.server.currentTerm).toBe(7);
    });
  });

  describe('AppendEntries replies (leader 1 of 3, term 3, entry 4 sent to 0 after prevLogEntry 3)', () => {
    function setUp(): { h: Harness; request: AppendEntriesMessage<string>; heartbeat: AppendEntriesMessage<string> } {
      const h = leaderWithLog();
      const heartbeat = h.sent.find((s) => s.to === 0 && s.message.type === 'appendEntries');
      expect(h.server.propose('x')).toEqual({ type: 'appended', index: 4, term: 3 });
      const request = [...h.sent].reverse().find((s) => s.to === 0 && s.message.type === 'appendEntries');
      if (request === undefined || request.message.type !== 'appendEntries') throw new Error('no AppendEntries to 0');
      if (heartbeat === undefined || heartbeat.message.type !== 'appendEntries') throw new Error('no heartbeat to 0');
      expect(request.message.prevLogEntry).toEqual({ index: 3, term: 2 });
      expect(request.message.entries).toEqual([{ index: 4, term: 3, data: 'x' }]);
      expect(heartbeat.message.entries).toEqual([]);
      return { h, request: request.message, heartbeat: heartbeat.message };
    }

    const cases: ReplyCase[] = [
      ['reply null', null, 'reply'],
      ['reply a number', 42, 'reply'],
      ['follower 2: not the server the request went to', { follower: 2, followerTerm: 3, success: true, matchIndex: 4 }, 'follower'],
      ['follower 1: the leader itself', { follower: 1, followerTerm: 3, success: true, matchIndex: 4 }, 'follower'],
      ['follower 9: outside the cluster', { follower: 9, followerTerm: 3, success: true, matchIndex: 4 }, 'follower'],
      ['follower -1', { follower: -1, followerTerm: 3, success: true, matchIndex: 4 }, 'follower'],
      ['followerTerm -1', { follower: 0, followerTerm: -1, success: false, matchIndex: 0 }, 'followerTerm'],
      ['followerTerm 2.5', { follower: 0, followerTerm: 2.5, success: true, matchIndex: 4 }, 'followerTerm'],
      ['followerTerm 2: below the request term', { follower: 0, followerTerm: 2, success: false, matchIndex: 0 }, 'followerTerm'],
      ["followerTerm '3' (a string)", { follower: 0, followerTerm: '3', success: true, matchIndex: 4 }, 'followerTerm'],
      ["success 'true' (not a boolean)", { follower: 0, followerTerm: 3, success: 'true', matchIndex: 4 }, 'success'],
      ['success missing', { follower: 0, followerTerm: 3, matchIndex: 4 }, 'success'],
      ['matchIndex -1', { follower: 0, followerTerm: 3, success: false, matchIndex: -1 }, 'matchIndex'],
      ['matchIndex 1.5', { follower: 0, followerTerm: 3, success: false, matchIndex: 1.5 }, 'matchIndex'],
      ["matchIndex '4' (a string)", { follower: 0, followerTerm: 3, success: true, matchIndex: '4' }, 'matchIndex'],
      ['success with matchIndex 3 (not prevLogEntry.index + entries.length)', { follower: 0, followerTerm: 3, success: true, matchIndex: 3 }, 'matchIndex'],
      ['success with matchIndex 5 (beyond what was sent)', { follower: 0, followerTerm: 3, success: true, matchIndex: 5 }, 'matchIndex'],
      ['success with matchIndex 0', { follower: 0, followerTerm: 3, success: true, matchIndex: 0 }, 'matchIndex'],
      ['success with a later followerTerm', { follower: 0, followerTerm: 4, success: true, matchIndex: 4 }, 'followerTerm'],
      ['a wrong follower with a much later term (must not depose the leader)', { follower: 2, followerTerm: 9, success: false, matchIndex: 0 }, 'follower'],
    ];

    it.each(cases)('%s', (_name, reply, field) => {
      const { h, request } = setUp();
      expectRefused(h, () => (request.replyChannel as (r: unknown) => void)(reply), field);
      expect(h.server.role).toBe('leader');
      expect(h.server.volatileState.commitIndex).toBe(2); // as learned while a follower
      // The closure still works: the genuine acknowledgement commits entry 4 (a majority: 1 and 0).
      request.replyChannel({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 });
      expect(h.server.volatileState.commitIndex).toBe(4);
      expect(h.server.leaderState?.matchIndex[0]).toBe(4);
    });

    it('a heartbeat reply claiming success beyond prevLogEntry is refused', () => {
      const { h, heartbeat } = setUp();
      expect(heartbeat.prevLogEntry.index).toBe(3);
      expectRefused(h, () => heartbeat.replyChannel({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 }), 'matchIndex');
      expect(h.server.volatileState.commitIndex).toBe(2);
    });

    it('a malformed reply to an old vote request is refused too, once leader', () => {
      const { h } = setUp();
      const request = voteRequestTo0(h);
      expectRefused(h, () => (request.replyChannel as (r: unknown) => void)({ voter: 2, voterTerm: 3, voteGranted: true }), 'voter');
      // A well-formed but late, duplicate vote changes nothing either.
      const before = snapshot(h);
      request.replyChannel({ voter: 0, voterTerm: 3, voteGranted: true });
      expect(snapshot(h)).toEqual(before);
    });

    it('control: the same valid reply delivered twice commits once and changes nothing the second time', () => {
      const { h, request } = setUp();
      const earlier = h.events.length;
      request.replyChannel({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 });
      // Entries 3 and 4 are committed together: 4 is of the leader's term, 3 comes with it.
      expect(h.events.slice(earlier)).toEqual([
        ['committed', [{ index: 3, term: 2, data: 'c' }, { index: 4, term: 3, data: 'x' }]],
      ]);
      expect(h.server.volatileState).toEqual({ commitIndex: 4, lastApplied: 4 });
      const before = snapshot(h);
      request.replyChannel({ follower: 0, followerTerm: 3, success: true, matchIndex: 4 });
      expect(snapshot(h)).toEqual(before);
    });
  });
});
