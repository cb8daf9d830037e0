/** The IPC protocol between cluster-kill.spec.ts and cluster-child.ts (types only). */
import type { AppendEntriesMessage, AppendEntriesReply, RequestVoteMessage, RequestVoteReply } from '../../lib/messages';
import type { ServerRole } from '../../lib/server';

/** A request as it crosses the wire: everything but its reply callback. */
export type RequestBody = Omit<RequestVoteMessage, 'replyChannel'> | Omit<AppendEntriesMessage<string>, 'replyChannel'>;

/** A message on the wire between two servers: a request with a correlation id, or the reply to one. */
export type ClusterFrame =
  | { readonly kind: 'request'; readonly from: number; readonly to: number; readonly callId: number; readonly body: RequestBody }
  | { readonly kind: 'reply'; readonly from: number; readonly to: number; readonly callId: number; readonly body: RequestVoteReply | AppendEntriesReply };

/** What the parent asks a child to do (each carries the virtual time `now`). */
export type ChildCommand =
  | { readonly type: 'tick' }
  | { readonly type: 'deliver'; readonly frame: ClusterFrame }
  | { readonly type: 'propose'; readonly data: string }
  | { readonly type: 'log'; readonly from: number; readonly to: number }
  | { readonly type: 'close' };

/** A child's server, as reported after each command. */
export interface ChildStatus {
  readonly id: number;
  readonly incarnation: number;
  readonly role: ServerRole;
  readonly term: number;
  readonly votedFor: number | undefined;
  readonly leaderId: number | undefined;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly nextDeadline: number;
}

/** An entry the child's server emitted as committed. */
export interface CommittedReport {
  readonly index: number;
  readonly term: number;
  readonly data: string;
}

/** What a child sends. */
export type ChildToParent =
  | { readonly type: 'ready'; readonly status: ChildStatus }
  | { readonly type: 'fatal'; readonly error: string }
  | {
      readonly type: 'response';
      readonly seq: number;
      readonly ok: boolean;
      readonly result: unknown;
      readonly error: string | undefined;
      readonly outbox: ClusterFrame[];
      readonly committed: CommittedReport[];
      readonly status: ChildStatus;
    };
