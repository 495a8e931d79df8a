/**
 * The seed's protocol (legacy-protocol.md): its exact texts and the little parsing it needs.
 * Unframed: every message is one write of UTF-8 text with no line ending.
 */

/** Exact texts the seed's server sent, which its client matches on. */
export const LEGACY = {
  authOk: 'AUTH SUCCESSFUL. SESSION STARTED.',
  authFailed: 'AUTH FAILED. CLOSING CONNECTION.',
  invalid: 'INVALID COMMAND',
  uploadReady: "READY TO RECEIVE FILE. SEND 'FILENAME:<filename>'",
  receiving: 'RECEIVING CHUNKS',
  chunkReceived: 'CHUNK RECEIVED',
  eof: 'EOF',
  uploadOk: (name: string) => `UPLOAD SUCCESSFUL: ${name}`,
  uploadFailed: 'UPLOAD FAILED',
  downloadAsk: 'SEND FILENAME TO DOWNLOAD',
  downloadStart: 'FILE EXISTS. SENDING FILE...',
  downloadFailed: 'DOWNLOAD FAILED',
  previewAsk: 'SEND FILENAME TO PREVIEW',
  previewFailed: 'PREVIEW FAILED',
  deleteAsk: 'SEND FILENAME TO DELETE',
  deleteOk: (name: string) => `FILE '${name}' DELETED SUCCESSFULLY.`,
  deleteFailed: 'DELETE FAILED',
  listHeader: 'FILES:',
  listEmpty: 'NO FILES FOUND',
  listFailed: 'LIST DIRECTORY FAILED',
  shutdown: 'SERVER SHUTDOWN',
} as const;

/** Command words of the seed's client. */
export const LEGACY_COMMANDS = ['UPLOAD', 'DOWNLOAD', 'PREVIEW', 'DELETE', 'LIST'] as const;

export type LegacyCommand = (typeof LEGACY_COMMANDS)[number];

/** The seed's chunk size. */
export const LEGACY_CHUNK_BYTES = 4096;

/** Bytes the seed's PREVIEW returns. */
export const LEGACY_PREVIEW_BYTES = 1024;

/** Pause between a status line and what follows it, so the seed's client sees separate recv()s. */
export const LEGACY_PAUSE_MS = 50;

/** Splits `user:password` at the first colon; null when there is no colon. */
export function parseLegacyCredentials(text: string): { user: string; password: string } | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { user: text.slice(0, colon).trim(), password: text.slice(colon + 1).replace(/\r?\n$/, '') };
}

/**
 * The file name of a `FILENAME:<name>` message, exactly as sent; null when the prefix is
 * missing. Not trimmed: fos keeps spaces around a name, and trimming would turn a refused
 * name such as `dir/\t` into the legal `dir/`.
 */
export function parseLegacyFileName(text: string): string | null {
  const prefix = 'FILENAME:';
  return text.startsWith(prefix) ? text.slice(prefix.length) : null;
}

/** True when `text` is one of the seed's command words (it sends them bare). */
export function isLegacyCommand(text: string): text is LegacyCommand {
  return (LEGACY_COMMANDS as readonly string[]).includes(text);
}
