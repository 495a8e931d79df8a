/**
 * A fos sync folder pair for the bench: `fos init` writes its config (logging in with
 * FOS_PASSWORD), and `fos sync --config FILE` runs one pass.
 */
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import type { FosAccount } from './fos-cli.js';
import { runFos } from './fos-cli.js';

/** The fos commands a sync workload needs. */
export const SYNC_COMMANDS: readonly string[] = ['server', 'user add', 'init', 'sync'];

/** One configured folder pair. */
export interface SyncPair {
  /** The config file `fos sync --config` and `fos agent --config` read. */
  readonly config: string;
  readonly folder: string;
  readonly state: string;
  readonly account: FosAccount;
}

/** Where and how a pair syncs. */
export interface SyncPairSpec {
  readonly folder: string;
  readonly remote: string;
  /** A folder for the config and state of this pair alone. */
  readonly home: string;
  readonly device: string;
  readonly account: FosAccount;
  /** `fos init --compress`: the pair compresses its transfers, as rsync -z does. */
  readonly compress?: boolean;
}

/**
 * Writes the pair's config with `fos init --config FILE --server HOST:PORT --user NAME
 * --folder DIR --remote DIR --state DIR --device NAME`.
 * @throws CommandError when `fos init` fails.
 */
export async function initSyncPair(ctx: BenchContext, spec: SyncPairSpec): Promise<SyncPair> {
  const config = join(spec.home, 'config.json');
  const state = join(spec.home, 'state');
  await runFos(
    ctx.launcher(spec.account),
    [
      'init',
      '--config',
      config,
      '--server',
      spec.account.server,
      '--user',
      spec.account.user,
      '--folder',
      spec.folder,
      '--remote',
      spec.remote,
      '--state',
      state,
      '--device',
      spec.device,
      ...(spec.compress === true ? ['--compress'] : []),
    ],
    ctx.deadlines.commandMs,
  );
  return { config, folder: spec.folder, state, account: spec.account };
}

/** The arguments of one sync pass over `pair`. */
export function syncArgs(pair: SyncPair): string[] {
  return ['sync', '--config', pair.config];
}
