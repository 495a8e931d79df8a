/**
 * The client's known_hosts file: which certificate fingerprint each server presented when
 * it was first trusted, like SSH's `~/.ssh/known_hosts`. One line per server,
 * `host:port SHA256:<base64>` (`[v6-address]:port` for IPv6), `#` starts a comment.
 * The file is private to its owner (mode 0600) and rewritten atomically.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { FosError, errnoCode } from '../errors.js';
import { parseFingerprint } from './fingerprint.js';
import { ensurePrivateDir, writePrivateFileAtomic } from './private-file.js';

/** The file name, next to the client configuration. */
export const KNOWN_HOSTS_FILE = 'known_hosts';

const HEADER = '# fos known hosts: one "host:port SHA256:<base64>" per line (see docs/security.md)\n';

/**
 * The default known_hosts path, beside the client's config file:
 * `$XDG_CONFIG_HOME/fos/known_hosts`, else `~/.config/fos/known_hosts`.
 */
export function defaultKnownHostsFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'fos', KNOWN_HOSTS_FILE);
}

/** The known_hosts file beside a given client config file. */
export function knownHostsBeside(configFile: string): string {
  return join(dirname(configFile), KNOWN_HOSTS_FILE);
}

/** The key a server is filed under: `host:port`, IPv6 addresses in brackets, names lower-cased. */
export function hostKey(host: string, port: number): string {
  const name = host.toLowerCase();
  return isIPv6(name) ? `[${name}]:${port}` : `${name}:${port}`;
}

/**
 * Parses known_hosts text into `hostKey → fingerprint`.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` naming the first malformed line.
 */
export function parseKnownHosts(text: string, file = KNOWN_HOSTS_FILE): Map<string, string> {
  const hosts = new Map<string, string>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const key = fields[0];
    const fingerprint = fields[1];
    if (fields.length !== 2 || key === undefined || fingerprint === undefined || !/^(\[[^\]\s]+\]|[^\s:]+):\d{1,5}$/.test(key)) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `${file} line ${index + 1} is not "host:port SHA256:<base64>"`);
    }
    try {
      hosts.set(key.toLowerCase(), parseFingerprint(fingerprint));
    } catch (err) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `${file} line ${index + 1} holds no valid fingerprint`, { cause: err });
    }
  }
  return hosts;
}

/** known_hosts text for `hosts`, sorted so that the file diffs well. */
export function formatKnownHosts(hosts: ReadonlyMap<string, string>): string {
  const lines = [...hosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, fp]) => `${key} ${fp}\n`);
  return HEADER + lines.join('');
}

/**
 * Reads a known_hosts file; a missing file is an empty one.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` when it cannot be read or parsed.
 */
export async function readKnownHosts(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return new Map();
    throw new FosError('FOS_ERR_CONFIG_INVALID', `cannot read ${file}`, { cause: err });
  }
  return parseKnownHosts(text, file);
}

/**
 * The fingerprint recorded for `host:port`, or undefined when the server is not known.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` when the file cannot be read or parsed.
 */
export async function lookupHost(file: string, host: string, port: number): Promise<string | undefined> {
  return (await readKnownHosts(file)).get(hostKey(host, port));
}

const writes = new Map<string, Promise<unknown>>();

/**
 * Records (or replaces) the fingerprint of `host:port`. Writes to one file from this
 * process are serialised, so that concurrent connections never drop each other's entries.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` when the existing file is malformed,
 * `FOS_ERR_STORE_WRITE` when it cannot be written.
 */
export async function rememberHost(file: string, host: string, port: number, fingerprint: string): Promise<void> {
  const canonical = parseFingerprint(fingerprint);
  const previous = writes.get(file) ?? Promise.resolve();
  const next = previous
    // The earlier write's failure belongs to its own caller; this write starts afresh.
    .catch(() => undefined)
    .then(async () => {
      const hosts = await readKnownHosts(file);
      const key = hostKey(host, port);
      if (hosts.get(key) === canonical) return;
      hosts.set(key, canonical);
      await ensurePrivateDir(dirname(file));
      await writePrivateFileAtomic(file, formatKnownHosts(hosts));
    });
  writes.set(file, next);
  try {
    await next;
  } finally {
    if (writes.get(file) === next) writes.delete(file);
  }
}
