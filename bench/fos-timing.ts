/**
 * Times one fos command against the bench server: the client's own peak RSS, the
 * server's peak RSS over the same span, and the bytes through the wire counter.
 */
import type { Sample } from './alternate.js';
import type { BenchContext, FosEndpoint } from './context.js';
import type { FosAccount } from './fos-cli.js';
import { runFos } from './fos-cli.js';
import { readPeakRss, resetPeakRss } from './measure.js';

/**
 * Runs `fos ARGS` as `account` and measures it; wire bytes only when `account` is the
 * counted one (its connections pass the wire counter). `timeoutMs` defaults to one command's.
 * @throws CommandError when fos fails.
 */
export async function timeFos(
  ctx: BenchContext,
  endpoint: FosEndpoint,
  account: FosAccount,
  args: readonly string[],
  timeoutMs = ctx.deadlines.commandMs,
): Promise<Sample> {
  const isCounted = account.server === endpoint.counted.server;
  await resetPeakRss(endpoint.server.pid);
  endpoint.counter.reset();
  const result = await runFos(ctx.launcher(account), args, timeoutMs);
  const serverBytes = await readPeakRss(endpoint.server.pid);
  return {
    ms: result.ms,
    rss: { clientBytes: result.peakRssBytes, serverBytes },
    ...(isCounted ? { wire: endpoint.counter.read() } : {}),
  };
}
