/**
 * Profiling harness for R1/R2 (not part of `npm run bench`): runs `readWorkload` three times
 * in the mode given (`safe` or `lease`) and prints reads per second. Bundled so that the
 * profile holds no TypeScript compilation:
 *
 *   npx esbuild bench/profile-reads.ts --bundle --platform=node --outfile=/tmp/reads.js
 *   node --cpu-prof --cpu-prof-dir=/tmp/reads-prof --cpu-prof-interval 50 /tmp/reads.js lease
 */
import { readWorkload } from './reads';

const mode = process.argv[2] === 'safe' ? 'safe' : 'lease';
for (let run = 0; run < 3; run++) console.log(mode, Math.round(readWorkload(mode).readsPerSecond as number));
