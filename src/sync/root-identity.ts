/**
 * Root identity (issue 11): at the first sync the agent writes a random id into
 * `<root>/.fos/folder-id` and records it with the root's device and inode. A root that is
 * gone, or whose id file is missing or different (an unmounted disk showing the empty
 * mount point, a swapped or emptied folder), is never read as "everything was deleted":
 * the pass is stopped by a guard and nothing is deleted anywhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { localError } from './local-fs.js';
import type { RootIdentity } from './manifest.js';

/** The folder fos keeps inside a synced root; never synced itself. */
export const FOS_DIR = '.fos';
/** The id file, relative to the root. */
export const FOLDER_ID_FILE = `${FOS_DIR}/folder-id`;

/**
 * The outcome of a root check. `changed`: the identity differs from the record (first
 * sync, forced adoption, a new inode); `writeId`: the id file is still to be written.
 */
export type RootCheck =
  | { readonly state: 'present'; readonly identity: RootIdentity; readonly changed: boolean; readonly writeId: boolean }
  | { readonly state: 'missing' | 'replaced'; readonly message: string };

/**
 * Checks `root` against the recorded identity. With no record (first sync) or with
 * `force`, the folder's id file is adopted (or a new id chosen, for `adoptRoot` to write)
 * and the root is 'present'. Writes nothing: a plan that is never carried out leaves no
 * trace in the folder.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the root cannot be read.
 */
export async function checkRoot(root: string, recorded: RootIdentity | null, options: { readonly force: boolean }): Promise<RootCheck> {
  let dev: number;
  let ino: number;
  try {
    const stats = await stat(root);
    if (!stats.isDirectory()) return { state: 'missing', message: `folder missing: ${root} is not a folder` };
    dev = stats.dev;
    ino = stats.ino;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'missing', message: `folder missing: ${root} does not exist` };
    throw localError(err, `cannot read ${root}`);
  }
  const found = await readFolderId(root);
  if (recorded !== null && !options.force) {
    if (found === null) {
      return { state: 'replaced', message: `folder identity changed: ${join(root, FOLDER_ID_FILE)} is gone (unmounted, replaced or emptied?)` };
    }
    if (found !== recorded.folderId) {
      return { state: 'replaced', message: `folder identity changed: ${root} is not the folder that was synced before` };
    }
    const changed = dev !== recorded.dev || ino !== recorded.ino;
    return { state: 'present', identity: { folderId: found, dev, ino }, changed, writeId: false };
  }
  const folderId = found ?? randomBytes(16).toString('hex');
  const changed = recorded === null || recorded.folderId !== folderId || recorded.dev !== dev || recorded.ino !== ino;
  return { state: 'present', identity: { folderId, dev, ino }, changed, writeId: found === null };
}

/**
 * Makes a present root's identity the recorded one: writes the id file when the check
 * chose a new id, and returns the identity for the manifest. Called just before a pass
 * changes anything.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the id file cannot be written.
 */
export async function adoptRoot(root: string, check: Extract<RootCheck, { state: 'present' }>): Promise<RootIdentity> {
  if (check.writeId) await writeFolderId(root, check.identity.folderId);
  return check.identity;
}

async function readFolderId(root: string): Promise<string | null> {
  try {
    const text = (await readFile(join(root, FOLDER_ID_FILE), 'utf8')).trim();
    return text === '' ? null : text;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw localError(err, `cannot read ${join(root, FOLDER_ID_FILE)}`);
  }
}

async function writeFolderId(root: string, folderId: string): Promise<void> {
  try {
    await mkdir(join(root, FOS_DIR), { recursive: true });
    await writeFileAtomic(join(root, FOLDER_ID_FILE), `${folderId}\n`);
  } catch (err) {
    throw localError(err, `cannot write ${join(root, FOLDER_ID_FILE)}`);
  }
}
