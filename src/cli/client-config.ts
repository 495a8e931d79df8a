/**
 * The command line's own config file: the server, the user and the device token that
 * `fos login` stored (never a password). JSON, written atomically with mode 0600.
 *
 * Location: `--config FILE`, else `FOS_CONFIG`, else `$XDG_CONFIG_HOME/fos/client.json`,
 * else `~/.config/fos/client.json`.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { FosError, errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';

const clientConfigSchema = z.object({
  server: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  tokenId: z.string().optional(),
  device: z.string().optional(),
  /** The stored server speaks TLS (fos login --tls); docs/security.md. */
  tls: z.boolean().optional(),
  /** CA file to verify the stored server against instead of pinning. */
  ca: z.string().optional(),
});

/** What the client config file holds. */
export type ClientConfig = z.infer<typeof clientConfigSchema>;

/** The config file to use: the flag, then `FOS_CONFIG`, then the XDG location. */
export function clientConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env['FOS_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'fos', 'client.json');
}

/**
 * Reads the config file; a missing file is an empty config.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` naming the file and the problem.
 */
export async function loadClientConfig(path: string): Promise<ClientConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return {};
    throw new FosError('FOS_ERR_CONFIG_INVALID', `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${path} is not valid JSON`, { cause: err });
  }
  const parsed = clientConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${path}: ${where}${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Writes the config atomically, readable by the owner only (it holds a token).
 * @throws FosError `FOS_ERR_STORE_WRITE` / `FOS_ERR_STORE_NO_SPACE` when it cannot.
 */
export async function saveClientConfig(path: string, config: ClientConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // writeFileAtomic creates its temporary file with mode 0600 and renames it over the old one.
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
}
