import type { PeerTransport, WireValue } from '../net/peer-transport';
import type { ServerId } from '../types';
import { OutcomeUnknownError } from './node-errors';

interface Forwarded {
  readonly leaderId: ServerId;
  readonly deadline: number;
  readonly fail: (error: Error) => void;
}

/**
 * Requests a follower forwards to the leader (a batch of proposals, or a read), each waiting
 * for the leader's answer. Each ends exactly once: with the answer, at its deadline, when the
 * follower stops knowing that leader (it crashed or lost its leadership, so an answer is
 * unlikely), or when the node stops. The failures are `OutcomeUnknownError`s: for a proposal
 * the old leader may have committed it; a caller forwarding a read turns it into a retry.
 */
export class Forwarder {
  readonly #transport: PeerTransport;
  readonly #waiting = new Set<Forwarded>();

  /** Forwards over `transport`. */
  constructor(transport: PeerTransport) {
    this.#transport = transport;
  }

  /**
   * Sends `body` to `leaderId`. Exactly one of `onAnswer` and `onFail` is called later,
   * unless the transport dropped the request at once: then neither is, and this returns false.
   */
  send(leaderId: ServerId, body: WireValue, deadline: number, onAnswer: (answer: WireValue) => void, onFail: (error: Error) => void): boolean {
    let done = false;
    const record: Forwarded = {
      leaderId,
      deadline,
      fail: (error) => {
        if (done) return;
        done = true;
        onFail(error);
      },
    };
    const sent = this.#transport.send(leaderId, body, (answer) => {
      if (done) return;
      done = true;
      this.#waiting.delete(record);
      onAnswer(answer);
    });
    if (!sent) {
      done = true;
      return false;
    }
    this.#waiting.add(record);
    return true;
  }

  /** The known leader is now `leaderId` (or none): requests forwarded to another member fail now. */
  leaderChanged(leaderId: ServerId | undefined): void {
    for (const record of this.#waiting) {
      if (record.leaderId === leaderId) continue;
      this.#waiting.delete(record);
      record.fail(new OutcomeUnknownError(`member ${record.leaderId} stopped being the known leader before it answered`));
    }
  }

  /** Fails the requests past their deadline. */
  sweep(now: number, timeoutMs: number): void {
    for (const record of this.#waiting) {
      if (record.deadline > now) continue;
      this.#waiting.delete(record);
      record.fail(new OutcomeUnknownError(`the leader did not answer within ${timeoutMs} ms`));
    }
  }

  /** Fails every request with `error` (the node stops). */
  failAll(error: Error): void {
    for (const record of this.#waiting) record.fail(error);
    this.#waiting.clear();
  }
}
