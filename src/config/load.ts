/**
 * Loads the config file: read JSON, validate (schema.ts), resolve relative paths against
 * the file's folder (and `~` against the home folder), apply defaults, check what one
 * field cannot say alone (pairs that overlap, state kept inside a synced folder), and
 * return one deep-frozen object.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { errnoCode, FosError } from '../errors.js';
import { configSchema, parseHostPort } from './schema.js';
import type { AgentConfig, Config, ConfigInput, FolderConfig, ServerConfig } from './schema.js';

/** One problem with the file: where and what. */
export interface ConfigIssue {
  /** Like `agent.folders[0].local`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** Environment of the loader. */
export interface LoadOptions {
  /** What `~` means. Default: the user's home folder. */
  readonly homeDir?: string;
}

/**
 * Reads and validates a config file.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` when the file does not exist;
 * `FOS_ERR_CONFIG_INVALID` when it cannot be read, is not JSON or does not validate, with
 * every problem named by its field path (`details.issues`).
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<Config> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new FosError('FOS_ERR_CONFIG_MISSING', `config file ${absolute} does not exist`, { cause: err });
    }
    throw new FosError('FOS_ERR_CONFIG_INVALID', `cannot read config file ${absolute}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FosError('FOS_ERR_CONFIG_INVALID', `config ${absolute}: not valid JSON (${why})`, { cause: err });
  }
  return parseConfig(value, { file: absolute, homeDir: options.homeDir ?? homedir() });
}

/**
 * Validates a parsed config value as if read from `file`. Pure apart from path arithmetic.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` as `loadConfig` does.
 */
export function parseConfig(value: unknown, where: { readonly file: string; readonly homeDir: string }): Config {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) throw invalid(where.file, parsed.error.issues.map(toIssue));
  const input: ConfigInput = parsed.data;
  const dir = dirname(where.file);
  const toPath = (p: string): string => resolve(dir, expandHome(p, where.homeDir));

  const issues: ConfigIssue[] = [];
  const config: { file: string; agent?: AgentConfig; server?: ServerConfig } = { file: where.file };
  if (input.agent !== undefined) config.agent = buildAgent(input.agent, toPath, issues);
  if (input.server !== undefined) config.server = buildServer(input.server, toPath);
  if (issues.length > 0) throw invalid(where.file, issues);
  return deepFreeze(config);
}

type AgentInput = NonNullable<ConfigInput['agent']>;
type ServerInput = NonNullable<ConfigInput['server']>;

function buildAgent(a: AgentInput, toPath: (p: string) => string, issues: ConfigIssue[]): AgentConfig {
  const folders: FolderConfig[] = a.folders.map((f) => {
    const local = toPath(f.local);
    const folder: FolderConfig = { local, remote: f.remote, id: f.id ?? derivedId(local, f.remote) };
    return f.caseInsensitive === undefined ? folder : { ...folder, caseInsensitive: f.caseInsensitive };
  });
  const stateDir = toPath(a.stateDir);
  const tokenFile = toPath(a.tokenFile);
  folders.forEach((f, i) => {
    folders.slice(0, i).forEach((g, j) => {
      if (f.id === g.id) issues.push({ path: `agent.folders[${i}].id`, message: `same id as folders[${j}]` });
      if (isInside(f.local, g.local) || isInside(g.local, f.local)) {
        issues.push({ path: `agent.folders[${i}].local`, message: `overlaps folders[${j}].local` });
      }
    });
    // The manifests and the token must never be synced themselves.
    if (isInside(stateDir, f.local)) issues.push({ path: 'agent.stateDir', message: `inside folders[${i}].local` });
    if (isInside(tokenFile, f.local)) issues.push({ path: 'agent.tokenFile', message: `inside folders[${i}].local` });
  });

  const endpoint = parseHostPort(a.server) ?? { host: a.server, port: 0 };
  let tls: AgentConfig['tls'];
  if (a.tls !== undefined) {
    const t: { fingerprint?: string; ca?: string } = {};
    if (a.tls.fingerprint !== undefined) t.fingerprint = a.tls.fingerprint;
    if (a.tls.ca !== undefined) t.ca = toPath(a.tls.ca);
    tls = t;
  }
  const agent: AgentConfig = {
    server: a.server,
    endpoint,
    user: a.user,
    tokenFile,
    device: a.device,
    stateDir,
    folders,
    ignore: a.ignore,
    rescanIntervalSec: a.rescanIntervalSec,
    maxWatches: a.maxWatches,
    debounceMs: a.debounceMs,
    settleMs: a.settleMs,
    concurrency: a.concurrency,
    compress: a.compress,
    maxDeleteShare: a.maxDeleteShare,
    minGuardDeletions: a.minGuardDeletions,
    maxDeleteFiles: a.maxDeleteFiles,
    maxDeleteBytes: a.maxDeleteBytes,
    maxConflictCopies: a.maxConflictCopies,
    logLevel: a.logLevel,
  };
  return tls === undefined ? agent : { ...agent, tls };
}

function buildServer(s: ServerInput, toPath: (p: string) => string): ServerConfig {
  const server: { -readonly [K in keyof ServerConfig]: ServerConfig[K] } = {
    host: s.host,
    port: s.port,
    data: toPath(s.data),
    trashRetentionDays: s.trashRetentionDays,
    graceMs: s.graceMs,
    limits: { ...s.limits },
    logLevel: s.logLevel,
  };
  if (s.tls !== undefined) {
    server.tls = s.tls.cert !== undefined && s.tls.key !== undefined ? { cert: toPath(s.tls.cert), key: toPath(s.tls.key) } : {};
  }
  if (s.metrics !== undefined) server.metrics = { host: s.metrics.host, port: s.metrics.port };
  if (s.redisUrl !== undefined) server.redisUrl = s.redisUrl;
  if (s.postgresUrl !== undefined) server.postgresUrl = s.postgresUrl;
  return server;
}

/** `~` and `~/x` against the home folder; anything else unchanged. */
function expandHome(p: string, homeDir: string): string {
  if (p === '~') return homeDir;
  if (p.startsWith('~/')) return join(homeDir, p.slice(2));
  return p;
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** A readable, stable id for a pair: the folder's name plus a hash of where it syncs. */
function derivedId(local: string, remote: string): string {
  const slug = basename(local).replace(/[^A-Za-z0-9_-]+/gu, '-').replace(/^-+|-+$/gu, '').slice(0, 40);
  const hash = createHash('sha256').update(`${local}\n${remote}`).digest('hex').slice(0, 8);
  return `${slug === '' ? 'folder' : slug}-${hash}`;
}

/** Renders a zod issue path: `agent.folders[0].local`. */
function renderPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function toIssue(issue: z.core.$ZodIssue): ConfigIssue {
  const path = renderPath(issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return { path, message: /received undefined$/u.test(issue.message) ? 'required' : `must be ${article(issue.expected)}` };
    case 'unrecognized_keys':
      return { path, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` };
    case 'too_small':
      return issue.origin === 'number' ? { path, message: `must be at least ${String(issue.minimum)}` } : { path, message: issue.message };
    case 'too_big':
      return issue.origin === 'number' ? { path, message: `must be at most ${String(issue.maximum)}` } : { path, message: issue.message };
    default:
      return { path, message: issue.message };
  }
}

function article(type: string): string {
  return /^[aeiou]/u.test(type) ? `an ${type}` : `a ${type}`;
}

function invalid(file: string, issues: readonly ConfigIssue[]): FosError {
  const lines = issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
  return new FosError('FOS_ERR_CONFIG_INVALID', `config ${file}: ${lines.join('; ')}`, { details: { issues } });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
