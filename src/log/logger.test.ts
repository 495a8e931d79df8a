import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { REDACTED, createLogger, parseLogFormat, parseLogLevel } from './logger.js';
import type { LogDestination, LogFormat } from './logger.js';

interface Capture {
  readonly stream: LogDestination;
  text(): string;
  lines(): Record<string, unknown>[];
}

function capture(isTTY = false): Capture {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  Object.defineProperty(stream, 'isTTY', { value: isTTY });
  return {
    stream,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function logSecrets(format: LogFormat): Capture {
  const out = capture();
  const log = createLogger({ format, destination: out.stream, bindings: { component: 'test', token: 'bound-token-1' } });
  log.info(
    {
      user: { name: 'alice', password: 'pw-nested-2', token: 'tok-nested-3' },
      password: 'pw-top-4',
      passwordHash: '$2b$12$hash-5',
      tokenHash: 'token-hash-6',
      headers: { authorization: 'Basic auth-7' },
    },
    'login attempt',
  );
  log.child({ conn: 1, secret: 'child-secret-8' }).warn({ newPassword: 'pw-new-9' }, 'password change');
  return out;
}

const SECRETS = [
  'bound-token-1',
  'pw-nested-2',
  'tok-nested-3',
  'pw-top-4',
  'hash-5',
  'token-hash-6',
  'auth-7',
  'child-secret-8',
  'pw-new-9',
];

describe('createLogger', () => {
  it('writes pino JSON lines with bindings, level and message', () => {
    const out = capture();
    const log = createLogger({ format: 'json', destination: out.stream, bindings: { component: 'server' } });
    log.info({ bytes: 12, ms: 3 }, 'upload done');
    log.debug('not written at info');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'upload done', component: 'server', bytes: 12, ms: 3 });
    expect(typeof lines[0]?.['time']).toBe('number');
  });

  it('writes ECS lines with @timestamp, log.level, message and ecs.version', () => {
    const out = capture();
    const log = createLogger({ format: 'ecs', destination: out.stream, bindings: { component: 'agent' } });
    log.warn({ path: 'a.txt' }, 'retrying');
    log.error({ err: new FosError('FOS_ERR_NET_CLOSED', 'connection lost') }, 'transfer failed');
    const [warn, error] = out.lines();
    expect(warn).toBeDefined();
    expect(Number.isNaN(Date.parse(String(warn?.['@timestamp'])))).toBe(false);
    expect(warn?.['log.level']).toBe('warn');
    expect(warn?.['message']).toBe('retrying');
    expect(warn?.['ecs.version']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(warn).toMatchObject({ component: 'agent', path: 'a.txt' });
    expect(error?.['log.level']).toBe('error');
    expect(error?.['error']).toMatchObject({ type: 'FosError', message: 'connection lost' });
  });

  it.each(['json', 'ecs', 'pretty'] as const)('redacts passwords, hashes and tokens in %s output', (format) => {
    const out = logSecrets(format);
    const text = out.text();
    expect(text).toContain('login attempt');
    expect(text).toContain('alice');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).toContain(REDACTED);
  });

  it('redacts at the documented paths', () => {
    const [first, second] = logSecrets('json').lines();
    expect(first).toMatchObject({
      token: REDACTED,
      password: REDACTED,
      passwordHash: REDACTED,
      tokenHash: REDACTED,
      user: { name: 'alice', password: REDACTED, token: REDACTED },
      headers: { authorization: REDACTED },
    });
    expect(second).toMatchObject({ secret: REDACTED, newPassword: REDACTED, conn: 1 });
  });

  it('serializes err with type, message and stack in JSON', () => {
    const out = capture();
    createLogger({ format: 'json', destination: out.stream }).error({ err: new Error('boom') }, 'failed');
    const err = out.lines()[0]?.['err'] as Record<string, unknown> | undefined;
    expect(err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(String(err?.['stack'])).toContain('boom');
  });

  it('writes readable lines in pretty format, synchronously', () => {
    const out = capture();
    const log = createLogger({ format: 'pretty', destination: out.stream });
    log.info({ path: 'notes/a.txt' }, 'upload done');
    const text = out.text();
    expect(text).toMatch(/INFO.*upload done/);
    expect(text).toContain('path: "notes/a.txt"');
    expect(() => JSON.parse(text)).toThrow();
    // not a terminal: no colour escapes
    expect(text).not.toContain('\u001b[');
  });

  it('defaults to pretty with colour on a terminal and to JSON elsewhere', () => {
    const tty = capture(true);
    createLogger({ destination: tty.stream }).info('hello');
    expect(tty.text()).toContain('\u001b[');
    expect(tty.text()).toContain('hello');
    const pipe = capture(false);
    createLogger({ destination: pipe.stream }).info('hello');
    expect(pipe.lines()[0]).toMatchObject({ msg: 'hello', level: 30 });
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ format: 'json', level: 'debug', destination: out.stream });
    log.debug('per frame');
    log.trace('not written');
    expect(out.lines().map((line) => line['msg'])).toEqual(['per frame']);
  });
});

describe('parseLogFormat / parseLogLevel', () => {
  it('accepts known values and refuses others with FOS_ERR_CLI_USAGE', () => {
    expect(parseLogFormat('ecs')).toBe('ecs');
    expect(parseLogLevel('warn')).toBe('warn');
    expect(() => parseLogFormat('xml')).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
    expect(() => parseLogLevel('loud')).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
  });
});
