/**
 * Change notices between server nodes over Redis pub/sub: one channel per user
 * (`<prefix>notices:<user>`), published on one connection and received on another, as
 * Redis requires of a subscribing connection.
 */
import { Redis } from 'ioredis';
import { FosError } from '../../errors.js';
import { createSharedHub } from './remote-hub.js';
import type { NoticeTransport, SharedHubOptions, SharedWatchHub } from './remote-hub.js';

/** Options of {@link createRedisNoticeHub}. */
export interface RedisNoticeHubOptions extends SharedHubOptions {
  /** Prefix of channel names, so that several fos installations can share one Redis; `fos:` by default. */
  readonly channelPrefix?: string;
}

/** Redis takes messages up to 512 MiB; fos keeps notices far below that. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

function connect(url: string, subscriber: boolean): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    // A publish while Redis is away fails at once (notices are hints); a subscribe waits
    // and is sent when the connection is back, and ioredis re-subscribes after reconnects.
    enableOfflineQueue: subscriber,
    maxRetriesPerRequest: subscriber ? null : 1,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  return client;
}

/**
 * A notice hub over the Redis at `redisUrl` (`redis://host:port/db`). Connects in the
 * background; use `settled()` to wait until subscriptions are in place.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` for a URL that is not redis:// or rediss://.
 */
export function createRedisNoticeHub(redisUrl: string, options: RedisNoticeHubOptions = {}): SharedWatchHub {
  if (!/^rediss?:\/\//u.test(redisUrl)) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', 'the Redis URL must start with redis:// or rediss://');
  }
  const prefix = `${options.channelPrefix ?? 'fos:'}notices:`;
  const publisher = connect(redisUrl, false);
  const subscriber = connect(redisUrl, true);
  const report = options.onError ?? ((): void => undefined);
  // Without listeners, a lost connection would throw 'error' at the process; ioredis
  // reconnects on its own, so the hub only reports it.
  publisher.on('error', report);
  subscriber.on('error', report);
  const started = Promise.all([publisher.connect(), subscriber.connect()]).then(() => undefined);
  // The first failure is reported here; later calls wait on the reconnect loop.
  started.catch(report);
  let closing: Promise<void> | undefined;

  const transport: NoticeTransport = {
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    channelFor: (user) => `${prefix}${user}`,
    async send(channel, payload) {
      await publisher.publish(channel, payload);
    },
    async listen(channel) {
      await subscriber.subscribe(channel);
    },
    async unlisten(channel) {
      await subscriber.unsubscribe(channel);
    },
    onMessage(deliver) {
      subscriber.on('message', deliver);
    },
    close() {
      closing ??= (async () => {
        for (const client of [publisher, subscriber]) {
          if (client.status === 'end') continue;
          // quit waits for replies in flight; disconnect is enough when not connected.
          if (client.status === 'ready') await client.quit().catch(report);
          else client.disconnect();
        }
      })();
      return closing;
    },
  };
  return createSharedHub(transport, options);
}
