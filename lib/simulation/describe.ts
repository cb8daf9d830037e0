import type { Message, Reply } from '../messages';

/** A one-line summary of a message or reply, as traces show it. */
export function describeMessage<T>(message: Message<T> | Reply): string {
  switch (message.type) {
    case 'requestVote':
      return `RequestVote t${message.candidateTerm} last=(${message.candidateLastLogEntry.index},t${message.candidateLastLogEntry.term})`;
    case 'appendEntries': {
      const entries = message.entries;
      const range = entries.length === 0 ? '[]' : `[${entries[0]?.index}..${entries[entries.length - 1]?.index}]`;
      return `AppendEntries t${message.leaderTerm} prev=(${message.prevLogEntry.index},t${message.prevLogEntry.term}) entries=${range} commit=${message.leaderCommitIndex}`;
    }
    case 'requestVoteReply':
      return `RequestVoteReply t${message.reply.voterTerm} ${message.reply.voteGranted ? 'granted' : 'denied'}`;
    case 'appendEntriesReply':
      return `AppendEntriesReply t${message.reply.followerTerm} ${message.reply.success ? 'ok' : 'fail'} match=${message.reply.matchIndex}`;
    case 'installSnapshot':
      return `InstallSnapshot t${message.leaderTerm} last=(${message.lastIncluded.index},t${message.lastIncluded.term}) offset=${message.offset} bytes=${message.data.length}${message.done ? ' done' : ''}`;
    case 'installSnapshotReply':
      return `InstallSnapshotReply t${message.reply.followerTerm} ${message.reply.success ? 'ok' : 'fail'} received=${message.reply.bytesReceived}`;
    case 'timeoutNow':
      return `TimeoutNow t${message.leaderTerm} from ${message.leaderId}`;
    case 'timeoutNowReply':
      return `TimeoutNowReply t${message.reply.followerTerm}`;
  }
}