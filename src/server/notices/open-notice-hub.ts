/**
 * Opens the notice hub a `--notices` URL names: Redis pub/sub (`redis://`, `rediss://`) or
 * PostgreSQL LISTEN/NOTIFY (`postgres://`, `postgresql://`).
 */
import { FosError } from '../../errors.js';
import type { SharedHubOptions, SharedWatchHub } from './remote-hub.js';

/** Connections the PostgreSQL hub uses: one listens, the others send. */
const PG_HUB_CONNECTIONS = 3;

/**
 * A hub over `url`; its `close()` also closes the connections it opened. The Redis and
 * PostgreSQL drivers are loaded only when a URL asks for them.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` for a URL of another kind.
 */
export async function openNoticeHub(url: string, options: SharedHubOptions = {}): Promise<SharedWatchHub> {
  const scheme = /^([a-z][a-z0-9+.-]*):/iu.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    const { createRedisNoticeHub } = await import('./redis-hub.js');
    return createRedisNoticeHub(url, options);
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const [{ createPgPool }, { createPgNoticeHub }] = await Promise.all([
      import('../../store/postgres-pool.js'),
      import('./pg-hub.js'),
    ]);
    const pool = createPgPool(url, {
      maxConnections: PG_HUB_CONNECTIONS,
      applicationName: 'fos-notices',
      ...(options.onError === undefined ? {} : { onIdleError: options.onError }),
    });
    const hub = createPgNoticeHub(pool, options);
    let closing: Promise<void> | undefined;
    return {
      publish: (user, rev, paths) => hub.publish(user, rev, paths),
      subscribe: (user, listener) => hub.subscribe(user, listener),
      settled: () => hub.settled(),
      close() {
        closing ??= hub.close().finally(() => pool.end());
        return closing;
      },
    };
  }
  throw new FosError('FOS_ERR_CONFIG_INVALID', 'the notices URL must start with redis://, rediss://, postgres:// or postgresql://');
}
