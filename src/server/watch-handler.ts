/**
 * WATCH: after `OK {rev}` the connection receives a `NOTICE {rev, paths}` line for each of
 * the user's commits, until it sends QUIT or closes. Notices are hints; the client reads
 * the change feed to learn what changed.
 */
import { FosError, asFosError } from '../errors.js';
import { REPLY, REQUEST } from '../protocol/constants.js';
import type { RequestArgs } from '../protocol/messages.js';
import { errorReplyBody } from '../protocol/messages.js';
import type { OpContext, OpResult } from './session-types.js';
import type { ChangeNotice } from './watch-hub.js';

/** TCP keep-alive delay on a watching connection, which is silent by design. */
const WATCH_KEEPALIVE_MS = 60_000;

/** Runs WATCH until the peer quits or the connection closes; the connection then ends. */
export async function handleWatch(ctx: OpContext, args: RequestArgs<'WATCH'>): Promise<OpResult> {
  const { wire, services, user } = ctx;
  // Subscribe before reading the revision, so no commit falls between the two.
  let pending: ChangeNotice[] | null = [];
  let rev = 0;
  const unsubscribe = services.hub.subscribe(user, (notice) => {
    if (pending !== null) pending.push(notice);
    // At the current revision too: a decision on held deletions may commit nothing and
    // still has to reach the agents (issue 11).
    else if (notice.rev >= rev) wire.sendLine(REPLY.notice, { rev: notice.rev, paths: notice.paths });
  });
  try {
    rev = await services.storage.currentRev(user);
    wire.sendLine(REPLY.ok, { rev });
    if (args.since !== undefined && rev > args.since) {
      const feed = await services.storage.changesSince(user, args.since);
      rev = feed.rev;
      wire.sendLine(REPLY.notice, { rev, paths: [...new Set(feed.entries.map((e) => e.path))] });
    }
    const queued: ChangeNotice[] = pending;
    pending = null;
    for (const notice of queued) {
      if (notice.rev > rev) wire.sendLine(REPLY.notice, { rev: notice.rev, paths: notice.paths });
    }
    wire.keepAlive(WATCH_KEEPALIVE_MS);
    for (;;) {
      const message = await wire.next();
      if (message.kind === 'line' && message.head === REQUEST.quit) {
        wire.sendLine(REPLY.ok, {});
        return { close: true };
      }
      if (message.kind === 'line' && message.head === REPLY.ack) continue;
      const error =
        message.kind === 'bad'
          ? message.error
          : new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'a watching connection only takes QUIT; use another connection for requests');
      wire.sendLine(REPLY.err, errorReplyBody(error));
    }
  } catch (err) {
    const error = asFosError(err);
    if (error.code !== 'FOS_ERR_NET_CLOSED') wire.sendLine(REPLY.err, errorReplyBody(error));
    return { close: true, failed: error.wireCode };
  } finally {
    unsubscribe();
  }
}
