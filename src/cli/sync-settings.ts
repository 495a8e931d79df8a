/**
 * What `fos sync`, `fos agent` and `fos status` read from the agent's config file: the
 * server, the device token's file, the folder pairs and the tunables, validated with
 * messages that name the field. The token itself sits in its own file (mode 0600), never
 * in the config, and a password is never stored.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { FosError, errnoCode } from '../errors.js';
import { parseServerAddress } from '../client/index.js';
import type { ServerAddress } from '../client/index.js';

const folderSchema = z.strictObject({
  local: z.string().min(1, 'the local folder must not be empty'),
  remote: z.string().default(''),
});

/** The config file's shape (`config.example.json`). */
export const syncSettingsSchema = z.strictObject({
  server: z.string().min(1),
  user: z.string().min(1),
  tokenFile: z.string().min(1),
  device: z.string().min(1).max(64),
  stateDir: z.string().min(1),
  folders: z.array(folderSchema).min(1, 'at least one folder pair is needed'),
  ignore: z.array(z.string()).default([]),
  rescanIntervalSec: z.number().int().min(10).default(600),
  concurrency: z.number().int().min(1).max(32).default(4),
  maxDeleteShare: z.number().min(0).max(1).default(0.5),
  debounceMs: z.number().int().min(0).max(10_000).default(100),
  settleMs: z.number().int().min(0).max(60_000).default(150),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  trashRetentionDays: z.number().int().min(0).default(30),
});

/** A validated config, paths resolved against the config file's folder. */
export type SyncSettings = Readonly<
  Omit<z.infer<typeof syncSettingsSchema>, 'folders'> & {
    readonly file: string;
    readonly address: ServerAddress;
    readonly folders: readonly { readonly local: string; readonly remote: string }[];
  }
>;

/**
 * Reads and validates a config file.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` (no file: run `fos init`), `FOS_ERR_CONFIG_INVALID`
 * naming the field and the problem.
 */
export async function loadSyncSettings(file: string): Promise<SyncSettings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new FosError('FOS_ERR_CONFIG_MISSING', `no config at ${file}: run \`fos init\` first`);
    throw new FosError('FOS_ERR_CONFIG_INVALID', `cannot read ${file}: ${String(errnoCode(err) ?? err)}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${file} is not valid JSON`, { cause: err });
  }
  const parsed = syncSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${file}: ${where}${issue?.message ?? 'invalid'}`);
  }
  const base = dirname(resolve(file));
  const data = parsed.data;
  return Object.freeze({
    ...data,
    file: resolve(file),
    address: parseServerAddress(data.server),
    tokenFile: resolve(base, data.tokenFile),
    stateDir: resolve(base, data.stateDir),
    folders: data.folders.map((f) => ({ local: resolve(base, f.local), remote: f.remote.replace(/^\/+|\/+$/gu, '') })),
  });
}

/**
 * Reads the device token from its file.
 * @throws FosError `FOS_ERR_AUTH_NO_CREDENTIALS` when the file is missing or empty.
 */
export async function readToken(tokenFile: string): Promise<string> {
  try {
    const token = (await readFile(tokenFile, 'utf8')).trim();
    if (token !== '') return token;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', `cannot read the token file ${tokenFile}`, { cause: err });
  }
  throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', `no device token in ${tokenFile}: run \`fos init\` again`);
}

/** The config file to use: the flag, else `FOS_AGENT_CONFIG`, else `<XDG config>/fos/agent.json`. */
export function agentConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env['FOS_AGENT_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const xdg = env['XDG_CONFIG_HOME'];
  const home = env['HOME'] ?? '.';
  return resolve(xdg !== undefined && xdg !== '' ? xdg : resolve(home, '.config'), 'fos', 'agent.json');
}
