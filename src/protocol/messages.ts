/**
 * FOS/2 messages as typed values: request decoding (server side) and reply decoding
 * (client side). A message is `unknown` until these schemas accept it.
 */
import { z } from 'zod';
import { FosError, fromWireCode } from '../errors.js';
import { BLOCK_HASH_HEX, DELTA_BLOCK_BYTES, MAX_BATCH_FILES, MAX_DELTA_BLOCK_BYTES, MAX_FEATURES, MAX_HELD_IDS, MAX_PREVIEW_BYTES, REQUEST } from './constants.js';
import { isBatchId } from './deletion-batch.js';
import { BATCH_STATES, DELETION_SIDES } from './types.js';
import type { LineMessage } from './frame-decoder.js';

// No length cap here: the request line limit (64 KiB) bounds it, and the path rules refuse
// an over-long path with BAD_PATH, as docs/protocol.md "Paths" says, not BAD_REQUEST.
const path = z.string();
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const rev = count;
/** `null` = "the path must not exist"; absent = "whatever is there". */
const baseRev = rev.nullable().optional();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits');
const mtimeMs = z.number().finite().nonnegative();
const batchId = z.string().refine(isBatchId, 'not a batch id');
const side = z.enum(DELETION_SIDES);
const batchState = z.enum(BATCH_STATES);
/** A delta block size: a power of two from DELTA_BLOCK_BYTES to MAX_DELTA_BLOCK_BYTES. */
const blockBytes = z
  .number()
  .int()
  .min(DELTA_BLOCK_BYTES)
  .max(MAX_DELTA_BLOCK_BYTES)
  .refine((n) => (n & (n - 1)) === 0, 'blockBytes must be a power of two');

/** One deletion of a held batch as it travels on the wire. */
export const deletionItemSchema = z.object({
  path,
  kind: z.enum(['file', 'dir']),
  rev,
  size: count,
  sha256: z.string().regex(/^(?:[0-9a-f]{64})?$/u, 'sha256 must be 64 lower-case hex digits or empty'),
});

const schemas = {
  [REQUEST.hello]: z.object({
    version: z.number().int(),
    client: z.string().max(200).optional(),
    chunkBytes: count.optional(),
    windowBytes: count.optional(),
    compress: z.array(z.string().max(32)).max(8).optional(),
    features: z.array(z.string().max(32)).max(MAX_FEATURES).optional(),
  }),
  [REQUEST.auth]: z.union([
    z.object({ user: z.string().max(256), password: z.string().max(1024) }),
    z.object({ token: z.string().max(512) }),
  ]),
  [REQUEST.token]: z.object({ device: z.string().min(1).max(128) }),
  [REQUEST.tokens]: z.object({}),
  [REQUEST.revoke]: z.object({ id: z.string().max(128).optional() }),
  [REQUEST.upload]: z.object({
    path,
    size: count,
    /** Absent (feature `eof-hash`): the client's `EOF` names it. */
    sha256: sha256.optional(),
    mtimeMs,
    baseRev,
    compress: z.boolean().optional(),
    /** Delta upload against the version at `rev`, in blocks of `blockBytes` (feature `delta`). */
    delta: z.object({ rev, blockBytes }).optional(),
  }),
  // The frames of every file follow READY, in order; the sizes bound them (docs/protocol.md).
  [REQUEST.uploads]: z.object({
    files: z
      .array(z.object({ path, size: count, sha256, mtimeMs, baseRev }))
      .min(1)
      .max(MAX_BATCH_FILES),
  }),
  [REQUEST.download]: z.object({
    path,
    offset: count.optional(),
    compress: z.boolean().optional(),
  }),
  [REQUEST.blocks]: z.object({ path, blockBytes }),
  [REQUEST.preview]: z.object({ path, bytes: z.number().int().min(1).max(MAX_PREVIEW_BYTES).optional() }),
  [REQUEST.delete]: z.object({ path, baseRev, recursive: z.boolean().optional() }),
  [REQUEST.mkdir]: z.object({ path, mtimeMs: mtimeMs.optional() }),
  [REQUEST.move]: z.object({ from: path, to: path, baseRev }),
  [REQUEST.stat]: z.object({ path }),
  [REQUEST.list]: z.object({ path: path.optional(), recursive: z.boolean().optional(), since: rev.optional() }),
  [REQUEST.watch]: z.object({ since: rev.optional() }),
  [REQUEST.trash]: z.object({ path: path.optional() }),
  [REQUEST.restore]: z.object({ path: path.optional(), at: count, dryRun: z.boolean().optional() }),
  // One part of a held batch; parts after the first follow at once (docs/protocol.md).
  // The line limit bounds `items`; the server bounds the parts and the item count.
  [REQUEST.hold]: z.object({
    device: z.string().min(1).max(128),
    folder: path,
    side,
    part: count,
    last: z.boolean(),
    items: z.array(deletionItemSchema),
  }),
  [REQUEST.held]: z.object({
    ids: z.array(batchId).max(MAX_HELD_IDS).optional(),
    folder: path.optional(),
    states: z.array(batchState).max(BATCH_STATES.length).optional(),
    items: z.boolean().optional(),
  }),
  [REQUEST.approve]: z.object({ id: batchId }),
  [REQUEST.reject]: z.object({ id: batchId }),
  [REQUEST.quit]: z.object({}),
} as const;

type Schemas = typeof schemas;
type Verb = keyof Schemas;

/** A decoded request: the verb and its typed arguments. */
export type Request = { [V in Verb]: { readonly verb: V; readonly args: z.infer<Schemas[V]> } }[Verb];

/** Arguments of one request verb. */
export type RequestArgs<V extends Verb> = z.infer<Schemas[V]>;

/** Decodes a control line into a request, or throws FosError BAD_REQUEST naming the problem. */
export function decodeRequest(line: LineMessage): Request {
  const schema = (schemas as Record<string, z.ZodType | undefined>)[line.head];
  if (schema === undefined) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `unknown command ${JSON.stringify(line.head.slice(0, 40))}`);
  }
  const parsed = schema.safeParse(line.body);
  if (!parsed.success) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${line.head}: ${describeIssues(parsed.error)}`);
  }
  return { verb: line.head, args: parsed.data } as Request;
}

/** The schema of an entry as it travels on the wire. */
export const entrySchema = z.object({
  path: z.string(),
  kind: z.enum(['file', 'dir']),
  size: count,
  mtimeMs,
  sha256: z.string(),
  rev,
  deleted: z.boolean(),
});

/** A device token as `TOKENS` lists it (never the secret). */
export const tokenInfoSchema = z.object({
  id: z.string(),
  user: z.string(),
  device: z.string(),
  createdAt: count,
  lastUsedAt: count.nullable(),
});

/** A kept version as `TRASH` lists it. */
export const trashItemSchema = z.object({
  id: z.string(),
  path: z.string(),
  size: count,
  mtimeMs,
  sha256: z.string(),
  rev,
  /** When the version became current; absent from servers that predate restores. */
  validFrom: count.optional(),
  trashedAt: count,
});

const kind = z.enum(['file', 'dir']);
const replaces = kind.nullable();

/** One change of a RESTORE, as `STEPS` lines carry it (docs/protocol.md "Restore"). */
export const restoreStepSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('restore'),
    path: z.string(),
    kind: z.literal('file'),
    size: count,
    sha256: z.string(),
    mtimeMs,
    validFrom: count,
    trashedAt: count,
    replaces,
  }),
  z.object({ action: z.literal('delete'), path: z.string(), kind, size: count, sha256: z.string() }),
  z.object({ action: z.literal('mkdir'), path: z.string(), kind: z.literal('dir'), size: count, sha256: z.string(), replaces }),
  z.object({
    action: z.literal('unrecoverable'),
    path: z.string(),
    kind: z.literal('file'),
    size: count,
    sha256: z.string(),
    reason: z.enum(['missing', 'damaged']),
  }),
]);

/** The summary that ends a RESTORE. */
export const restoreSummarySchema = z.object({
  path: z.string(),
  at: count,
  dryRun: z.boolean(),
  restored: count,
  deleted: count,
  created: count,
  unchanged: count,
  unrecoverable: count,
  rev: rev.nullable(),
});

/** A held batch as `BATCH` lines and batch replies carry it. */
export const deletionBatchSchema = z.object({
  id: z.string(),
  device: z.string(),
  folder: z.string(),
  side,
  state: batchState,
  createdAt: count,
  resolvedAt: count.nullable(),
  count,
  bytes: count,
  commitRev: rev.nullable(),
  successor: z.string().nullable(),
  itemsKey: z.string(),
});

/** A `COPY` line inside a delta upload: the base's bytes `[offset, offset + length)`. */
export const copyLineSchema = z.object({ offset: count, length: count.min(1) });

/** The client's `EOF` ending an upload: the SHA-256 of the whole file when `UPLOAD` had none. */
export const uploadEofSchema = z.object({ sha256: sha256.optional() });

/** Reply bodies the client decodes. */
export const replySchemas = {
  hello: z.object({
    version: z.number().int(),
    server: z.string(),
    chunkBytes: count,
    windowBytes: count,
    compress: z.array(z.string()),
    // Absent from an older server: no optional features.
    features: z.array(z.string()).optional(),
  }),
  authOk: z.object({ user: z.string() }),
  ready: z.object({ offset: count, delta: z.boolean().optional() }),
  blocks: z.object({
    rev,
    size: count,
    sha256,
    blockBytes,
    blocks: z.array(z.string().regex(new RegExp(`^[0-9a-f]{${BLOCK_HASH_HEX}}$`, 'u'))),
  }),
  ack: z.object({ offset: count }),
  sending: z.object({ entry: entrySchema, offset: count, length: count, compress: z.boolean() }),
  entries: z.object({ entries: z.array(entrySchema) }),
  eof: z.object({ rev: rev.optional(), sha256: z.string().optional(), history: z.string().max(64).optional() }),
  notice: z.object({ rev, paths: z.array(z.string()) }),
  shutdown: z.object({ graceMs: count.optional() }),
  entry: z.object({ entry: entrySchema }),
  /** UPLOADS: one result per file, in request order. */
  uploaded: z.object({
    results: z.array(
      z.union([z.object({ entry: entrySchema }), z.object({ error: z.looseObject({ code: z.string(), message: z.string() }) })]),
    ),
  }),
  watching: z.object({ rev }),
  token: z.object({ token: z.string().min(1), id: z.string() }),
  tokens: z.object({ tokens: z.array(tokenInfoSchema) }),
  trash: z.object({ items: z.array(trashItemSchema) }),
  steps: z.object({ steps: z.array(restoreStepSchema) }),
  restored: restoreSummarySchema,
  hold: z.object({ outcome: z.enum(['created', 'same', 'superseded', 'withdrawn', 'none']), batch: deletionBatchSchema.nullable() }),
  batch: z.object({ batch: deletionBatchSchema, samples: z.array(z.string()) }),
  items: z.object({ items: z.array(deletionItemSchema) }),
  resolved: z.object({ batch: deletionBatchSchema, done: count, kept: count }),
} as const;

/** Decodes a reply body with a schema, or throws FosError naming the malformed reply. */
export function decodeReply<S extends z.ZodType>(schema: S, line: LineMessage): z.infer<S> {
  const parsed = schema.safeParse(line.body);
  if (!parsed.success) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `malformed ${line.head} reply: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Turns an `ERR {code, message, ...}` line into the FosError it stands for. */
export function errorFromReply(line: LineMessage): FosError {
  const { code, message, ...details } = line.body;
  return fromWireCode(code, typeof message === 'string' ? message : 'server error', details);
}

/** Body of an `ERR` reply for a FosError: the wire code, the message and safe details. */
export function errorReplyBody(error: FosError): Record<string, unknown> {
  return { code: error.wireCode, message: error.message, ...error.details };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
