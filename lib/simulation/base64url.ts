/**
 * base64url without padding (RFC 4648 §5), written out so that it runs in browsers and in
 * Node.js alike (no `Buffer`): the text of the visualizer's URLs, for simulator traces
 * (trace-codec.ts) and for recorded runs (visualizer/src/model/codec.ts).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Bytes as base64url text without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let text = '';
  for (let k = 0; k < bytes.length; k += 3) {
    const a = bytes[k] as number;
    const b = bytes[k + 1];
    const c = bytes[k + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    text += ALPHABET[(n >> 18) & 63];
    text += ALPHABET[(n >> 12) & 63];
    if (b !== undefined) text += ALPHABET[(n >> 6) & 63];
    if (c !== undefined) text += ALPHABET[n & 63];
  }
  return text;
}

/**
 * Base64url text (no padding) as bytes.
 * @throws RangeError naming the fault: a character outside the alphabet, or a length no
 *   base64url text has.
 */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new RangeError(`the base64url text has an impossible length (${text.length} characters)`);
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let out = 0;
  for (let k = 0; k < text.length; k += 4) {
    let n = 0;
    const chunk = text.slice(k, k + 4);
    for (let j = 0; j < 4; j++) {
      const char = chunk[j];
      const digit = char === undefined ? 0 : ALPHABET.indexOf(char);
      if (digit < 0) throw new RangeError(`character ${JSON.stringify(char)} at ${k + j} is not base64url`);
      n = (n << 6) | digit;
    }
    bytes[out++] = (n >> 16) & 255;
    if (chunk.length > 2) bytes[out++] = (n >> 8) & 255;
    if (chunk.length > 3) bytes[out++] = n & 255;
  }
  return bytes.subarray(0, out);
}
