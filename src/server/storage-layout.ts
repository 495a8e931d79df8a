/**
 * Where the server keeps things under its data folder (DESIGN.md "Server storage"):
 * `uploads/<user>/<path>` the files, `tmp/<user>/` uploads in flight, `trash/<user>/` kept
 * versions, `fos.db` the metadata.
 */
import { join, resolve } from 'node:path';
import { FosError } from '../errors.js';

/** Absolute folders of one data folder. */
export interface StorageLayout {
  readonly dataDir: string;
  readonly uploads: string;
  readonly tmp: string;
  readonly trash: string;
  /** The metadata database file. */
  readonly database: string;
}

/** The layout of `dataDir` (made absolute). */
export function storageLayout(dataDir: string): StorageLayout {
  const root = resolve(dataDir);
  return Object.freeze({
    dataDir: root,
    uploads: join(root, 'uploads'),
    tmp: join(root, 'tmp'),
    trash: join(root, 'trash'),
    database: join(root, 'fos.db'),
  });
}

/**
 * Checks that a user name can name a folder. Account names are validated when created;
 * this is the second line of defence before a name is joined into a path.
 * @throws FosError `FOS_ERR_PATH_BAD` for a name that could leave its folder.
 */
export function userFolderName(user: string): string {
  if (user === '' || user === '.' || user === '..' || /[/\\\0]/u.test(user)) {
    throw new FosError('FOS_ERR_PATH_BAD', `user name ${JSON.stringify(user)} cannot name a folder`);
  }
  return user;
}

/** `uploads/<user>`. */
export function userRoot(layout: StorageLayout, user: string): string {
  return join(layout.uploads, userFolderName(user));
}

/** `tmp/<user>`. */
export function userTmp(layout: StorageLayout, user: string): string {
  return join(layout.tmp, userFolderName(user));
}

/** `trash/<user>`. */
export function userTrash(layout: StorageLayout, user: string): string {
  return join(layout.trash, userFolderName(user));
}
