/**
 * Turns entry data into bytes and back, for durable stores.
 *
 * @example
 * ```ts
 * const utf8: Codec<string> = {
 *   encode: (text) => Buffer.from(text, 'utf8'),
 *   decode: (bytes) => Buffer.from(bytes).toString('utf8'),
 * };
 * ```
 */
export interface Codec<T> {
  /** The bytes of `data`. */
  encode(data: T): Uint8Array;
  /** The data `bytes` encode. */
  decode(bytes: Uint8Array): T;
}

/** The default {@link Codec}: JSON text in UTF-8; `undefined` is stored as zero bytes. */
export const JSON_CODEC: Codec<unknown> = Object.freeze({
  encode(data: unknown): Uint8Array {
    const text = JSON.stringify(data);
    return text === undefined ? new Uint8Array(0) : Buffer.from(text, 'utf8');
  },
  decode(bytes: Uint8Array): unknown {
    if (bytes.length === 0) return undefined;
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  },
});
