import { ObservedPersistentState, type ServerId, type Term } from '../../lib';

/** Loses `votedFor` on restart, as a store that keeps the vote only in memory would. */
export class ForgetfulState<T> extends ObservedPersistentState<T> {
  #amnesia = false;

  override get votedFor(): ServerId | undefined {
    return this.#amnesia ? undefined : super.votedFor;
  }

  override vote(candidate: ServerId): void {
    super.vote(candidate);
    this.#amnesia = false;
  }

  override advanceToTerm(term: Term): void {
    super.advanceToTerm(term);
    this.#amnesia = false;
  }

  override incrementTerm(): void {
    super.incrementTerm();
    this.#amnesia = false;
  }

  /** The process died: the vote of the current term is gone, the term and log are kept. */
  forgetVote(): void {
    this.#amnesia = true;
  }
}
