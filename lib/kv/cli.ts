/**
 * `npm run kv -- --id I --peers H0:P0,H1:P1,H2:P2 --http HOST:PORT --data DIR --secret-file F`:
 * one member of the replicated key-value service. Prints `listening http://HOST:PORT` once
 * its HTTP API listens; on SIGINT or SIGTERM it hands leadership away and exits.
 */
import { startKvMember } from './kv-member';
import { parseKvArgs, UsageError } from './cli-args';

async function main(): Promise<void> {
  let options;
  try {
    options = parseKvArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const member = await startKvMember(options);
  process.stdout.write(`listening ${member.url}\n`);
  member.node.on('leaderChange', (leaderId, term) => process.stderr.write(`member ${options.id}: term ${term}, leader ${leaderId ?? 'unknown'}\n`));
  const stop = (): void => {
    const forced = setTimeout(() => process.exit(1), 5000);
    forced.unref();
    member.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`member ${options.id}: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
