/**
 * Pure helpers of held deletion batches that both ends share: the fingerprint of an item
 * set (so a device and the server agree on "the same deletions"), batch ids as people type
 * them, and the cutting of a long item list into HOLD parts.
 */
import { createHash } from 'node:crypto';
import { FosError } from '../errors.js';
import { HOLD_PART_BYTES } from './constants.js';
import type { DeletionItem } from './types.js';

/** Crockford's base32 alphabet (no i, l, o, u), lower case. */
export const BATCH_ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Characters in a batch id. */
export const BATCH_ID_LENGTH = 8;

const BATCH_ID = new RegExp(`^[${BATCH_ID_ALPHABET}]{${BATCH_ID_LENGTH}}$`, 'u');

/**
 * The fingerprint of a set of deletions: SHA-256 over the items' path, kind and revision,
 * sorted by path, so the order they were listed in does not matter. Size and hash follow
 * from path and revision, so they are left out.
 */
export function deletionSetKey(items: readonly DeletionItem[]): string {
  const sorted = [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const item of sorted) hash.update(`${item.path}\0${item.kind}\0${item.rev}\n`);
  return hash.digest('hex');
}

/** Turns 8 random bytes' worth of entropy (the first 5 bytes are used) into a batch id. */
export function batchIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length < 5) throw new RangeError('a batch id needs 5 random bytes');
  let bits = 0n;
  for (let i = 0; i < 5; i += 1) bits = (bits << 8n) | BigInt(bytes[i] ?? 0);
  let id = '';
  for (let i = 0; i < BATCH_ID_LENGTH; i += 1) {
    id = (BATCH_ID_ALPHABET[Number(bits & 31n)] ?? '0') + id;
    bits >>= 5n;
  }
  return id;
}

/**
 * A batch id as a person typed it, in canonical form: lower case, and the letters Crockford
 * reads as digits (`o` as 0, `i` and `l` as 1) mapped, so `K3F9-Q2XM` and `k3f9q2xm` are
 * the same id.
 * @throws FosError `FOS_ERR_CLI_USAGE` when it cannot be a batch id.
 */
export function parseBatchId(text: string): string {
  const id = text
    .trim()
    .toLowerCase()
    .replace(/-/gu, '')
    .replace(/o/gu, '0')
    .replace(/[il]/gu, '1');
  if (!BATCH_ID.test(id)) {
    throw new FosError('FOS_ERR_CLI_USAGE', `${JSON.stringify(text)} is not a batch id (8 letters and digits, as \`fos deletions list\` shows)`);
  }
  return id;
}

/** True for a canonical batch id. */
export function isBatchId(text: string): boolean {
  return BATCH_ID.test(text);
}

/**
 * Cuts an item list into parts whose JSON stays under `maxBytes` each (always at least one
 * part, which may be empty: an empty HOLD withdraws). An item longer than `maxBytes` on
 * its own still gets a part of its own; the line limit then refuses it.
 */
export function holdParts(items: readonly DeletionItem[], maxBytes = HOLD_PART_BYTES): DeletionItem[][] {
  const parts: DeletionItem[][] = [];
  let part: DeletionItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
    if (part.length > 0 && bytes + size > maxBytes) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  parts.push(part);
  return parts;
}
