/** Peer workloads (W7) for bench/run.ts; filled in when a peer library runs here. */
export function peerWorkloads(): { name: string; title: string; repetitions: number; run: () => Promise<Record<string, number>> }[] {
  return [];
}
