/**
 * Options of `fos server` for running several nodes: the shared metadata store
 * (`--store postgres://…`) and the channel that carries WATCH notices between nodes
 * (`--notices redis://…` or `--notices postgres://…`). Parses and opens; nothing else.
 */
import type { Command } from 'commander';
import type { Logger } from '../log/logger.js';
import { openNoticeHub } from '../server/notices/open-notice-hub.js';
import type { SharedWatchHub } from '../server/notices/remote-hub.js';
import { describeStore, openStore, parseStoreSpec } from '../store/open.js';
import type { Store } from '../store/types.js';

/** Help text examples for these options. */
export const CLUSTER_EXAMPLES = `
Several nodes (docs/scaling.md): one PostgreSQL store, notices over Redis, a shared --data:
  fos server --data /srv/fos --store postgres://fos@db:5432/fos --notices redis://cache:6379 --redis redis://cache:6379
`;

/** Adds `--store` and `--notices` to `command`. */
export function addClusterOptions(command: Command): Command {
  return command
    .option('--store <url>', 'metadata store: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: fos.db in --data)')
    .option('--notices <url>', 'carry WATCH notices between nodes: redis://HOST:PORT or postgres://USER@HOST:PORT/DB');
}

/** The store and hub the options asked for, and how to close them. */
export interface ClusterServices {
  /** Spread into the server's options (`store`, and `hub` when `--notices` was given). */
  readonly options: { readonly store: Store; readonly hub?: SharedWatchHub };
  /** Closes what was opened here; idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the store `--store` names (the data folder's fos.db when absent) and the hub
 * `--notices` names (in-process when absent).
 * @throws FosError from `openStore` and `openNoticeHub` (bad URLs, unreachable store).
 */
export async function clusterServices(
  flags: Readonly<Record<string, unknown>>,
  dataDir: string,
  logger: Logger,
): Promise<ClusterServices> {
  const storeUrl = typeof flags['store'] === 'string' ? flags['store'] : undefined;
  const noticesUrl = typeof flags['notices'] === 'string' ? flags['notices'] : undefined;
  const log = logger.child({ component: 'cluster' });
  const spec = { store: storeUrl, dataDir };
  const store = await openStore(spec, { onIdleError: (err) => log.warn({ err }, 'store connection lost') });
  log.info({ store: describeStore(parseStoreSpec(spec)) }, 'store open');
  let hub: SharedWatchHub | undefined;
  try {
    hub = noticesUrl === undefined ? undefined : await openNoticeHub(noticesUrl, { onError: (err) => log.warn({ err }, 'notice channel failed') });
  } catch (err) {
    await store.close();
    throw err;
  }
  if (noticesUrl !== undefined) log.info({ notices: noticesUrl.replace(/\/\/[^@/]*@/u, '//***@') }, 'notices shared between nodes');
  let closing: Promise<void> | undefined;
  return {
    options: hub === undefined ? { store } : { store, hub },
    close() {
      closing ??= (async () => {
        await hub?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
