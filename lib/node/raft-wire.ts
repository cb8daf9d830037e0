import { InvalidMessageError } from '../errors';
import type { Message } from '../messages';
import type { WireValue } from '../net/peer-transport';

/**
 * Raft messages as they cross a {@link PeerTransport}: the message without its
 * `replyChannel` (the transport's request id stands in for it), with an InstallSnapshot
 * chunk's bytes as base64. Replies cross as they are. The receiving `Server` validates
 * everything (`processMessage` and the reply callbacks throw `InvalidMessageError`), so
 * this module only rebuilds shapes.
 */
export type RaftMessageBody = { readonly kind: 'raft'; readonly message: WireValue };

/** Turns an outgoing message into a wire value (entry data must be JSON-able). */
export function messageToWire<T>(message: Message<T>): RaftMessageBody {
  const { replyChannel: _replyChannel, ...fields } = message;
  if (fields.type === 'installSnapshot') {
    const data = Buffer.from(fields.data.buffer, fields.data.byteOffset, fields.data.byteLength).toString('base64');
    return { kind: 'raft', message: { ...fields, data } as unknown as WireValue };
  }
  if (fields.type === 'appendEntries') {
    const entries = fields.entries.map((entry) => (entry.kind === 'noop' ? { index: entry.index, term: entry.term, kind: 'noop' } : { index: entry.index, term: entry.term, data: entry.data }));
    return { kind: 'raft', message: { ...fields, entries } as unknown as WireValue };
  }
  return { kind: 'raft', message: fields as unknown as WireValue };
}

/**
 * Rebuilds a message from its wire value, with `replyChannel` as its reply callback.
 * @throws {@link InvalidMessageError} when the value is not an object with a known `type`
 *   (the `Server` checks every other field).
 */
export function messageFromWire<T>(value: WireValue, replyChannel: (reply: WireValue) => void): Message<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidMessageError('message', value, 'an object');
  const record = value as { readonly [key: string]: WireValue };
  const reply = replyChannel as (reply: unknown) => void;
  switch (record.type) {
    case 'installSnapshot': {
      if (typeof record.data !== 'string') throw new InvalidMessageError('data', record.data, 'a base64 string');
      return { ...record, data: new Uint8Array(Buffer.from(record.data, 'base64')), replyChannel: reply } as unknown as Message<T>;
    }
    case 'appendEntries': {
      if (!Array.isArray(record.entries)) throw new InvalidMessageError('entries', record.entries, 'an array');
      const entries = (record.entries as readonly WireValue[]).map((entry) => {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry;
        const fields = entry as { readonly [key: string]: WireValue };
        return fields.kind === 'noop' ? { index: fields.index, term: fields.term, data: undefined, kind: 'noop' } : { index: fields.index, term: fields.term, data: fields.data };
      });
      return { ...record, entries, replyChannel: reply } as unknown as Message<T>;
    }
    case 'requestVote':
    case 'timeoutNow':
      return { ...record, replyChannel: reply } as unknown as Message<T>;
    default:
      throw new InvalidMessageError('type', record.type, 'a Raft message type');
  }
}
