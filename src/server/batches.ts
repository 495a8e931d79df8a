/**
 * Long replies in batches: items go out as `HEAD {"<key>":[…]}` lines of at most
 * ENTRIES_BATCH_BYTES of JSON each (LIST's ENTRIES, RESTORE's STEPS), so no reply line
 * outgrows the client's line limit and a slow reader holds the server back.
 */
import { ENTRIES_BATCH_BYTES } from '../protocol/constants.js';
import type { OpContext } from './session-types.js';

/**
 * Sends `items` in batches under `head`, waiting for the socket to drain when it is full.
 * @throws FosError `FOS_ERR_PROTO_TIMEOUT` when the peer stops reading, `FOS_ERR_NET_CLOSED`.
 */
export async function sendBatches(ctx: OpContext, head: string, key: string, items: readonly unknown[]): Promise<void> {
  const { wire } = ctx;
  let batch: unknown[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const hasRoom = wire.sendLine(head, { [key]: batch });
    batch = [];
    batchBytes = 0;
    if (!hasRoom) await wire.drained(ctx.services.settings.idleTimeoutMs);
  };
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (batchBytes + bytes > ENTRIES_BATCH_BYTES) await flush();
    batch.push(item);
    batchBytes += bytes;
  }
  await flush();
}
