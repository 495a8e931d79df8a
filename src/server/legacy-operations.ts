/**
 * The seed's five operations over the storage API (legacy-protocol.md), with the same
 * path rules, trash and metrics as FOS/2. Every failure the client can be told about gets
 * the seed's own failure text and the connection goes on; a broken or silent connection
 * ends the session.
 *
 * Choices where the seed and fos differ:
 * - Names. The seed's server kept only the base name of what it was sent. fos takes the
 *   name as a remote path (`docs/a.txt` is a file in a folder, the same file FOS/2 sees)
 *   and refuses what `normalizeRemotePath` refuses (`..`, absolute paths, control
 *   characters, ...) with the failure text, where the seed would have stripped the folders.
 * - UPLOAD of a refused name. The seed's client sends its chunks whatever the answer to
 *   `FILENAME:` is, so the server always answers `RECEIVING CHUNKS`, acknowledges and
 *   drops the chunks, and answers `UPLOAD FAILED` after `EOF`. Refusing at once would make
 *   the server read the file's bytes as commands.
 * - The end of an upload is a chunk that is exactly `EOF`. A file whose last 4096-byte
 *   piece is `EOF` (or whose content is just `EOF`) therefore ends early: it is stored
 *   without those three bytes, and the client's own `EOF` that follows gets
 *   `INVALID COMMAND`. This is the seed protocol's flaw; FOS/2 frames its bytes instead.
 * - PREVIEW failure. The seed's client waits for `FILE NOT FOUND`, its server sent
 *   `PREVIEW FAILED` and the client hung until its timeout. fos sends `PREVIEW FAILED`
 *   then `EOF`: the seed's client, which reads a preview until `EOF`, prints the failure
 *   text and returns to its prompt at once, and a preview always ends with `EOF`.
 * - LIST sends `EOF` after the listing (the seed's server did not, so its client never
 *   printed it), and lists every file of the user's tree by its path.
 */
import { FosError, asFosError } from '../errors.js';
import { normalizeRemotePath } from '../fs/remote-path.js';
import type { Logger } from '../log/logger.js';
import type { OperationResult } from '../metrics/server-metrics.js';
import { LEGACY, LEGACY_CHUNK_BYTES, LEGACY_PREVIEW_BYTES, parseLegacyFileName } from '../protocol/legacy.js';
import type { LegacyCommand } from '../protocol/legacy.js';
import type { Entry } from '../protocol/types.js';
import type { LegacyInbox, LegacyOutbox } from './legacy-io.js';
import type { ServerServices } from './session-types.js';
import { NO_QUOTA } from './storage.js';
import type { StreamedUpload } from './streamed-upload.js';
import type { DownloadSource, Quota } from './types.js';

/** What a legacy operation works with. */
export interface LegacyContext {
  readonly services: ServerServices;
  readonly inbox: LegacyInbox;
  readonly outbox: LegacyOutbox;
  readonly user: string;
  readonly log: Logger;
}

/** Error codes that mean the connection itself is gone or unusable: the session ends. */
const CONNECTION_CODES: ReadonlySet<string> = new Set(['FOS_ERR_NET_CLOSED', 'FOS_ERR_PROTO_TIMEOUT', 'FOS_ERR_PROTO_LINE_TOO_LONG']);

/** True when `err` ends the connection rather than one operation. */
export function isConnectionError(err: unknown): boolean {
  return err instanceof FosError && CONNECTION_CODES.has(err.code);
}

/** What an operation reports for its log line. */
interface Outcome {
  path?: string;
  bytes?: number;
  /** The error the client was told about, if the operation failed. */
  error?: FosError;
}

/**
 * Runs one command and answers it; logs one line and counts it in the metrics.
 * @throws FosError `FOS_ERR_NET_CLOSED`, `FOS_ERR_PROTO_TIMEOUT` or
 * `FOS_ERR_PROTO_LINE_TOO_LONG` when the connection must end.
 */
export async function runLegacyOperation(ctx: LegacyContext, command: LegacyCommand): Promise<void> {
  const started = performance.now();
  const outcome: Outcome = {};
  let result: OperationResult = 'ok';
  try {
    // The seed's client knows no RATE_LIMITED: over the operation rate it is slowed instead.
    await ctx.services.opLimiter?.wait(ctx.user);
    await dispatch(ctx, command, outcome);
    if (outcome.error !== undefined) result = outcome.error.wireCode;
  } catch (err) {
    result = asFosError(err).wireCode;
    throw err;
  } finally {
    const ms = Math.round(performance.now() - started);
    const op = command.toLowerCase();
    if (outcome.error?.wireCode === 'INTERNAL') ctx.log.error({ err: outcome.error, op }, 'operation failed');
    ctx.log.info({ op, path: outcome.path, bytes: outcome.bytes, ms, result }, 'operation');
    ctx.services.metrics?.observeOperation(op, result, ms / 1000);
  }
}

function dispatch(ctx: LegacyContext, command: LegacyCommand, outcome: Outcome): Promise<void> {
  switch (command) {
    case 'UPLOAD':
      return upload(ctx, outcome);
    case 'DOWNLOAD':
      return download(ctx, outcome);
    case 'PREVIEW':
      return preview(ctx, outcome);
    case 'DELETE':
      return remove(ctx, outcome);
    case 'LIST':
      return list(ctx, outcome);
    default: {
      const never: never = command;
      return never;
    }
  }
}

/** UPLOAD: `FILENAME:<name>`, chunks each acknowledged, `EOF`, then the outcome. */
async function upload(ctx: LegacyContext, outcome: Outcome): Promise<void> {
  const { services, inbox, outbox, user } = ctx;
  const { idleTimeoutMs } = services.settings;
  await outbox.send(LEGACY.uploadReady);
  const message = await inbox.message(idleTimeoutMs);
  let sink: StreamedUpload | null = null;
  try {
    const named = parseLegacyFileName(nameOf(message, outcome));
    if (named === null) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', "expected 'FILENAME:<name>'");
    outcome.path = named;
    sink = await services.storage.beginStreamedUpload(user, canonicalName(named), await quotaOf(ctx));
    outcome.path = sink.path;
  } catch (err) {
    if (isConnectionError(err)) throw err;
    outcome.error = asFosError(err);
  }
  const metrics = services.metrics;
  metrics?.activeTransfers.inc();
  let bytes = 0;
  try {
    await outbox.send(LEGACY.receiving);
    for (;;) {
      const chunk = await inbox.chunk(idleTimeoutMs, LEGACY_CHUNK_BYTES);
      if (isEofMarker(chunk)) break;
      bytes += chunk.length;
      metrics?.bytesIn.inc(chunk.length);
      await services.uploadThrottle?.take(ctx.user, chunk.length);
      if (sink !== null) {
        try {
          await sink.write(chunk);
        } catch (err) {
          // The sink discarded its partial file; the rest of the chunks are only acknowledged.
          outcome.error = asFosError(err);
          sink = null;
        }
      }
      await outbox.send(LEGACY.chunkReceived);
    }
    outcome.bytes = bytes;
    let committed: Entry | null = null;
    if (sink !== null) {
      const finishing = sink;
      sink = null;
      try {
        committed = await finishing.finish();
      } catch (err) {
        outcome.error = asFosError(err);
      }
    }
    await outbox.send(committed === null ? LEGACY.uploadFailed : LEGACY.uploadOk(committed.path));
  } finally {
    metrics?.activeTransfers.dec();
    // Cut short (closed, silent, shut down): nothing appears under the name.
    if (sink !== null) await sink.abort();
  }
}

/** DOWNLOAD: the name, then a status line, the bytes in 4096-byte pieces, and `EOF`. */
async function download(ctx: LegacyContext, outcome: Outcome): Promise<void> {
  const { outbox } = ctx;
  await outbox.send(LEGACY.downloadAsk);
  const source = await openNamed(ctx, outcome);
  if (source === null) {
    await outbox.send(LEGACY.downloadFailed);
    return;
  }
  const metrics = ctx.services.metrics;
  metrics?.activeTransfers.inc();
  let bytes = 0;
  try {
    await outbox.send(LEGACY.downloadStart);
    await outbox.pause();
    try {
      for (let piece = await source.read(LEGACY_CHUNK_BYTES); piece !== null; piece = await source.read(LEGACY_CHUNK_BYTES)) {
        await ctx.services.downloadThrottle?.take(ctx.user, piece.length);
        await outbox.stream(piece);
        bytes += piece.length;
        metrics?.bytesOut.inc(piece.length);
      }
    } catch (err) {
      if (isConnectionError(err)) throw err;
      // The seed protocol cannot report a failure once the bytes flow; EOF at least ends
      // the client's loop (a closed connection would leave it spinning on empty reads).
      outcome.error = asFosError(err);
    }
    outcome.bytes = bytes;
    await outbox.pause();
    await outbox.send(LEGACY.eof);
  } finally {
    metrics?.activeTransfers.dec();
    await source.close();
  }
}

/** PREVIEW: the name, then the first 1024 bytes and `EOF`, or `PREVIEW FAILED` and `EOF`. */
async function preview(ctx: LegacyContext, outcome: Outcome): Promise<void> {
  const { outbox } = ctx;
  await outbox.send(LEGACY.previewAsk);
  const source = await openNamed(ctx, outcome, LEGACY_PREVIEW_BYTES);
  let content: Buffer | null = null;
  if (source !== null) {
    try {
      const pieces: Buffer[] = [];
      for (let piece = await source.read(LEGACY_PREVIEW_BYTES); piece !== null; piece = await source.read(LEGACY_PREVIEW_BYTES)) {
        pieces.push(piece);
      }
      content = Buffer.concat(pieces);
    } catch (err) {
      outcome.error = asFosError(err);
    } finally {
      await source.close();
    }
  }
  if (content === null) {
    await outbox.send(LEGACY.previewFailed);
  } else if (content.length > 0) {
    outcome.bytes = content.length;
    ctx.services.metrics?.bytesOut.inc(content.length);
    await outbox.send(content);
  }
  await outbox.pause();
  await outbox.send(LEGACY.eof);
}

/** DELETE: the name, then the outcome. The file goes to the trash, as a FOS/2 delete. */
async function remove(ctx: LegacyContext, outcome: Outcome): Promise<void> {
  const { services, inbox, outbox, user } = ctx;
  await outbox.send(LEGACY.deleteAsk);
  const message = await inbox.message(services.settings.idleTimeoutMs);
  try {
    const path = canonicalName(nameOf(message, outcome));
    outcome.path = path;
    const entry = await services.storage.stat(user, path);
    // The seed deleted files only; a folder is not something its client can see.
    if (entry.kind !== 'file') throw new FosError('FOS_ERR_PATH_NOT_FILE', `${JSON.stringify(path)} is a folder`);
    await services.storage.remove(user, path);
    await outbox.send(LEGACY.deleteOk(path));
  } catch (err) {
    if (isConnectionError(err)) throw err;
    outcome.error = asFosError(err);
    await outbox.send(LEGACY.deleteFailed);
  }
}

/** LIST: `FILES:` and one path per line (or `NO FILES FOUND`), then `EOF`. */
async function list(ctx: LegacyContext, outcome: Outcome): Promise<void> {
  const { services, outbox, user } = ctx;
  let text: string;
  try {
    const listing = await services.storage.list(user, '', true);
    const files = listing.entries.filter((e) => e.kind === 'file').map((e) => e.path);
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    text = `${LEGACY.listHeader}\n${files.length === 0 ? LEGACY.listEmpty : files.join('\n')}`;
  } catch (err) {
    outcome.error = asFosError(err);
    text = LEGACY.listFailed;
  }
  await outbox.send(text);
  await outbox.pause();
  await outbox.send(LEGACY.eof);
}

/** Reads a name and opens it for reading; null (with the error noted) when it cannot be. */
async function openNamed(ctx: LegacyContext, outcome: Outcome, maxBytes?: number): Promise<DownloadSource | null> {
  const { services, inbox, user } = ctx;
  const message = await inbox.message(services.settings.idleTimeoutMs);
  try {
    const path = canonicalName(nameOf(message, outcome));
    outcome.path = path;
    return await services.storage.openDownload(user, path, maxBytes === undefined ? {} : { maxBytes });
  } catch (err) {
    outcome.error = asFosError(err);
    return null;
  }
}

/**
 * The text of a name message.
 * @throws FosError `FOS_ERR_PATH_BAD` when the bytes are not UTF-8.
 */
function nameOf(message: Buffer, outcome: Outcome): string {
  const text = decodeText(message);
  if (text === null) throw new FosError('FOS_ERR_PATH_BAD', 'the name is not UTF-8', { details: { reason: 'not UTF-8' } });
  outcome.path = text;
  return text;
}

/**
 * The canonical remote path of a name the client sent.
 * @throws FosError `FOS_ERR_PATH_BAD` for a refused name or the root.
 */
function canonicalName(name: string): string {
  const path = normalizeRemotePath(name);
  if (path === '') throw new FosError('FOS_ERR_PATH_BAD', 'a file name is needed', { details: { reason: 'root' } });
  return path;
}

/** Strict UTF-8: null for bytes that are not (a lone surrogate's bytes among them). */
export function decodeText(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // Not UTF-8: the caller answers with the seed's failure text.
    return null;
  }
}

const EOF_BYTES = Buffer.from(LEGACY.eof, 'utf8');

function isEofMarker(chunk: Buffer): boolean {
  return chunk.equals(EOF_BYTES);
}

async function quotaOf(ctx: LegacyContext): Promise<Quota> {
  const account = await ctx.services.store.getUser(ctx.user);
  return account === null ? NO_QUOTA : { quotaBytes: account.quotaBytes, quotaFiles: account.quotaFiles };
}
