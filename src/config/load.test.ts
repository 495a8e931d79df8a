import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { loadConfig, parseConfig } from './load.js';
import type { ConfigIssue } from './load.js';
import { parseHostPort } from './schema.js';

const HOME = '/home/alice';
const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../config.example.json');

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const minimalAgent = {
  server: 'localhost:12345',
  user: 'alice',
  tokenFile: 'token',
  device: 'laptop',
  stateDir: 'state',
  folders: [{ local: 'sync' }],
};

function parse(value: unknown): ReturnType<typeof parseConfig> {
  return parseConfig(value, { file: join(dir, 'fos.json'), homeDir: HOME });
}

function problems(value: unknown): string[] {
  try {
    parse(value);
  } catch (err) {
    expect(err).toBeInstanceOf(FosError);
    const e = err as FosError;
    expect(e.code).toBe('FOS_ERR_CONFIG_INVALID');
    const issues = e.details['issues'] as ConfigIssue[];
    for (const i of issues) expect(e.message).toContain(i.path === '' ? i.message : `${i.path}: ${i.message}`);
    return issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
  }
  throw new Error('expected the config to be refused');
}

describe('loadConfig', () => {
  it('loads config.example.json from the repository root', async () => {
    const config = await loadConfig(EXAMPLE, { homeDir: HOME });
    expect(config.agent?.folders.map((f) => f.local)).toEqual([`${HOME}/Documents`, `${HOME}/Pictures`]);
    expect(config.agent?.folders[0]?.id).toBe('documents');
    expect(config.agent?.folders[1]?.id).toMatch(/^Pictures-[0-9a-f]{8}$/u);
    expect(config.agent?.endpoint).toEqual({ host: 'files.example.net', port: 12345 });
    expect(config.server?.port).toBe(12345);
    expect(config.server?.tls).toEqual({ cert: '/etc/fos/cert.pem', key: '/etc/fos/key.pem' });
  });

  it('applies defaults, resolves paths against the file folder, and freezes the result', async () => {
    const file = join(dir, 'fos.json');
    await writeFile(file, JSON.stringify({ agent: minimalAgent }));
    const config = await loadConfig(file, { homeDir: HOME });
    expect(config.file).toBe(file);
    expect(config.agent).toMatchObject({
      tokenFile: join(dir, 'token'),
      stateDir: join(dir, 'state'),
      folders: [{ local: join(dir, 'sync'), remote: '' }],
      ignore: [],
      rescanIntervalSec: 300,
      debounceMs: 150,
      settleMs: 1000,
      concurrency: 4,
      maxDeleteShare: 0.5,
      minGuardDeletions: 1,
      maxDeleteFiles: 1000,
      maxDeleteBytes: 10 * 1024 ** 3,
      maxConflictCopies: 10,
      logLevel: 'info',
    });
    expect(config.server).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.agent?.folders[0])).toBe(true);
    const folder = config.agent?.folders[0];
    expect(folder).toBeDefined();
    expect(folder !== undefined && Reflect.set(folder, 'local', '/elsewhere')).toBe(false);
    expect(folder?.local).toBe(join(dir, 'sync'));
  });

  it('says FOS_ERR_CONFIG_MISSING for a missing file', async () => {
    await expect(loadConfig(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_MISSING' });
  });

  it('says FOS_ERR_CONFIG_INVALID for a file that is not JSON', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '{ "agent": ');
    await expect(loadConfig(file)).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_INVALID', message: expect.stringMatching(/not valid JSON/u) as string });
  });
});

describe('validation messages name the field and the problem', () => {
  it.each([
    [{ agent: { ...minimalAgent, folders: [{ remote: 'x' }] } }, 'agent.folders[0].local: required'],
    [{ agent: { ...minimalAgent, folders: [] } }, 'agent.folders: at least one folder pair'],
    [{ agent: { ...minimalAgent, rescanInterval: 5 } }, 'agent: unknown field "rescanInterval"'],
    [{ agent: { ...minimalAgent, maxDeleteShare: 2 } }, 'agent.maxDeleteShare: must be at most 1'],
    [{ agent: { ...minimalAgent, concurrency: 'four' } }, 'agent.concurrency: must be a number'],
    [{ agent: { ...minimalAgent, server: 'localhost' } }, 'agent.server: must be host:port'],
    [{ agent: { ...minimalAgent, server: 'localhost:99999' } }, 'agent.server: port must be at most 65535'],
    [{ agent: { ...minimalAgent, user: 'al ice' } }, 'agent.user: no spaces or colons, at most 64 characters'],
    [{ agent: { ...minimalAgent, device: 'my/laptop' } }, 'agent.device: no slashes, backslashes, parentheses or control characters'],
    [{ agent: { ...minimalAgent, folders: [{ local: 'a', remote: '/abs' }] } }, "agent.folders[0].remote: must be relative, '/'-separated, without '.' or '..' segments"],
    [{ agent: { ...minimalAgent, folders: [{ local: 'a', id: '../x' }] } }, "agent.folders[0].id: letters, digits, '.', '_' and '-', at most 64, not starting with '.'"],
    [{ agent: { ...minimalAgent, tls: { fingerprint: 'SHA256:abc' } } }, 'agent.tls.fingerprint: must be a SHA-256 fingerprint (SHA256:<base64> or 64 hex digits)'],
    [{ server: { port: 80 } }, 'server.data: required'],
    [{ server: { data: 'd', tls: { cert: 'c.pem' } } }, 'server.tls: cert and key go together'],
    [{ server: { data: 'd', limits: { maxConnections: 0 } } }, 'server.limits.maxConnections: must be at least 1'],
    [{}, 'needs an "agent" or a "server" section'],
    [[], 'must be an object'],
  ])('%j -> %s', (value, message) => {
    expect(problems(value)).toContain(message);
  });

  it('takes a pinned fingerprint as fos prints it or as hex, and keeps it as fos prints it', () => {
    const digest = Buffer.alloc(32, 0xab);
    const printed = `SHA256:${digest.toString('base64').replace(/=+$/u, '')}`;
    const hex = digest.toString('hex').toUpperCase().match(/../gu)?.join(':') ?? '';
    for (const fingerprint of [printed, hex, `sha256:${digest.toString('hex')}`]) {
      expect(parse({ agent: { ...minimalAgent, tls: { fingerprint } } }).agent?.tls).toEqual({ fingerprint: printed });
    }
  });

  it('lists every problem, not only the first', () => {
    const found = problems({ agent: { server: 'h:1', folders: [{}] } });
    expect(found).toEqual(
      expect.arrayContaining(['agent.user: required', 'agent.tokenFile: required', 'agent.device: required', 'agent.stateDir: required', 'agent.folders[0].local: required']),
    );
  });

  it('refuses overlapping pairs, duplicate ids, and state or token inside a synced folder', () => {
    expect(problems({ agent: { ...minimalAgent, folders: [{ local: 'a' }, { local: 'a/b' }] } })).toContain('agent.folders[1].local: overlaps folders[0].local');
    expect(problems({ agent: { ...minimalAgent, folders: [{ local: 'a', id: 'x' }, { local: 'b', id: 'x' }] } })).toContain('agent.folders[1].id: same id as folders[0]');
    expect(problems({ agent: { ...minimalAgent, stateDir: 'sync/.state', tokenFile: 'sync/t' } })).toEqual([
      'agent.stateDir: inside folders[0].local',
      'agent.tokenFile: inside folders[0].local',
    ]);
  });
});

describe('server section', () => {
  it('applies defaults and resolves the data folder', () => {
    const config = parse({ server: { data: 'data', tls: {} } });
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 12345,
      data: join(dir, 'data'),
      tls: {},
      trashRetentionDays: 30,
      graceMs: 10_000,
      limits: {
        maxConnections: 256,
        maxConnectionsPerIp: 32,
        authTimeoutMs: 10_000,
        idleTimeoutMs: 300_000,
        maxUploadBytes: null,
        uploadBytesPerSec: null,
        downloadBytesPerSec: null,
        loginAttemptsPerIp: 20,
        loginAttemptsPerUser: 10,
        loginWindowSec: 600,
      },
      logLevel: 'info',
    });
  });
});

describe('parseHostPort', () => {
  it('splits host names, IPv4 and bracketed IPv6', () => {
    expect(parseHostPort('files.example.net:12345')).toEqual({ host: 'files.example.net', port: 12345 });
    expect(parseHostPort('10.0.0.2:1')).toEqual({ host: '10.0.0.2', port: 1 });
    expect(parseHostPort('[::1]:12345')).toEqual({ host: '::1', port: 12345 });
    expect(parseHostPort('::1:12345')).toBeNull();
    expect(parseHostPort('host:70000')).toBeNull();
  });

  it('derives the same safe pair id for the same folder', () => {
    const a = parse({ agent: { ...minimalAgent, folders: [{ local: 'My Files!' }] } });
    const b = parse({ agent: { ...minimalAgent, folders: [{ local: 'My Files!' }] } });
    expect(a.agent?.folders[0]?.id).toMatch(/^My-Files-[0-9a-f]{8}$/u);
    expect(a.agent?.folders[0]?.id).toBe(b.agent?.folders[0]?.id);
  });
});
