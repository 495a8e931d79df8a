/**
 * What `fos sync`, `fos agent` and `fos status` read: the `agent` section of the config
 * file (src/config: validated, defaults applied, paths absolute), and the device token
 * from its own file (mode 0600). A password is never stored.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConnectFn } from '../client/index.js';
import { FosError, errnoCode } from '../errors.js';
import { readCaFile, tlsConnector } from '../security/tls-connect.js';
import { loadConfig } from '../config/load.js';
import type { AgentConfig } from '../config/schema.js';

/** The agent's settings and the file they came from. */
export type SyncSettings = AgentConfig & { readonly file: string };

/**
 * Loads the agent section of a config file.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` (no file, or no agent section: run `fos init`),
 * `FOS_ERR_CONFIG_INVALID` naming the field and the problem.
 */
export async function loadSyncSettings(file: string): Promise<SyncSettings> {
  let config;
  try {
    config = await loadConfig(file);
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_CONFIG_MISSING') {
      throw new FosError('FOS_ERR_CONFIG_MISSING', `${err.message}: run \`fos init\` first`, { cause: err });
    }
    throw err;
  }
  if (config.agent === undefined) throw new FosError('FOS_ERR_CONFIG_MISSING', `${config.file} has no "agent" section: run \`fos init\``);
  return { ...config.agent, file: config.file };
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

/**
 * How the agent reaches its server: plain TCP, or TLS pinned to `tls.fingerprint` or
 * verified against the `tls.ca` certificate. An agent has nobody to ask, so a server that
 * is neither pinned nor verifiable is refused (`fos init --tls` pins it first). Servers
 * it pinned are remembered in `<stateDir>/known_hosts`.
 * @throws FosError `FOS_ERR_CONFIG_*` when the CA file cannot be read.
 */
export async function agentConnect(settings: SyncSettings): Promise<ConnectFn | undefined> {
  const tls = settings.tls;
  if (tls === undefined || (tls.fingerprint === undefined && tls.ca === undefined)) return undefined;
  const ca = tls.ca === undefined ? undefined : await readCaFile(tls.ca);
  return tlsConnector({
    knownHostsFile: join(settings.stateDir, 'known_hosts'),
    ...(tls.fingerprint === undefined ? {} : { pin: tls.fingerprint }),
    ...(ca === undefined ? {} : { ca }),
  });
}
