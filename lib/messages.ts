import type { LogEntry, LogIndex, LogPosition, ServerId, Term } from './types';

/**
 * Sent by a candidate to ask for a vote (§5.2). The receiver calls `replyChannel` exactly
 * once, granted or not.
 */
export interface RequestVoteMessage {
  /** Discriminant. */
  readonly type: 'requestVote';
  /** The candidate's term. */
  readonly candidateTerm: Term;
  /** The candidate asking for the vote. */
  readonly candidateId: ServerId;
  /** The candidate's last log entry, for the up-to-date check (§5.4.1). */
  readonly candidateLastLogEntry: LogPosition;
  /**
   * A poll (pre-vote, thesis §9.6): would the voter vote for this candidate in
   * `candidateTerm`? Nobody changes term or vote for it. Absent means `false`.
   */
  readonly preVote?: boolean;
  /**
   * The candidate runs because the leader asked it to (`timeoutNow`, leadership transfer):
   * voters under check-quorum do not refuse it for having a leader. Absent means `false`.
   */
  readonly leadershipTransfer?: boolean;
  /** Called once with the voter's answer. A transport rebuilds it on the far side. */
  readonly replyChannel: (reply: RequestVoteReply) => void;
}

/** A voter's answer to a {@link RequestVoteMessage}. */
export interface RequestVoteReply {
  /** The server that answers. */
  readonly voter: ServerId;
  /** The voter's current term, for the candidate to update itself. */
  readonly voterTerm: Term;
  /** Whether the voter granted its vote for `candidateTerm`. */
  readonly voteGranted: boolean;
}

/**
 * Sent by a leader to replicate entries and as a heartbeat (§5.3). `entries` have indices
 * `prevLogEntry.index + 1, + 2, ...`; an empty array is a heartbeat. The receiver calls
 * `replyChannel` exactly once.
 */
export interface AppendEntriesMessage<T> {
  /** Discriminant. */
  readonly type: 'appendEntries';
  /** The leader's term. */
  readonly leaderTerm: Term;
  /** The leader, so followers can forward clients to it. */
  readonly leaderId: ServerId;
  /** The entry just before `entries[0]`; the follower must hold it to accept the rest. */
  readonly prevLogEntry: LogPosition;
  /** Entries to store, empty for a heartbeat. */
  readonly entries: readonly LogEntry<T>[];
  /** The leader's commitIndex. */
  readonly leaderCommitIndex: LogIndex;
  /** Called once with the follower's answer. A transport rebuilds it on the far side. */
  readonly replyChannel: (reply: AppendEntriesReply) => void;
}

/** A follower's answer to an {@link AppendEntriesMessage}. */
export interface AppendEntriesReply {
  /** The server that answers. */
  readonly follower: ServerId;
  /** The follower's current term, for the leader to update itself. */
  readonly followerTerm: Term;
  /** Whether the follower held `prevLogEntry` and stored the entries. */
  readonly success: boolean;
  /**
   * On success, `prevLogEntry.index + entries.length`: the follower's log matches the
   * leader's up to here. On failure, a hint: the index after which the leader should try
   * next, skipping a whole missing or divergent stretch at once.
   */
  readonly matchIndex: LogIndex;
  /**
   * On failure, optionally, the term of the follower's entry at `matchIndex` (0 for index
   * 0). With it the leader skips back to the last entry of its own log whose term is at most
   * this one, rather than trusting the index alone (etcd's findConflictByTerm), so a
   * divergent stretch costs a round trip per term, never a resend of the matching prefix.
   * Absent from replies of peers that do not send it; ignored on success.
   */
  readonly hintTerm?: Term;
}

/**
 * Sent by a leader to a follower that needs entries the leader has compacted (Raft §7): the
 * leader's latest snapshot, in chunks of at most `maxSnapshotChunkBytes`, one message per
 * chunk. The follower assembles the chunks of one snapshot in order and installs it when the
 * chunk with `done` arrives. The receiver calls `replyChannel` exactly once.
 */
export interface InstallSnapshotMessage {
  /** Discriminant. */
  readonly type: 'installSnapshot';
  /** The leader's term. */
  readonly leaderTerm: Term;
  /** The leader, so followers can forward clients to it. */
  readonly leaderId: ServerId;
  /** The last entry the snapshot covers. */
  readonly lastIncluded: LogPosition;
  /** Byte offset of this chunk in the snapshot's data. */
  readonly offset: number;
  /** The chunk: bytes `offset .. offset + data.length` of the snapshot's data. */
  readonly data: Uint8Array;
  /** Whether this is the last chunk. */
  readonly done: boolean;
  /** Called once with the follower's answer. A transport rebuilds it on the far side. */
  readonly replyChannel: (reply: InstallSnapshotReply) => void;
}

/** A follower's answer to an {@link InstallSnapshotMessage}. */
export interface InstallSnapshotReply {
  /** The server that answers. */
  readonly follower: ServerId;
  /** The follower's current term, for the leader to update itself. */
  readonly followerTerm: Term;
  /**
   * Whether the chunk was taken: stored, installed (the last chunk), or not needed because
   * the follower has already committed past the snapshot. `false` for a stale term, or for a
   * chunk that does not continue the transfer the follower has under way.
   */
  readonly success: boolean;
  /**
   * How many bytes of this snapshot the follower holds now: the offset the leader sends
   * next. After a refused chunk it says where to resume (0: start again).
   */
  readonly bytesReceived: number;
}

/**
 * Sent by a leader that hands its leadership over (thesis §3.10) to the follower it chose,
 * once that follower's log is up to date: the follower starts an election at once, without
 * pre-vote, and its RequestVotes say `leadershipTransfer: true`. The receiver calls
 * `replyChannel` exactly once.
 */
export interface TimeoutNowMessage {
  /** Discriminant. */
  readonly type: 'timeoutNow';
  /** The leader's term. */
  readonly leaderTerm: Term;
  /** The leader handing over. */
  readonly leaderId: ServerId;
  /** Called once with the follower's answer. A transport rebuilds it on the far side. */
  readonly replyChannel: (reply: TimeoutNowReply) => void;
}

/** A follower's answer to a {@link TimeoutNowMessage}: its term after acting on it. */
export interface TimeoutNowReply {
  /** The server that answers. */
  readonly follower: ServerId;
  /** The follower's current term (the new election's, when it started one). */
  readonly followerTerm: Term;
}

/** Any request a server processes with `Server.processMessage`. */
export type Message<T> = RequestVoteMessage | AppendEntriesMessage<T> | InstallSnapshotMessage | TimeoutNowMessage;

/**
 * A reply travelling back through a network, as {@link InMemoryNetwork} shows it: the
 * reply's kind and its data.
 */
export type Reply = RequestVoteReplyEnvelope | AppendEntriesReplyEnvelope | InstallSnapshotReplyEnvelope | TimeoutNowReplyEnvelope;

/** A {@link RequestVoteReply} travelling through a network. */
export interface RequestVoteReplyEnvelope {
  /** Discriminant. */
  readonly type: 'requestVoteReply';
  /** The voter's answer. */
  readonly reply: RequestVoteReply;
}

/** An {@link AppendEntriesReply} travelling through a network. */
export interface AppendEntriesReplyEnvelope {
  /** Discriminant. */
  readonly type: 'appendEntriesReply';
  /** The follower's answer. */
  readonly reply: AppendEntriesReply;
}

/** An {@link InstallSnapshotReply} travelling through a network. */
export interface InstallSnapshotReplyEnvelope {
  /** Discriminant. */
  readonly type: 'installSnapshotReply';
  /** The follower's answer. */
  readonly reply: InstallSnapshotReply;
}

/** A {@link TimeoutNowReply} travelling through a network. */
export interface TimeoutNowReplyEnvelope {
  /** Discriminant. */
  readonly type: 'timeoutNowReply';
  /** The follower's answer. */
  readonly reply: TimeoutNowReply;
}
