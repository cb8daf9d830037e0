import { AppliedValues, createExplorer, HELP, main, parseCommandLine, summarize, USAGE, type Explorer } from '../../examples/explorer';
import { ConfigurationError } from '../../lib';

/** One server's row of the screen. */
interface Row {
  id: number;
  role: string;
  term: string;
  votedFor: string;
  leader: string;
  commit: string;
  snap: string;
  timer: string;
  log: string;
}

/** The server rows of a screen (or of a command's output, which ends with the screen). */
function rows(output: string): Row[] {
  const lines = output.split('\n');
  const header = lines.findIndex((line) => /^id\s+role\s+term\s+votedFor\s+leader\s+commit\s+snap\s+timer\s+log$/.test(line));
  expect(header).toBeGreaterThanOrEqual(0);
  const result: Row[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!/^\d+\s+(follower|candidate|leader|CRASHED)\s/.test(line)) break;
    const [id = '', role = '', term = '', votedFor = '', leader = '', commit = '', snap = '', timer = '', ...log] = line.split(/\s+/);
    result.push({ id: Number(id), role, term, votedFor, leader, commit, snap, timer, log: log.join(' ') });
  }
  return result;
}

/** The waiting messages listed on a screen, as `{id, text}`. */
function waiting(output: string): { id: number; text: string }[] {
  return output
    .split('\n')
    .map((line) => /^\s+(\d+)\s+(\d+→\d+\s+.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: Number(m[1]), text: (m[2] ?? '').replace(/\s+/g, ' ') }));
}

function row(output: string, id: number): Row {
  const found = rows(output).find((r) => r.id === id);
  if (found === undefined) throw new Error(`no row for server ${id} in:\n${output}`);
  return found;
}

describe('examples/explorer', () => {
  let explorer: Explorer;

  beforeEach(() => {
    explorer = createExplorer({ servers: 3, seed: 1 });
  });

  it('starts with three followers at term 0, empty logs and no message', () => {
    const screen = explorer.screen();
    expect(screen).toMatch(/time 0 ms/);
    expect(rows(screen)).toEqual(
      [0, 1, 2].map((id) => expect.objectContaining({ id, role: 'follower', term: '0', votedFor: '-', leader: '-', commit: '0', snap: '-', log: '(empty)' })),
    );
    expect(screen).toMatch(/no message waiting/);
    expect(explorer.done).toBe(false);
  });

  it('elects server 0, replicates a proposal and shows it committed everywhere', () => {
    let out = explorer.execute('timeout 0');
    expect(row(out, 0)).toMatchObject({ role: 'candidate', term: '1', votedFor: '0' });
    const votes = waiting(out);
    expect(votes.map((v) => v.text)).toEqual(['0→1 RequestVote t1 last=(0,t0)', '0→2 RequestVote t1 last=(0,t0)']);

    // Deliver the vote requests one by one: each voter's reply appears.
    for (const { id } of votes) out = explorer.execute(`deliver ${id}`);
    expect(row(out, 1)).toMatchObject({ term: '1', votedFor: '0' });
    const replies = waiting(out);
    expect(replies.map((r) => r.text)).toEqual(['1→0 RequestVoteReply granted t1', '2→0 RequestVoteReply granted t1']);

    // The first granted vote is a majority of three: server 0 leads and sends heartbeats.
    out = explorer.execute(`deliver ${replies[0]?.id}`);
    expect(out).toMatch(/server 0 becomes leader in term 1/);
    expect(row(out, 0)).toMatchObject({ role: 'leader', term: '1', leader: '0' });
    expect(waiting(out).map((m) => m.text)).toEqual(
      expect.arrayContaining(['0→1 AppendEntries t1 prev=(0,t0) entries=[] commit=0', '0→2 AppendEntries t1 prev=(0,t0) entries=[] commit=0']),
    );
    out = explorer.execute(`deliver ${replies[1]?.id}`);
    expect(row(out, 0).role).toBe('leader');

    out = explorer.execute('deliver all');
    expect(out).toMatch(/network is quiet/);
    expect(rows(out).map((r) => r.leader)).toEqual(['0', '0', '0']);

    out = explorer.execute('propose hello');
    expect(out.split('\n')[0]).toBe('proposed hello to leader 0: appended at index 1 in term 1');
    expect(row(out, 0).log).toBe('1:t1=hello');
    expect(waiting(out).map((m) => m.text)).toContain('0→1 AppendEntries t1 prev=(0,t0) entries=[1:t1=hello] commit=0');

    out = explorer.execute('deliver all');
    expect(out).toMatch(/server 0 commits 1:t1=hello/);
    expect(row(out, 0).commit).toBe('1');
    expect(rows(out).map((r) => r.log)).toEqual(['1:t1=hello', '1:t1=hello', '1:t1=hello']);

    // Followers learn the commit index from the leader's next AppendEntries.
    explorer.execute('heartbeat 0');
    out = explorer.execute('deliver all');
    expect(rows(out).map((r) => r.commit)).toEqual(['1', '1', '1']);
    expect(out).toMatch(/no message waiting/);
    expect(explorer.cluster.committed(2)).toEqual([{ index: 1, term: 1, data: 'hello' }]);
  });

  it('refuses bad commands with one line and changes nothing', () => {
    explorer.execute('timeout 0'); // two messages waiting, ids 1 and 2
    const before = explorer.screen();
    const bad: [string, RegExp][] = [
      ['bogus', /unknown command "bogus"/],
      ['timeout', /timeout: missing <server>/],
      ['timeout x', /expected a server id/],
      ['timeout 1.5', /expected a server id/],
      ['timeout -1', /expected a server id/],
      ['timeout 3', /server 3 is out of range/],
      ['timeout 0 1', /expected only <server>/],
      ['heartbeat 7', /out of range/],
      ['crash 9', /out of range/],
      ['restart', /missing <server>/],
      ['deliver', /deliver: missing <id>/],
      ['deliver 99', /no undelivered message 99/],
      ['deliver abc', /expected a message id/],
      ['drop 42', /no undelivered message 42/],
      ['propose', /propose: missing <value>/],
      ['advance', /advance: missing <ms>/],
      ['advance soon', /expected a number of milliseconds/],
      ['advance -5', /^error: advance: expected a number of milliseconds >= 0, got "-5"$/],
      ['advance Infinity', /expected a number of milliseconds >= 0/],
      ['show me', /takes no argument/],
      ['partition', /partition: missing <groups>, e\.g\. "partition 0,1 2"/],
      ['partition 0,x 1', /partition: expected a server id \(an integer\), got "x"/],
      ['partition 0,1 1,2', /partition: server 1 is named twice/],
      ['partition 0,3', /partition: server 3 is out of range/],
      ['heal now', /heal: takes no argument/],
    ];
    for (const [command, expected] of bad) {
      const out = explorer.execute(command);
      expect({ command, out }).toEqual({ command, out: expect.stringMatching(/^error: /) });
      expect(out).not.toContain('\n');
      expect(out).toMatch(expected);
      // Messages for the user: no internal variable names (the library's are in backquotes).
      expect(out).not.toMatch(/`|Error:/);
      expect(explorer.screen()).toBe(before);
    }
  });

  it('shows every new election in the feed, also a candidate timing out again (no role change)', () => {
    let out = explorer.execute('timeout 0');
    expect(out).toMatch(/server 0 starts an election for term 1 and votes for itself/);
    expect(out).toMatch(/server 0 becomes candidate in term 1/);
    out = explorer.execute('timeout 0'); // still a candidate: a new term, a new election
    expect(out.split('\n')[0]).toBe('server 0 timed out');
    expect(out).toMatch(/server 0 starts an election for term 2 and votes for itself/);
    expect(row(out, 0)).toMatchObject({ role: 'candidate', term: '2', votedFor: '0' });
    expect(waiting(out).map((m) => m.text)).toEqual(expect.arrayContaining(['0→1 RequestVote t2 last=(0,t0)', '0→2 RequestVote t2 last=(0,t0)']));
    // The votes cast show too.
    out = explorer.execute('deliver all');
    expect(out).toMatch(/server 1 votes for server 0 in term 2/);
    expect(out).toMatch(/server 0 becomes leader in term 2/);
  });

  it('partitions the network and heals it: the majority side elects, the old leader steps down after healing', () => {
    const five = createExplorer({ servers: 5, seed: 3 });
    five.execute('timeout 0');
    let out = five.execute('deliver all');
    expect(rows(out).map((r) => r.leader)).toEqual(['0', '0', '0', '0', '0']);

    out = five.execute('partition 0,1 2,3,4');
    expect(out.split('\n')[0]).toBe('partitioned: {0,1} {2,3,4}');
    expect(out).toMatch(/^partition: \{0,1\} \{2,3,4\}$/m);

    // A heartbeat from 0 reaches 1 only: the three others are lost when sent.
    out = five.execute('heartbeat 0');
    expect(out).toMatch(/· 3 messages lost: the partition cuts them off/);
    expect(waiting(out).map((m) => m.text)).toEqual(['0→1 AppendEntries t1 prev=(0,t0) entries=[] commit=0']);
    five.execute('deliver all');

    // The majority side elects server 2 in term 2; server 0 still thinks it leads term 1.
    five.execute('timeout 2');
    out = five.execute('deliver all');
    expect(out).toMatch(/server 2 becomes leader in term 2/);
    expect(rows(out).map((r) => [r.role, r.term])).toEqual([
      ['leader', '1'],
      ['follower', '1'],
      ['leader', '2'],
      ['follower', '2'],
      ['follower', '2'],
    ]);

    // A server named in no group is alone.
    expect(five.execute('partition 0,1 2,3').split('\n')[0]).toBe('partitioned: {0,1} {2,3} (alone: 4)');

    out = five.execute('heal');
    expect(out.split('\n')[0]).toBe('healed: every server reaches every other again');
    expect(out).not.toMatch(/^partition:/m);
    expect(five.execute('heal').split('\n')[0]).toBe('no partition to heal');
    five.execute('heartbeat 2');
    out = five.execute('deliver all');
    expect(out).toMatch(/server 0 becomes follower in term 2/);
    expect(rows(out).map((r) => r.leader)).toEqual(['2', '2', '2', '2', '2']);
  });

  it('drops messages, advances time, proposes without a leader, crashes and restarts', () => {
    let out = explorer.execute('timeout 0');
    out = explorer.execute('drop 1');
    expect(out.split('\n')[0]).toBe('dropped 1 0→1 RequestVote t1 last=(0,t0)');
    expect(waiting(out).map((m) => m.id)).toEqual([2]);

    out = explorer.execute('propose x');
    expect(out.split('\n')[0]).toBe('no leader: nothing proposed (server 0 says delay, server 1 says delay, server 2 says delay)');
    expect(rows(out).map((r) => r.log)).toEqual(['(empty)', '(empty)', '(empty)']);

    out = explorer.execute('deliver all');
    expect(row(out, 0).role).toBe('leader');

    out = explorer.execute('crash 0');
    expect(out.split('\n')[0]).toMatch(/^server 0 crashed \(\d+ messages? lost\)$/);
    expect(row(out, 0)).toMatchObject({ role: 'CRASHED', term: '1', leader: '-', commit: '-' });
    expect(out).toMatch(/no message waiting/);
    expect(explorer.execute('crash 0').split('\n')[0]).toBe('server 0 is already crashed');
    expect(explorer.execute('timeout 0').split('\n')[0]).toBe('server 0 is crashed: nothing happens');

    // Server 1 still knows leader 0: it says forward.
    out = explorer.execute('propose y');
    expect(out.split('\n')[0]).toMatch(/^no leader: nothing proposed \(server 1 says forward to 0, server 2 says forward to 0\)$/);

    // Time moves and an election timer falls due: someone becomes a candidate of term 2.
    out = explorer.execute('advance 400');
    expect(out.split('\n')[0]).toBe('time 0 → 400 ms');
    expect(out).toMatch(/time 400 ms/);
    expect(rows(out).some((r) => r.role === 'candidate' && r.term === '2')).toBe(true);

    out = explorer.execute('restart 0');
    expect(out.split('\n')[0]).toBe('server 0 restarted');
    expect(row(out, 0)).toMatchObject({ role: 'follower', term: '1', votedFor: '0', commit: '0' });

    // Servers 1 and 2 split the vote of term 2; a fresh timeout of server 1 settles it, with server 0's vote.
    explorer.execute('deliver all');
    explorer.execute('timeout 1');
    out = explorer.execute('deliver all');
    expect(out).toMatch(/server 1 becomes leader in term 3/);
    expect(rows(out).map((r) => [r.role, r.term, r.leader])).toEqual([
      ['follower', '3', '1'],
      ['leader', '3', '1'],
      ['follower', '3', '1'],
    ]);
  });

  it('prints help, ignores blank lines and comments, and quits', () => {
    expect(explorer.execute('help')).toMatch(/deliver all/);
    expect(explorer.execute('')).toBe('');
    expect(explorer.execute('# a comment')).toBe('');
    expect(explorer.execute('quit')).toBe('bye');
    expect(explorer.done).toBe(true);
    expect(explorer.execute('timeout 0')).toMatch(/^error: /);
  });

  it('is deterministic for a seed', () => {
    const script = ['advance 300', 'deliver all', 'propose a', 'propose b', 'deliver all', 'advance 60', 'deliver all'];
    const run = (): string[] => {
      const e = createExplorer({ servers: 5, seed: 9 });
      return script.map((line) => e.execute(line));
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(rows(first[first.length - 1] ?? '')).toHaveLength(5);
  });

  it('summarizes failed replies and long entry lists on one line', () => {
    expect(summarize({ type: 'appendEntriesReply', reply: { follower: 1, followerTerm: 3, success: false, matchIndex: 2 } })).toBe(
      'AppendEntriesReply rejected hint=2 t3',
    );
    expect(summarize({ type: 'requestVoteReply', reply: { voter: 1, voterTerm: 4, voteGranted: false } })).toBe('RequestVoteReply refused t4');
    const entries = Array.from({ length: 10 }, (_, k) => ({ index: k + 3, term: 2, data: `v${k}` }));
    const text = summarize({
      type: 'appendEntries',
      leaderTerm: 2,
      leaderId: 0,
      prevLogEntry: { index: 2, term: 1 },
      entries,
      leaderCommitIndex: 2,
      replyChannel: () => undefined,
    });
    expect(text).toBe('AppendEntries t2 prev=(2,t1) entries=[3:t2=v0 4:t2=v1 …(6 more) 11:t2=v8 12:t2=v9] commit=2');
  });

  it('parses --servers, --seed and --help, and refuses the rest in words for the user', () => {
    expect(parseCommandLine([])).toEqual({ servers: 3, seed: 1, help: false });
    expect(parseCommandLine(['--servers', '5', '--seed=42'])).toEqual({ servers: 5, seed: 42, help: false });
    expect(parseCommandLine(['--seed', '-7'])).toEqual({ servers: 3, seed: -7, help: false });
    expect(parseCommandLine(['--help'])).toMatchObject({ help: true });
    expect(parseCommandLine(['-h'])).toMatchObject({ help: true });
    const refused: [string[], RegExp][] = [
      [['--servers'], /^--servers expects an integer, got nothing\nrun with --help for usage$/],
      [['--servers', 'five'], /^--servers expects an integer, got "five"/],
      [['--servers', '0'], /^--servers must be from 1 to 99, got 0/],
      [['--nodes', '3'], /^unknown option "--nodes"/],
      [['extra'], /^unexpected argument "extra"/],
      [['--help=yes'], /^--help takes no value/],
    ];
    for (const [argv, message] of refused) expect(() => parseCommandLine(argv)).toThrow(message);
    expect(() => createExplorer({ servers: 0 })).toThrow('Expected `servers` to be an integer from 1 to 99, got 0');
    expect(() => createExplorer({ seed: 0.5 })).toThrow(/`seed`/);
  });

  it('main prints the usage on --help and exits 0; on a bad option it says why on stderr and exits 2', async () => {
    const written: { out: string; err: string } = { out: '', err: '' };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((written.out += String(chunk)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((written.err += String(chunk)), true));
    const exitCode = process.exitCode;
    try {
      await main(['--help']);
      expect(written.out).toBe(`${USAGE}\n`);
      expect(USAGE).toMatch(/--servers N[\s\S]*--seed S[\s\S]*-h, --help/);
      expect(process.exitCode).toBe(exitCode);
      await main(['--servers', 'many']);
      expect(written.err).toBe('--servers expects an integer, got "many"\nrun with --help for usage\n');
      expect(process.exitCode).toBe(2);
    } finally {
      out.mockRestore();
      err.mockRestore();
      process.exitCode = exitCode;
    }
  });

  describe('log compaction', () => {
    const firstLine = (output: string): string => output.split('\n')[0] ?? '';

    /** Elects server 0 and commits `values` on every server. */
    function committed(target: Explorer, values: string[]): void {
      target.execute('timeout 0');
      target.execute('deliver all');
      for (const value of values) target.execute(`propose ${value}`);
      target.execute('deliver all');
      target.execute('heartbeat 0');
      target.execute('deliver all');
    }

    it('compact <server> snapshots the state machine: the snap column shows it, the log keeps what follows', () => {
      committed(explorer, ['a', 'b', 'c']);
      expect(row(explorer.screen(), 0)).toMatchObject({ commit: '3', snap: '-', log: '1:t1=a 2:t1=b 3:t1=c' });
      const output = explorer.execute('compact 0');
      expect(output).toMatch(/^server 0 compacted its log: snapshot up to 3:t1$/m);
      expect(output).toMatch(/^ {2}· server 0 stores a snapshot up to 3:t1 \(13 bytes\) and keeps no entry$/m);
      expect(row(output, 0)).toMatchObject({ commit: '3', snap: '3:t1', log: '(empty after the snapshot)' });
      expect(row(output, 1)).toMatchObject({ snap: '-', log: '1:t1=a 2:t1=b 3:t1=c' });
      expect(firstLine(explorer.execute('compact 0'))).toBe('server 0 has applied nothing since its snapshot up to 3:t1: nothing to compact');
      explorer.execute('propose d');
      expect(row(explorer.screen(), 0).log).toBe('… 4:t1=d');
      expect((explorer.cluster.stateMachine(0) as AppliedValues).values).toEqual(['a', 'b', 'c']);
    });

    it('compact refuses what it must: a crashed server, a bad id; a server that applied nothing has nothing to compact', () => {
      expect(firstLine(explorer.execute('compact 0'))).toBe('server 0 has applied nothing yet: nothing to compact');
      explorer.execute('crash 1');
      expect(firstLine(explorer.execute('compact 1'))).toBe('server 1 is crashed: nothing happens');
      expect(explorer.execute('compact 7')).toBe('error: compact: server 7 is out of range: the servers are 0..2');
      expect(explorer.execute('compact')).toBe('error: compact: missing <server>');
      expect(HELP).toMatch(/^ {2}compact <server> /m);
    });

    it('a follower that missed compacted entries gets the snapshot in chunks, shown as InstallSnapshot messages', () => {
      const small = createExplorer({ servers: 3, seed: 1, maxSnapshotChunkBytes: 5 });
      small.execute('timeout 0');
      small.execute('deliver all');
      small.execute('crash 2');
      for (const value of ['a', 'b', 'c']) small.execute(`propose ${value}`);
      small.execute('deliver all');
      small.execute('compact 0');
      small.execute('restart 2');
      small.execute('heartbeat 0');
      const output = small.execute('deliver all');
      expect(output).toMatch(/▸ \d+ 0→2 InstallSnapshot t1 last=\(3,t1\) bytes 0\.\.5$/m);
      expect(output).toMatch(/▸ \d+ 0→2 InstallSnapshot t1 last=\(3,t1\) bytes 10\.\.13 done$/m);
      expect(output).toMatch(/▸ \d+ 2→0 InstallSnapshotReply ok received=5 t1$/m);
      expect(output).toMatch(/^ {2}· server 2 installs the leader's snapshot up to 3:t1: commit and applied 3$/m);
      expect(row(output, 2)).toMatchObject({ commit: '3', snap: '3:t1', log: '(empty after the snapshot)' });
      expect((small.cluster.stateMachine(2) as AppliedValues).values).toEqual(['a', 'b', 'c']);
    });

    it('with maxLogEntries the servers compact on their own; a restarted server starts from its snapshot', () => {
      const bounded = createExplorer({ servers: 3, seed: 1, maxLogEntries: 4, trailingLogEntries: 1 });
      committed(bounded, ['a', 'b', 'c', 'd', 'e', 'f']);
      const screen = bounded.screen();
      for (const id of [0, 1, 2]) expect(row(screen, id).snap).toMatch(/^\d+:t1$/);
      expect(row(screen, 0).log.startsWith('… ')).toBe(true);
      const restarted = bounded.execute('restart 1');
      const snap = row(restarted, 1).snap;
      expect(row(restarted, 1).commit).toBe(snap.split(':')[0]);
      expect((bounded.cluster.stateMachine(1) as AppliedValues).values).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].slice(0, Number(snap.split(':')[0])));
    });

    it('parses --max-log-entries, --trailing-log-entries and --max-chunk-bytes', () => {
      expect(parseCommandLine(['--max-log-entries', '10', '--trailing-log-entries=2', '--max-chunk-bytes', '8'])).toEqual({
        servers: 3,
        seed: 1,
        help: false,
        maxLogEntries: 10,
        trailingLogEntries: 2,
        maxSnapshotChunkBytes: 8,
      });
      expect(() => parseCommandLine(['--max-log-entries', '0'])).toThrow(/^--max-log-entries must be at least 1, got 0/);
      expect(() => parseCommandLine(['--max-chunk-bytes', 'x'])).toThrow(/^--max-chunk-bytes expects an integer, got "x"/);
      expect(parseCommandLine(['--trailing-log-entries', '0'])).toMatchObject({ trailingLogEntries: 0 });
      expect(USAGE).toMatch(/--max-log-entries N[\s\S]*--trailing-log-entries N[\s\S]*--max-chunk-bytes N/);
    });
  });

  describe('pre-vote, check-quorum, reads and leadership transfer', () => {
    const firstLine = (output: string): string => output.split('\n')[0] ?? '';
    const texts = (output: string): string[] => waiting(output).map((m) => m.text);

    /** Elects server 0 in term 1 (with or without a poll first) and delivers everything. */
    function elected(target: Explorer): string {
      target.execute('timeout 0');
      const out = target.execute('deliver all');
      expect(rows(out).map((r) => r.leader)).toEqual(['0', '0', '0']);
      return out;
    }

    it('parses --pre-vote, --check-quorum and --read-mode, and refuses bad values', () => {
      expect(parseCommandLine(['--pre-vote', '--check-quorum', '--read-mode', 'lease'])).toEqual({
        servers: 3,
        seed: 1,
        help: false,
        preVote: true,
        checkQuorum: true,
        readMode: 'lease',
      });
      expect(parseCommandLine(['--read-mode=safe', '--servers', '5'])).toEqual({ servers: 5, seed: 1, help: false, readMode: 'safe' });
      const refused: [string[], RegExp][] = [
        [['--read-mode', 'fast'], /^--read-mode expects safe or lease, got "fast"\nrun with --help for usage$/],
        [['--read-mode'], /^--read-mode expects safe or lease, got nothing/],
        [['--pre-vote=yes'], /^--pre-vote takes no value/],
        [['--check-quorum=1'], /^--check-quorum takes no value/],
        [['--prevote'], /^unknown option "--prevote"/],
      ];
      for (const [argv, message] of refused) expect(() => parseCommandLine(argv)).toThrow(message);
      expect(USAGE).toMatch(/--pre-vote[\s\S]*--check-quorum[\s\S]*--read-mode safe\|lease/);
    });

    it('main refuses lease reads without --check-quorum with the ConfigurationError message and exit code 2', async () => {
      let expected = '';
      try {
        createExplorer({ readMode: 'lease' });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        expected = (error as Error).message;
      }
      expect(expected).toMatch(/readMode/);
      const written = { out: '', err: '' };
      const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((written.out += String(chunk)), true));
      const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((written.err += String(chunk)), true));
      const exitCode = process.exitCode;
      try {
        await main(['--read-mode', 'lease']);
        expect(written.err).toBe(`${expected}\n`);
        expect(written.out).toBe('');
        expect(process.exitCode).toBe(2);
      } finally {
        out.mockRestore();
        err.mockRestore();
        process.exitCode = exitCode;
      }
      // With check-quorum, lease reads are fine.
      expect(() => createExplorer({ checkQuorum: true, readMode: 'lease' })).not.toThrow();
    });

    it('shows a poll apart from an election: PreVote, PreVoteReply, and the feed line when a server starts polling', () => {
      const polling = createExplorer({ servers: 3, seed: 1, preVote: true });
      let out = polling.execute('timeout 0');
      expect(out).toMatch(/^ {2}· server 0 polls for term 1 \(pre-vote\)$/m);
      expect(out).not.toMatch(/starts an election/);
      expect(row(out, 0)).toMatchObject({ role: 'follower', term: '0', votedFor: '-' });
      expect(texts(out)).toEqual(['0→1 PreVote t1 last=(0,t0)', '0→2 PreVote t1 last=(0,t0)']);

      // Delivering a poll, one by one: the answer shows as PreVoteReply with the voter's term; nobody changed term or vote.
      out = polling.execute('deliver 1');
      expect(firstLine(out)).toBe('delivered 1 0→1 PreVote t1 last=(0,t0)');
      expect(row(out, 1)).toMatchObject({ term: '0', votedFor: '-' });
      const reply = waiting(out).find((m) => m.text.startsWith('1→0'));
      expect(reply?.text).toBe('1→0 PreVoteReply granted t0');

      // A majority of yes: now the real election, with RequestVote and RequestVoteReply.
      out = polling.execute(`deliver ${reply?.id}`);
      expect(firstLine(out)).toBe(`delivered ${reply?.id} 1→0 PreVoteReply granted t0`);
      expect(out).toMatch(/server 0 starts an election for term 1 and votes for itself/);
      expect(texts(out)).toEqual(['0→2 PreVote t1 last=(0,t0)', '0→1 RequestVote t1 last=(0,t0)', '0→2 RequestVote t1 last=(0,t0)']);
      out = polling.execute('deliver all');
      expect(out).toMatch(/▸ \d+ 2→0 PreVoteReply granted t0$/m);
      expect(out).toMatch(/▸ \d+ 1→0 RequestVoteReply granted t1$/m);
      expect(out).toMatch(/server 0 becomes leader in term 1/);

      // A server that hears from its leader refuses a poll; the refusal, dropped, is still named as a poll's answer.
      out = polling.execute('timeout 2');
      expect(out).toMatch(/server 2 polls for term 2 \(pre-vote\)/);
      const asked = waiting(out).find((m) => m.text === '2→1 PreVote t2 last=(0,t0)');
      expect(asked).toBeDefined();
      out = polling.execute(`deliver ${asked?.id}`);
      const refused = waiting(out).find((m) => m.text.startsWith('1→2'));
      expect(refused?.text).toBe('1→2 PreVoteReply refused t1');
      expect(firstLine(polling.execute(`drop ${refused?.id}`))).toBe(`dropped ${refused?.id} 1→2 PreVoteReply refused t1`);
      expect(rows(polling.screen()).map((r) => r.term)).toEqual(['1', '1', '1']);
    });

    it('a server cut off by a partition polls again and again without raising its term; after healing the leader stays', () => {
      const guarded = createExplorer({ servers: 3, seed: 1, preVote: true, checkQuorum: true });
      elected(guarded);
      guarded.execute('partition 0,1 2');
      let out = guarded.execute('timeout 2');
      // Its polls are lost at once, but the feed still says it polls.
      expect(out).toMatch(/^ {2}· server 2 polls for term 2 \(pre-vote\)$/m);
      expect(out).toMatch(/· 2 messages lost: the partition cuts them off/);
      out = guarded.execute('timeout 2');
      expect(out.match(/server 2 polls for term 2 \(pre-vote\)/g)).toHaveLength(1); // one line per poll
      expect(row(out, 2)).toMatchObject({ role: 'follower', term: '1', leader: '-' });
      guarded.execute('heal');
      // Back in touch: the others hear from leader 0 and refuse the poll.
      guarded.execute('heartbeat 0');
      guarded.execute('deliver all');
      out = guarded.execute('timeout 2');
      expect(out).toMatch(/server 2 polls for term 2 \(pre-vote\)/);
      out = guarded.execute('deliver all');
      expect(out).toMatch(/▸ \d+ 0→2 PreVoteReply refused t1$/m);
      expect(out).toMatch(/▸ \d+ 1→2 PreVoteReply refused t1$/m);
      expect(rows(out).map((r) => [r.role, r.term])).toEqual([
        ['leader', '1'],
        ['follower', '1'],
        ['follower', '1'],
      ]);
    });

    it('summarizes polls, their answers and RequestVotes of a leadership transfer', () => {
      const request = { type: 'requestVote', candidateTerm: 5, candidateId: 2, candidateLastLogEntry: { index: 3, term: 2 }, replyChannel: () => undefined } as const;
      expect(summarize({ ...request, preVote: true })).toBe('PreVote t5 last=(3,t2)');
      expect(summarize({ ...request, leadershipTransfer: true })).toBe('RequestVote t5 last=(3,t2) (transfer)');
      expect(summarize(request)).toBe('RequestVote t5 last=(3,t2)');
      const reply = { type: 'requestVoteReply', reply: { voter: 1, voterTerm: 4, voteGranted: true } } as const;
      expect(summarize(reply, { poll: true })).toBe('PreVoteReply granted t4');
      expect(summarize({ ...reply, reply: { ...reply.reply, voteGranted: false } }, { poll: true })).toBe('PreVoteReply refused t4');
      expect(summarize(reply)).toBe('RequestVoteReply granted t4');
      expect(summarize({ type: 'timeoutNow', leaderTerm: 3, leaderId: 0, replyChannel: () => undefined })).toBe('TimeoutNow t3 from 0');
      expect(summarize({ type: 'timeoutNowReply', reply: { follower: 2, followerTerm: 4 } })).toBe('TimeoutNowReply t4');
    });

    it('read <server>: a new leader writes a no-op, the read waits for it and is answered in the feed', () => {
      elected(explorer);
      let out = explorer.execute('read 0');
      expect(firstLine(out)).toMatch(/^read #1 on 0: pending \(server 0 answers once it has confirmed its leadership and applied the read index/);
      expect(row(out, 0).log).toBe('1:t1(noop)');
      expect(texts(out)).toEqual(['0→1 AppendEntries t1 prev=(0,t0) entries=[1:t1(noop)] commit=0', '0→2 AppendEntries t1 prev=(0,t0) entries=[1:t1(noop)] commit=0']);
      expect(out).toMatch(/^pending reads: #1 on 0 \(server 0 has a tick due now: "advance 0" runs it\)$/m);

      // The no-op commits; in safe mode the read then waits for a heartbeat round, which goes out at the leader's next tick.
      out = explorer.execute('deliver all');
      expect(row(out, 0).commit).toBe('1');
      expect(out).toMatch(/^pending reads: #1 on 0 \(server 0 has a tick due now: "advance 0" runs it\)$/m);
      explorer.execute('advance 0');
      out = explorer.execute('deliver all');
      expect(out).toMatch(/^ {2}· read #1 on 0: ready at index 1 \(applied: nothing\)$/m);
      expect(out).not.toMatch(/pending reads/);
      expect(out).not.toMatch(/commits 1:t1/); // the no-op is never shown as committed
      explorer.execute('heartbeat 0');
      out = explorer.execute('deliver all');
      expect(rows(out).map((r) => [r.commit, r.log])).toEqual([
        ['1', '1:t1(noop)'],
        ['1', '1:t1(noop)'],
        ['1', '1:t1(noop)'],
      ]);

      // Next read: the term has a commit of its own, so a heartbeat round confirms it, at the leader's next tick.
      explorer.execute('propose a');
      explorer.execute('deliver all');
      out = explorer.execute('read 0');
      expect(firstLine(out)).toMatch(/^read #2 on 0: pending \(.*its next tick is due now: "advance 0" runs it\)$/);
      out = explorer.execute('advance 0');
      expect(texts(out)).toEqual(expect.arrayContaining(['0→1 AppendEntries t1 prev=(2,t1) entries=[] commit=2']));
      out = explorer.execute('deliver all');
      expect(out).toMatch(/^ {2}· read #2 on 0: ready at index 2 \(applied: a\)$/m);

      // A follower says where the leader is; with no leader, "read" alone says delay.
      expect(firstLine(explorer.execute('read 1'))).toBe('read #3 on 1: forward to 0');
      expect(firstLine(explorer.execute('read'))).toMatch(/^read #4 on 0: pending/);
      explorer.execute('crash 0');
      expect(firstLine(explorer.execute('read'))).toBe('read #5 (no leader): delay');
      expect(firstLine(explorer.execute('read 0'))).toBe('server 0 is crashed: nothing happens');
      expect(firstLine(explorer.execute('read 2'))).toBe('read #6 on 2: forward to 0');
      expect(explorer.execute('read 3')).toBe('error: read: server 3 is out of range: the servers are 0..2');
      expect(explorer.execute('read 0 1')).toBe('error: read: expected only <server>, got "0 1"');
    });

    it('a pending read is answered delay or forward when its leader is deposed, and lost when it crashes', () => {
      elected(explorer);
      explorer.execute('propose a');
      explorer.execute('deliver all');
      expect(explorer.execute('read 0')).toMatch(/^pending reads: #1 on 0/m);
      explorer.execute('timeout 1');
      let out = explorer.execute('deliver all');
      expect(out).toMatch(/server 1 becomes leader in term 2/);
      expect(out).toMatch(/^ {2}· read #1 on 0: (delay|forward to 1)$/m);
      expect(out).not.toMatch(/pending reads/);

      out = explorer.execute('read 1');
      expect(row(out, 1).log).toBe('1:t1=a 2:t2(noop)');
      expect(out).toMatch(/^pending reads: #2 on 1\b/m);
      out = explorer.execute('crash 1');
      expect(out).toMatch(/^ {2}· read #2 on 1 is lost: the server crashed before answering$/m);
      expect(out).not.toMatch(/pending reads/);
    });

    it('lease reads are answered at once while the leader holds its lease', () => {
      const lease = createExplorer({ servers: 3, seed: 1, checkQuorum: true, readMode: 'lease' });
      elected(lease);
      lease.execute('propose a');
      lease.execute('deliver all');
      const out = lease.execute('read 0');
      expect(firstLine(out)).toBe('read #1 on 0: ready at index 1 (applied: a)');
      expect(out).not.toMatch(/pending reads/);
      expect(texts(out)).toEqual([]);
    });

    it('transfer <to> goes through the leader: TimeoutNow, RequestVotes marked (transfer), a new leader', () => {
      elected(explorer);
      let out = explorer.execute('transfer 2');
      expect(firstLine(out)).toBe('transfer from leader 0 to 2: started');
      expect(texts(out)).toEqual(['0→2 TimeoutNow t1 from 0']);
      expect(firstLine(explorer.execute('propose x'))).toBe('proposed x to leader 0: delay');
      out = explorer.execute('deliver all');
      expect(out).toMatch(/▸ \d+ 2→0 RequestVote t2 last=\(0,t0\) \(transfer\)$/m);
      expect(out).toMatch(/▸ \d+ 2→0 TimeoutNowReply t2$/m);
      expect(out).toMatch(/server 2 becomes leader in term 2/);
      expect(rows(out).map((r) => r.leader)).toEqual(['2', '2', '2']);

      // transfer <from> <to>: a follower answers where the leader is.
      expect(firstLine(explorer.execute('transfer 1 0'))).toBe('transfer asked of server 1 to 0: forward to 2');
      expect(firstLine(explorer.execute('transfer 2 1'))).toBe('transfer asked of server 2 to 1: started');
    });

    it('transfer refuses bad ids with the library\'s message and changes nothing; without a leader it says delay', () => {
      expect(firstLine(explorer.execute('transfer 1'))).toBe('no leader to transfer from: delay');
      elected(explorer);
      const before = explorer.screen();
      const bad: [string, string][] = [
        ['transfer 7', 'error: transfer: Expected a server id in [0, 3), got 7'],
        ['transfer -1', 'error: transfer: Expected a server id in [0, 3), got -1'],
        ['transfer 0', 'error: transfer: transferLeadership: server 0 is the leader already'],
        ['transfer 9 1', 'error: transfer: Expected a server id in [0, 3), got 9'],
        ['transfer 0 5', 'error: transfer: transferLeadership expects a server id in [0, 3), got 5'],
        ['transfer 0 0', 'error: transfer: transferLeadership: server 0 is the leader already'],
        ['transfer', 'error: transfer: missing <to> (or <from> <to>)'],
        ['transfer 0 1 2', 'error: transfer: expected <to> or <from> <to>, got "0 1 2"'],
        ['transfer x', 'error: transfer: expected a server id (an integer), got "x"'],
      ];
      for (const [command, expected] of bad) {
        expect({ command, out: explorer.execute(command) }).toEqual({ command, out: expected });
        expect(explorer.screen()).toBe(before);
      }
      explorer.execute('crash 1');
      expect(firstLine(explorer.execute('transfer 1 2'))).toBe('server 1 is crashed: nothing happens');
    });

    it('help lists read, transfer and the new flags', () => {
      expect(HELP).toMatch(/^ {2}read <server> /m);
      expect(HELP).toMatch(/^ {2}transfer <to> /m);
      expect(HELP).toMatch(/^ {2}transfer <from> <to> /m);
      expect(HELP).toMatch(/^ {2}--pre-vote /m);
      expect(HELP).toMatch(/^ {2}--check-quorum /m);
      expect(HELP).toMatch(/^ {2}--read-mode safe\|lease /m);
      expect(HELP).toMatch(/3:t2\(noop\)/);
      expect(explorer.execute('help')).toBe(HELP);
    });
  });
});
