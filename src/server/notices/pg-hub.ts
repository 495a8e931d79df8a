/**
 * Change notices between server nodes over PostgreSQL LISTEN/NOTIFY, for deployments that
 * run PostgreSQL for the store and no Redis. One connection from the pool stays checked
 * out to LISTEN; notices go out with pg_notify on any pooled connection. After a lost
 * connection the hub connects again and listens on its channels again.
 */
import { createHash } from 'node:crypto';
import type { Notification, Pool, PoolClient } from 'pg';
import { createSharedHub } from './remote-hub.js';
import type { NoticeTransport, SharedHubOptions, SharedWatchHub } from './remote-hub.js';

/** NOTIFY payloads must be shorter than 8000 bytes. */
const MAX_PAYLOAD_BYTES = 7_900;

/** Delay before the listening connection is made again, growing to the maximum. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** Options of {@link createPgNoticeHub}. */
export interface PgNoticeHubOptions extends SharedHubOptions {
  /** Prefix of channel names; `fos_notices_` by default. */
  readonly channelPrefix?: string;
}

/**
 * Channel names are identifiers of at most 63 bytes, and user names are not identifiers:
 * a channel is the prefix and a hash of the name. The payload names the user, and the
 * receiver checks it.
 */
function channelName(prefix: string, user: string): string {
  return `${prefix}${createHash('sha256').update(user, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * A notice hub over the PostgreSQL database behind `pool`. The pool stays the caller's:
 * `close()` gives back the listening connection but does not end the pool.
 */
export function createPgNoticeHub(pool: Pool, options: PgNoticeHubOptions = {}): SharedWatchHub {
  const prefix = options.channelPrefix ?? 'fos_notices_';
  const report = options.onError ?? ((): void => undefined);
  const channels = new Set<string>();
  let deliver: (channel: string, payload: string) => void = () => undefined;
  let client: Promise<PoolClient> | undefined;
  let closed = false;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  const detachers = new Map<PoolClient, () => void>();

  const onNotification = (message: Notification): void => {
    if (message.payload !== undefined) deliver(message.channel, message.payload);
  };

  /** The listening connection, made (and its channels listened on again) when needed. */
  const listener = (): Promise<PoolClient> => {
    client ??= (async () => {
      const fresh = await pool.connect();
      let gone = false;
      const lost = (err: unknown): void => {
        if (gone) return;
        gone = true;
        detach(fresh);
        fresh.release(err instanceof Error ? err : true);
        client = undefined;
        report(err);
        scheduleReconnect();
      };
      detachers.set(fresh, () => {
        gone = true;
        fresh.removeListener('error', lost);
        fresh.removeListener('notification', onNotification);
      });
      fresh.on('error', lost);
      fresh.on('notification', onNotification);
      try {
        for (const channel of channels) await fresh.query(`LISTEN ${quote(channel)}`);
      } catch (err) {
        lost(err);
        throw err;
      }
      retryMs = RECONNECT_MIN_MS;
      return fresh;
    })();
    client.catch(() => {
      client = undefined;
    });
    return client;
  };

  const detach = (held: PoolClient): void => {
    detachers.get(held)?.();
    detachers.delete(held);
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer !== undefined || channels.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      listener().catch((err: unknown) => {
        report(err);
        retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
        scheduleReconnect();
      });
    }, retryMs);
    retryTimer.unref();
  };

  const transport: NoticeTransport = {
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    channelFor: (user) => channelName(prefix, user),
    async send(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async listen(channel) {
      channels.add(channel);
      try {
        await (await listener()).query(`LISTEN ${quote(channel)}`);
      } catch (err) {
        // The channel stays in the set: the reconnect listens on it.
        scheduleReconnect();
        throw err;
      }
    },
    async unlisten(channel) {
      channels.delete(channel);
      if (client === undefined) return;
      await (await client).query(`UNLISTEN ${quote(channel)}`);
    },
    onMessage(fn) {
      deliver = fn;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      if (current === undefined) return;
      const held = await current.catch(() => undefined);
      if (held === undefined) return;
      detach(held);
      try {
        await held.query('UNLISTEN *');
        held.release();
      } catch (err) {
        held.release(err instanceof Error ? err : true);
      }
    },
  };
  return createSharedHub(transport, options);
}

/** Channel names are made by {@link channelName}: letters, digits and '_', quoted anyway. */
function quote(identifier: string): string {
  return `"${identifier.replace(/"/gu, '""')}"`;
}
