/**
 * The URL: `#run=<recording>` or `#trace=<trace>` (the DOM contract's "URL" section). Read at
 * load to replay; rewritten with `history.replaceState` after each action and on pause.
 */

/** What the hash asks the page to open. */
export type HashRequest = { readonly kind: 'run'; readonly text: string } | { readonly kind: 'trace'; readonly text: string };

/** Parses `location.hash` (undefined when it names neither a run nor a trace). */
export function readHash(hash: string = location.hash): HashRequest | undefined {
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const kind of ['run', 'trace'] as const) {
    if (body.startsWith(`${kind}=`)) return { kind, text: safeDecode(body.slice(kind.length + 1)) };
  }
  return undefined;
}

/** `decodeURIComponent`, or the text itself when it is not percent-encoded text. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces the hash (no history entry, no hashchange event) with `hash` (given without '#'). */
export function writeHash(hash: string): void {
  if (location.hash === `#${hash}`) return;
  history.replaceState(history.state, '', `${location.pathname}${location.search}#${hash}`);
}
