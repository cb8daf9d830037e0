/**
 * Peer workloads (W7) for bench/run.ts: @markwylde/liferaft 1.4.0 doing the jobs of W1 and W2
 * in this process, over an in-memory transport and its in-memory log store (memdown), as
 * measured in bench/peers/liferaft.ts. It has no batch API: W2's batches of 100 are handed
 * over one `command()` after another, then the batch is awaited ('pipelined').
 */
import { runPeerW1, runPeerW2, type PeerResult } from './liferaft';

const ENTRIES = 200_000;

function figures(result: PeerResult): Record<string, number> {
  if (!result.ok) throw new Error(`peer run failed: ${result.notes}`);
  return { entries: result.n, entriesPerSecond: result.entriesPerSecond, wallMs: result.wallMs };
}

/** The W7 workloads: the peer on W1's and W2's jobs. */
export function peerWorkloads(): { name: string; title: string; repetitions: number; run: () => Promise<Record<string, number>> }[] {
  return [
    { name: 'W7-W1', title: `peer @markwylde/liferaft on W1's job (${ENTRIES.toLocaleString('en-US')} serial proposals)`, repetitions: 2, run: async () => figures(await runPeerW1(ENTRIES)) },
    { name: 'W7-W2', title: `peer @markwylde/liferaft on W2's job (${ENTRIES.toLocaleString('en-US')} entries, batches of 100 pipelined)`, repetitions: 2, run: async () => figures(await runPeerW2(ENTRIES, { w2Mode: 'pipelined' })) },
  ];
}
