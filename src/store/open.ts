/**
 * Opens the metadata store a command names: `--store` (a SQLite file or a PostgreSQL
 * URL) or, by default, `fos.db` in the `--data` folder. The server, `fos user …` and
 * `fos migrate` all go through here, so they accept the same forms.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FosError } from '../errors.js';
import type { PostgresStoreOptions } from './postgres.js';
import { redactUrl } from './redact-url.js';
import { DB_FILE, SqliteStore, openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/** What a command was told about its store. */
export interface StoreSpec {
  /** `sqlite:<file or data folder>`, `postgres://…` or `postgresql://…`. */
  readonly store?: string | undefined;
  /** The data folder; its `fos.db` is the store when `store` is absent. */
  readonly dataDir?: string | undefined;
}

/** Where a store lives, parsed from a {@link StoreSpec}. */
export type StoreLocation =
  | { readonly kind: 'sqlite-dir'; readonly dataDir: string }
  | { readonly kind: 'sqlite-file'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string };

const SQLITE_PREFIX = 'sqlite:';
const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    // Missing or unreadable: not a folder we can use; the open that follows reports why.
    return false;
  }
}

/**
 * Parses a store spec. `sqlite:PATH` is a database file, or a data folder when PATH is an
 * existing folder; a bare `--data` folder means its `fos.db`.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` when neither is given, `FOS_ERR_CONFIG_INVALID`
 * for a store of an unknown kind.
 */
export function parseStoreSpec(spec: StoreSpec): StoreLocation {
  const text = spec.store;
  if (text === undefined || text === '') {
    if (spec.dataDir === undefined || spec.dataDir === '') {
      throw new FosError('FOS_ERR_CONFIG_MISSING', 'no store: pass --store URL or --data DIR');
    }
    return { kind: 'sqlite-dir', dataDir: resolve(spec.dataDir) };
  }
  if (text.startsWith(SQLITE_PREFIX)) {
    const path = text.slice(SQLITE_PREFIX.length).replace(/^\/\/(?=\/)/u, '');
    if (path === '') throw new FosError('FOS_ERR_CONFIG_INVALID', 'sqlite: needs a path, as in sqlite:/var/lib/fos/fos.db');
    const absolute = resolve(path);
    return isDirectory(absolute) ? { kind: 'sqlite-dir', dataDir: absolute } : { kind: 'sqlite-file', file: absolute };
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/iu.exec(text)?.[0]?.toLowerCase();
  if (scheme !== undefined && POSTGRES_SCHEMES.includes(scheme)) {
    return { kind: 'postgres', url: text };
  }
  throw new FosError(
    'FOS_ERR_CONFIG_INVALID',
    `unknown store ${JSON.stringify(scheme === undefined ? text : redactUrl(text))}: use sqlite:PATH or postgres://USER@HOST:PORT/DB`,
  );
}

/** A location as people read it, without a password. */
export function describeStore(location: StoreLocation): string {
  switch (location.kind) {
    case 'sqlite-dir':
      return `sqlite:${resolve(location.dataDir, DB_FILE)}`;
    case 'sqlite-file':
      return `sqlite:${location.file}`;
    case 'postgres':
      return redactUrl(location.url);
    default: {
      const never: never = location;
      return never;
    }
  }
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Told about PostgreSQL connections that fail while idle (the pool replaces them). */
  readonly onIdleError?: PostgresStoreOptions['onIdleError'];
}

/**
 * Opens and migrates the store `spec` names.
 * @throws FosError `FOS_ERR_CONFIG_*` for a bad spec, `FOS_ERR_STORE_WRITE` when the store
 * cannot be opened or reached, `FOS_ERR_STORE_CORRUPT` for a damaged or newer database.
 */
export async function openStore(spec: StoreSpec, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreSpec(spec);
  switch (location.kind) {
    case 'sqlite-dir':
      return openSqliteStore(location.dataDir);
    case 'sqlite-file': {
      const store = new SqliteStore(location.file);
      try {
        await store.migrate();
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
    case 'postgres': {
      // Loaded on demand: the PostgreSQL driver is not needed by SQLite users or client commands.
      const { openPostgresStore } = await import('./postgres.js');
      return openPostgresStore(
        location.url,
        options.onIdleError === undefined ? {} : { onIdleError: options.onIdleError },
      );
    }
    default: {
      const never: never = location;
      return never;
    }
  }
}
