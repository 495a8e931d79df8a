/**
 * The manifest: per folder pair, what both sides last agreed on (DESIGN.md "Sync
 * semantics"), the change-feed cursor and the identity of the local root. One lowdb JSON
 * file per pair at `<stateDir>/<pairId>.manifest.json`, written through `ManifestFile`
 * (compact JSON, temporary file, fsync, rename), so the file is always a complete old or
 * new version, also after a power cut. In memory the records live in one Map only: neither
 * the parsed file nor the last written snapshot is kept (issue 8: agent memory).
 * Writes are batched: `set` and `delete` only mark the manifest dirty; a flush runs at most
 * once per `flushIntervalMs` and on demand.
 *
 * A manifest that does not parse or validate is moved aside to `*.corrupt-<time>` and the
 * pair starts from an empty base: reconcile then sees both sides as new, equal content is
 * re-recorded and different content becomes a conflict; nothing is deleted.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import type { Adapter } from 'lowdb';
import { z } from 'zod';
import { errnoCode, FosError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { DeletionSide } from '../protocol/types.js';
import { DELETION_SIDES } from '../protocol/types.js';
import { isAtOrUnder } from './path-tree.js';
import type { BaseState } from './types.js';

/** The manifest format version this code reads and writes. */
export const MANIFEST_VERSION = 1;

/** What identifies the local root, so that a replaced or unmounted folder is noticed. */
export interface RootIdentity {
  readonly dev: number;
  readonly ino: number;
  /** The random id kept in the folder's `.fos/` directory. */
  readonly folderId: string;
}

/**
 * A batch of deletions this pair's guard held on the server and that is still pending as
 * far as the pair knows (issue 11). Remembered so that passes while it waits neither send
 * the same set again nor make a new batch.
 */
export interface HeldRecord {
  readonly side: DeletionSide;
  /** The server's batch id. */
  readonly id: string;
  /** The fingerprint of the held set (`deletionSetKey`). */
  readonly itemsKey: string;
  readonly count: number;
  readonly bytes: number;
  /** The held sync paths (relative to the pair). */
  readonly paths: readonly string[];
}

/** The file's content. */
export interface ManifestData {
  readonly version: typeof MANIFEST_VERSION;
  readonly serverId?: string;
  /** The last change-feed revision applied. */
  readonly cursor: number;
  readonly root: RootIdentity | null;
  readonly entries: Readonly<Record<string, BaseState>>;
  /** Pending held batches, at most one per side; absent when there are none. */
  readonly held?: readonly HeldRecord[];
}

/** 64 lower-case hex digits or "" (a loop: a regular expression per record cost a tenth of a no-op pass). */
function isSha256OrEmpty(text: string): boolean {
  if (text.length === 0) return true;
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
const BASE_STATE_KEYS = 5;

/** Why a record is not a BaseState (the field at fault and the rule), or null when it is one. */
function baseStateProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ': expected an object';
  const record = value as Record<string, unknown>;
  const { kind, size, mtimeMs, sha256, rev } = record;
  if (kind !== 'file' && kind !== 'dir') return '.kind: expected "file" or "dir"';
  if (!isCount(size)) return '.size: expected a whole number >= 0';
  if (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs) || mtimeMs < 0) return '.mtimeMs: expected a number >= 0';
  if (typeof sha256 !== 'string' || !isSha256OrEmpty(sha256)) return '.sha256: expected 64 hex digits or ""';
  if (!isCount(rev)) return '.rev: expected a whole number >= 0';
  if (Object.keys(record).length !== BASE_STATE_KEYS) return ': unknown keys';
  return null;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads and writes the manifest file for lowdb: compact JSON (an indented file of 100,000
 * records is twice the bytes to write and parse), written atomically with fsync, one write
 * at a time in call order so that an older snapshot never lands after a newer one.
 */
export class ManifestFile implements Adapter<ManifestData> {
  readonly #file: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.#file = file;
  }

  async read(): Promise<ManifestData | null> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
    // Validated by the caller: until then it is only JSON.
    return JSON.parse(text) as ManifestData;
  }

  write(data: ManifestData): Promise<void> {
    const text = JSON.stringify(data);
    const next = this.#writing.then(() => writeFileAtomic(this.#file, text));
    this.#writing = next.catch(() => undefined);
    return next;
  }
}

const manifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  serverId: z.string().optional(),
  cursor: z.number().int().nonnegative(),
  root: z.strictObject({ dev: z.number(), ino: z.number(), folderId: z.string() }).nullable(),
  // Checked by `checkEntries`: zod's per-record objects cost seconds on 100,000 records.
  entries: z.record(z.string(), z.unknown()),
  held: z
    .array(
      z.strictObject({
        side: z.enum(DELETION_SIDES),
        id: z.string(),
        itemsKey: z.string(),
        count: z.number().int().nonnegative(),
        bytes: z.number().int().nonnegative(),
        paths: z.array(z.string()),
      }),
    )
    .optional(),
});

/** Schedules a callback; returns its cancel function. Injected so tests control time. */
export type FlushTimer = (callback: () => void, delayMs: number) => () => void;

/** The real timer; it does not keep the process alive. */
export const realFlushTimer: FlushTimer = (callback, delayMs) => {
  const handle = setTimeout(callback, delayMs);
  handle.unref();
  return () => clearTimeout(handle);
};

/** How a manifest file is kept. */
export interface ManifestFileOptions {
  /** Minimum time between two batched writes. Default 1000. */
  readonly flushIntervalMs?: number;
  readonly timer?: FlushTimer;
  /** Clock for the name of a corrupt file moved aside. */
  readonly now?: () => number;
  /** Receives failures of batched writes (a flush on demand throws instead). */
  readonly onError?: (err: FosError) => void;
}

/** How a pair's manifest is found and kept. */
export interface ManifestOptions extends ManifestFileOptions {
  readonly stateDir: string;
  /** The folder pair's id: letters, digits, '.', '_' and '-'. */
  readonly pairId: string;
}

/** What happened to a manifest that could not be used. */
export interface ManifestRecovery {
  readonly error: FosError;
  /** Where the bad file went. */
  readonly movedTo: string;
}

const PAIR_ID = /^[A-Za-z0-9._-]{1,128}$/u;

/** The path of a pair's manifest file. Throws FosError `FOS_ERR_SYNC_MANIFEST` for a bad id. */
export function manifestFile(stateDir: string, pairId: string): string {
  if (!PAIR_ID.test(pairId) || pairId.startsWith('.')) {
    throw new FosError('FOS_ERR_SYNC_MANIFEST', `folder pair id ${JSON.stringify(pairId)} is not a safe file name`);
  }
  return join(stateDir, `${pairId}.manifest.json`);
}

/**
 * The pending held batches a pair's manifest file names, read without opening it for
 * writing (`fos status` while no agent runs); [] when the file is missing or unreadable.
 */
export async function readHeldRecords(stateDir: string, pairId: string): Promise<readonly HeldRecord[]> {
  try {
    return (await readManifest(manifestFile(stateDir, pairId))).held ?? [];
  } catch {
    // Missing, torn or not ours: the agent moves a bad manifest aside when it next starts;
    // until then there is nothing held to show.
    return [];
  }
}

/** A pair's manifest, loaded in memory, written in batches. */
export class Manifest {
  /** The file on disk. */
  readonly file: string;
  /** Set when the file on disk was corrupt or unreadable and was moved aside. */
  readonly recovery: ManifestRecovery | null;
  readonly #db: Low<ManifestData>;
  readonly #entries: Map<string, BaseState>;
  readonly #intervalMs: number;
  readonly #timer: FlushTimer;
  readonly #onError: (err: FosError) => void;
  #serverId: string | undefined;
  #held: HeldRecord[];
  #heldByPath: Map<string, HeldRecord> | null = null;
  #cursor: number;
  #root: RootIdentity | null;
  #dirty = false;
  #cancel: (() => void) | null = null;
  #closing: Promise<void> | null = null;

  private constructor(file: string, db: Low<ManifestData>, data: ManifestData, recovery: ManifestRecovery | null, options: ManifestFileOptions) {
    this.file = file;
    this.recovery = recovery;
    this.#db = db;
    this.#entries = new Map(Object.entries(data.entries));
    // The Map is the only copy kept: the parsed file goes.
    db.data = emptyData();
    this.#serverId = data.serverId;
    this.#held = [...(data.held ?? [])];
    this.#cursor = data.cursor;
    this.#root = data.root;
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    this.#timer = options.timer ?? realFlushTimer;
    this.#onError = options.onError ?? ((): void => undefined);
  }

  /**
   * Opens (or starts) the manifest of a pair at `<stateDir>/<pairId>.manifest.json`.
   * Throws as `openFile` does, and for an unsafe pair id.
   */
  static open(options: ManifestOptions): Promise<Manifest> {
    return Manifest.openFile(manifestFile(options.stateDir, options.pairId), options);
  }

  /**
   * Opens (or starts) a manifest file. A corrupt or invalid file is moved aside and
   * reported in `recovery`. Throws FosError `FOS_ERR_SYNC_MANIFEST` when the file can be
   * neither read nor moved aside.
   */
  static async openFile(file: string, options: ManifestFileOptions = {}): Promise<Manifest> {
    const db = new Low<ManifestData>(new ManifestFile(file), emptyData());
    let problem: FosError;
    try {
      await db.read();
      return new Manifest(file, db, validated(file, db.data), null, options);
    } catch (err) {
      problem = unusable(file, err);
    }
    const movedTo = `${file}.corrupt-${(options.now ?? Date.now)()}`;
    try {
      await rename(file, movedTo);
    } catch (err) {
      throw new FosError('FOS_ERR_SYNC_MANIFEST', `${problem.message}, and it cannot be moved aside`, { cause: err });
    }
    db.data = emptyData();
    return new Manifest(file, db, db.data, { error: problem, movedTo }, options);
  }

  /** The records by path, for reconcile. A live view: do not change it directly. */
  get records(): ReadonlyMap<string, BaseState> {
    return this.#entries;
  }

  get(path: string): BaseState | undefined {
    return this.#entries.get(path);
  }

  /** Records the agreed state of a path (written with the next flush). */
  set(path: string, state: BaseState): void {
    this.#entries.set(path, state);
    this.#touch();
  }

  /** Removes a path's record (written with the next flush). */
  delete(path: string): void {
    if (this.#entries.delete(path)) this.#touch();
  }

  /** Moves every record at or under `from` to `to`; returns the new paths. */
  move(from: string, to: string): string[] {
    const moved: [string, BaseState][] = [];
    for (const [path, state] of this.#entries) if (isAtOrUnder(path, from)) moved.push([path, state]);
    for (const [path] of moved) this.#entries.delete(path);
    const targets: string[] = [];
    for (const [path, state] of moved) {
      const target = to + path.slice(from.length);
      this.#entries.set(target, state);
      targets.push(target);
    }
    if (moved.length > 0) this.#touch();
    return targets;
  }

  get cursor(): number {
    return this.#cursor;
  }

  set cursor(rev: number) {
    // A no-op pass sets the cursor it already has: that must not rewrite the file (issue 8).
    if (rev === this.#cursor) return;
    this.#cursor = rev;
    this.#touch();
  }

  get root(): RootIdentity | null {
    return this.#root;
  }

  set root(identity: RootIdentity | null) {
    this.#root = identity;
    this.#touch();
  }

  get serverId(): string | undefined {
    return this.#serverId;
  }

  set serverId(id: string | undefined) {
    this.#serverId = id;
    this.#touch();
  }

  /** The pending held batches this pair knows of, at most one per side. */
  get held(): readonly HeldRecord[] {
    return this.#held;
  }

  /** Remembers the pending batch of a side, or forgets it (null). */
  setHeld(side: DeletionSide, record: HeldRecord | null): void {
    const others = this.#held.filter((h) => h.side !== side);
    this.#held = record === null ? others : [...others, record];
    this.#heldByPath = null;
    this.#touch();
  }

  /** The pending held batch a sync path belongs to, or null (`fos status --why`). */
  heldBatchOf(path: string): HeldRecord | null {
    if (this.#heldByPath === null) {
      this.#heldByPath = new Map();
      for (const record of this.#held) for (const p of record.paths) this.#heldByPath.set(p, record);
    }
    return this.#heldByPath.get(path) ?? null;
  }

  /** True when changes wait for a flush. */
  get isDirty(): boolean {
    return this.#dirty;
  }

  /** Writes pending changes now. Throws FosError `FOS_ERR_SYNC_MANIFEST` when the write fails. */
  async flush(): Promise<void> {
    this.#cancel?.();
    this.#cancel = null;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#db.data = this.#snapshot();
    const written = this.#db.write();
    // The snapshot is a second copy of every record: gone once it is serialized.
    this.#db.data = emptyData();
    try {
      await written;
    } catch (err) {
      this.#dirty = true;
      const why = errnoCode(err) ?? errnoCode(err instanceof FosError ? err.cause : undefined) ?? String(err);
      throw new FosError('FOS_ERR_SYNC_MANIFEST', `cannot write manifest ${this.file}: ${why}`, { cause: err });
    }
  }

  /** Writes pending changes and stops the batch timer. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.flush();
    return this.#closing;
  }

  #touch(): void {
    this.#dirty = true;
    if (this.#cancel !== null || this.#closing !== null) return;
    this.#cancel = this.#timer(() => {
      this.#cancel = null;
      this.flush().catch((err: unknown) => {
        this.#onError(err instanceof FosError ? err : new FosError('FOS_ERR_SYNC_MANIFEST', String(err), { cause: err }));
      });
    }, this.#intervalMs);
  }

  #snapshot(): ManifestData {
    const base: ManifestData = {
      version: MANIFEST_VERSION,
      cursor: this.#cursor,
      root: this.#root,
      entries: Object.fromEntries(this.#entries),
      ...(this.#held.length === 0 ? {} : { held: this.#held }),
    };
    return this.#serverId === undefined ? base : { ...base, serverId: this.#serverId };
  }
}

/**
 * Reads a manifest file without taking it over: nothing is created, moved aside or
 * written, so a running agent's state is not disturbed (`fos status --why`). A missing
 * file reads as an empty manifest.
 * @throws FosError `FOS_ERR_SYNC_MANIFEST` when the file is unreadable, not JSON or invalid.
 */
export async function readManifest(file: string): Promise<ManifestData> {
  try {
    return validated(file, JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return emptyData();
    throw unusable(file, err);
  }
}

/** The file's content once it validates. @throws FosError `FOS_ERR_SYNC_MANIFEST` naming the first problem. */
function validated(file: string, data: unknown): ManifestData {
  // The records are checked by hand, the rest by the schema (with no records to walk).
  const top = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
  const entries = top?.['entries'];
  const records = typeof entries === 'object' && entries !== null && !Array.isArray(entries) ? (entries as Record<string, unknown>) : null;
  const parsed = manifestSchema.safeParse(top !== null && records !== null ? { ...top, entries: {} } : data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : `${issue.path.join('.')}: ${issue.message}`;
    throw new FosError('FOS_ERR_SYNC_MANIFEST', `manifest ${file} is invalid (${where})`, { cause: parsed.error });
  }
  for (const path in records) {
    const problem = baseStateProblem(records[path]);
    if (problem !== null) throw new FosError('FOS_ERR_SYNC_MANIFEST', `manifest ${file} is invalid (entries.${path}${problem})`);
  }
  return fromParsed({ ...parsed.data, entries: records ?? {} });
}

/** Why a manifest file cannot be used, as a FosError. */
function unusable(file: string, err: unknown): FosError {
  if (err instanceof FosError) return err;
  const why = err instanceof SyntaxError ? 'not valid JSON' : `unreadable (${errnoCode(err) ?? String(err)})`;
  return new FosError('FOS_ERR_SYNC_MANIFEST', `manifest ${file} is ${why}`, { cause: err });
}

function emptyData(): ManifestData {
  return { version: MANIFEST_VERSION, cursor: 0, root: null, entries: {} };
}

function fromParsed(data: z.infer<typeof manifestSchema>): ManifestData {
  const base: ManifestData = {
    version: data.version,
    cursor: data.cursor,
    root: data.root,
    // Each record passed baseStateProblem.
    entries: data.entries as Record<string, BaseState>,
    ...(data.held === undefined ? {} : { held: data.held }),
  };
  return data.serverId === undefined ? base : { ...base, serverId: data.serverId };
}
