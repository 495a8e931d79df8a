/**
 * The wire form of a change notice between server nodes: one JSON object naming the user,
 * the revision, the paths and the node that published it (so that node can skip its echo).
 */
import type { ChangeNotice } from '../watch-hub.js';

/** A notice as it travels between nodes. */
export interface NoticeMessage extends ChangeNotice {
  readonly user: string;
  /** The publishing hub's random id. */
  readonly origin: string;
}

/**
 * Encodes a notice in at most `maxBytes` of UTF-8. Paths are dropped from the end until it
 * fits (notices are hints: receivers read the change feed for the full list); null when
 * not even the notice without paths fits.
 */
export function encodeNotice(message: NoticeMessage, maxBytes = Number.POSITIVE_INFINITY): string | null {
  let paths = message.paths;
  for (;;) {
    const text = JSON.stringify({ u: message.user, r: message.rev, p: paths, o: message.origin });
    if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
    if (paths.length === 0) return null;
    paths = paths.slice(0, Math.floor(paths.length / 2));
  }
}

/** Decodes what {@link encodeNotice} wrote; null for anything else. */
export function decodeNotice(text: string): NoticeMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not from a fos node (someone else published on the channel): ignore it.
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { u, r, p, o } = value as Record<string, unknown>;
  if (typeof u !== 'string' || typeof o !== 'string') return null;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0) return null;
  if (!Array.isArray(p) || !p.every((x): x is string => typeof x === 'string')) return null;
  return { user: u, rev: r, paths: p, origin: o };
}
