/**
 * The files side of `fos user remove`: the account's folder moves to the trash through
 * the server's storage, so the trash retention applies to it like any deleted file.
 */
import { createLogger } from '../log/logger.js';
import { Storage } from '../server/storage.js';
import { systemClock } from '../server/types.js';
import { createMemoryWatchHub } from '../server/watch-hub.js';
import type { Store } from '../store/types.js';

/**
 * Moves `uploads/<user>` to `trash/<user>/` and drops the user's partial uploads.
 * Returns where the files went (relative to `trash/`), or null when there were none.
 * @throws FosError `FOS_ERR_STORE_WRITE`.
 */
export async function retireUserFiles(store: Store, dataDir: string, user: string): Promise<string | null> {
  const storage = await Storage.open({
    dataDir,
    store,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    hub: createMemoryWatchHub(),
  });
  return storage.retireUserFiles(user);
}
