import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import type { FosErrorCode } from '../errors.js';
import {
  BCRYPT_MAX_BYTES,
  authenticate,
  checkPasswordPolicy,
  dummyHash,
  hashPassword,
  hashToken,
  issueToken,
  parseDeviceName,
  parseIdPasswdFile,
  parseUserName,
  verifyPassword,
  verifyToken,
} from './accounts.js';
import { openSqliteStore } from './sqlite.js';
import type { SqliteStore } from './sqlite.js';

const COST = 4;

function errorOf(fn: () => unknown): FosError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FosError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

async function rejection(promise: Promise<unknown>): Promise<FosError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FosError) return err;
    throw err;
  }
  throw new Error('resolved');
}

describe('password policy', () => {
  it('accepts a password of the minimum length, counted in characters', () => {
    checkPasswordPolicy('12345678');
    checkPasswordPolicy('\u{1f600}'.repeat(8));
    checkPasswordPolicy('abc', { minLength: 3 });
  });

  it('refuses a short password and says how long it must be', () => {
    const err = errorOf(() => checkPasswordPolicy('1234567'));
    expect(err.code).toBe('FOS_ERR_AUTH_WEAK_PASSWORD');
    expect(err.message).toMatch(/at least 8/u);
  });

  it('refuses more than 72 UTF-8 bytes, even when the character count is small', () => {
    checkPasswordPolicy('a'.repeat(BCRYPT_MAX_BYTES));
    expect(errorOf(() => checkPasswordPolicy('a'.repeat(73))).message).toMatch(/longer than 72 bytes/u);
    // 19 emoji: 19 characters, 76 bytes.
    expect(errorOf(() => checkPasswordPolicy('\u{1f600}'.repeat(19))).code).toBe('FOS_ERR_AUTH_WEAK_PASSWORD');
  });

  it('refuses control characters', () => {
    expect(errorOf(() => checkPasswordPolicy('password\n123')).message).toMatch(/control character/u);
    expect(errorOf(() => checkPasswordPolicy('pass\u0000word')).code).toBe('FOS_ERR_AUTH_WEAK_PASSWORD');
  });
});

describe('hashPassword and verifyPassword', () => {
  it('round-trips and rejects a wrong password', async () => {
    const hash = await hashPassword('correct horse', COST);
    expect(hash).toMatch(/^\$2b\$04\$/u);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
  });

  it('refuses to hash a password bcrypt would truncate', async () => {
    expect((await rejection(hashPassword('x'.repeat(73), COST))).code).toBe('FOS_ERR_AUTH_WEAK_PASSWORD');
  });

  it('never matches a password that only shares the first 72 bytes', async () => {
    const base = 'y'.repeat(72);
    const hash = await bcrypt.hash(base, COST);
    expect(await bcrypt.compare(`${base}extra`, hash)).toBe(true);
    expect(await verifyPassword(`${base}extra`, hash)).toBe(false);
    expect(await verifyPassword(base, hash)).toBe(true);
  });

  it('a malformed hash matches nothing', async () => {
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });

  it('refuses a cost outside 4..31', async () => {
    expect((await rejection(hashPassword('password', 3))).code).toBe('FOS_ERR_CONFIG_INVALID');
  });

  it('the dummy hash has the requested cost', () => {
    expect(bcrypt.getRounds(dummyHash())).toBe(12);
    expect(bcrypt.getRounds(dummyHash(COST))).toBe(COST);
    expect(dummyHash(COST)).toBe(dummyHash(COST));
  });
});

describe('user and device names', () => {
  it.each(['alice', 'a', 'Bob_2', 'x.y-z', 'a.', '0', 'n'.repeat(64)])('accepts %j', (name) => {
    expect(parseUserName(name)).toBe(name);
  });

  it.each([
    ['', /empty/u],
    ['.alice', /starts with '\.'/u],
    ['al ice', /no spaces/u],
    ['alice:x', /only letters/u],
    ['al/ice', /only letters/u],
    ['..', /starts with/u],
    ['\u00e9', /only letters/u],
    ['a\u0000', /only letters/u],
    ['n'.repeat(65), /longer than 64/u],
  ])('refuses %j', (name, reason) => {
    const err = errorOf(() => parseUserName(name));
    expect(err.code).toBe('FOS_ERR_CLI_USAGE');
    expect(err.message).toMatch(reason);
  });

  it('device names: not empty, bounded, no control characters', () => {
    expect(parseDeviceName('laptop (work)')).toBe('laptop (work)');
    expect(errorOf(() => parseDeviceName('  ')).code).toBe('FOS_ERR_CLI_USAGE');
    expect(errorOf(() => parseDeviceName('x'.repeat(129))).code).toBe('FOS_ERR_CLI_USAGE');
    expect(errorOf(() => parseDeviceName('a\nb')).code).toBe('FOS_ERR_CLI_USAGE');
  });
});

describe('with a store', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fos-accounts-'));
    store = await openSqliteStore(dir);
    await store.createUser('alice', await hashPassword('alice-password', COST), 1);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('authenticate', () => {
    function countingCompare(): { calls: string[]; compare: (pw: string, hash: string) => Promise<boolean> } {
      const calls: string[] = [];
      return {
        calls,
        compare: async (pw, hash) => {
          calls.push(hash);
          return verifyPassword(pw, hash);
        },
      };
    }

    it('returns the account for the right password', async () => {
      expect(await authenticate(store, 'alice', 'alice-password', { cost: COST })).toEqual({
        name: 'alice',
        createdAt: 1,
        quotaBytes: null,
        quotaFiles: null,
      });
    });

    it('a wrong password and an unknown user each cost one bcrypt compare and fail the same way', async () => {
      const outcomes: { code: FosErrorCode; message: string; hashes: string[] }[] = [];
      for (const [user, password] of [
        ['alice', 'wrong-password'],
        ['nobody', 'alice-password'],
        ['../etc', 'x'],
        ['', ''],
      ] as const) {
        const { calls, compare } = countingCompare();
        const err = await rejection(authenticate(store, user, password, { cost: COST, compare }));
        outcomes.push({ code: err.code, message: err.message, hashes: calls });
      }
      for (const outcome of outcomes) {
        expect(outcome.code).toBe('FOS_ERR_AUTH_FAILED');
        expect(outcome.message).toBe('invalid username or password');
        expect(outcome.hashes).toHaveLength(1);
        expect(bcrypt.getRounds(outcome.hashes[0] ?? '')).toBe(COST);
      }
      expect(outcomes[0]?.hashes[0]).toBe((await store.getUser('alice'))?.passwordHash);
      expect(outcomes[1]?.hashes[0]).toBe(dummyHash(COST));
    });

    it('the right password for an unknown user still fails even if the compare says yes', async () => {
      const err = await rejection(authenticate(store, 'ghost', 'x', { compare: async () => true }));
      expect(err.code).toBe('FOS_ERR_AUTH_FAILED');
    });

    it('the default dummy hash has the default cost', async () => {
      const { calls, compare } = countingCompare();
      await rejection(authenticate(store, 'nobody', 'x', { compare }));
      expect(bcrypt.getRounds(calls[0] ?? '')).toBe(12);
    });
  });

  describe('device tokens', () => {
    it('issues fos_ + 32 random bytes, stores only the SHA-256, and verifies it', async () => {
      const { token, info } = await issueToken(store, 'alice', 'laptop', 100);
      expect(token).toMatch(/^fos_[A-Za-z0-9_-]{43}$/u);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
      expect(info).toEqual({ id: info.id, user: 'alice', device: 'laptop', createdAt: 100, lastUsedAt: null });
      const stored = await store.findToken(hashToken(token));
      expect(stored?.tokenHash).toMatch(/^[0-9a-f]{64}$/u);
      expect(stored?.tokenHash).not.toContain(token.slice(4));
      expect(await verifyToken(store, token, 200)).toBe('alice');
      expect((await store.listTokens('alice'))[0]?.lastUsedAt).toBe(200);
    });

    it('uses the injected randomness for the id and the secret', async () => {
      const random = (n: number): Buffer => Buffer.alloc(n, n === 8 ? 1 : 2);
      const { token, info } = await issueToken(store, 'alice', 'pc', 1, random);
      expect(info.id).toBe('0101010101010101');
      expect(token).toBe(`fos_${Buffer.alloc(32, 2).toString('base64url')}`);
    });

    it('two tokens differ', async () => {
      const a = await issueToken(store, 'alice', 'one', 1);
      const b = await issueToken(store, 'alice', 'two', 1);
      expect(a.token).not.toBe(b.token);
      expect(a.info.id).not.toBe(b.info.id);
    });

    it('malformed, unknown and revoked tokens fail with AUTH_FAILED', async () => {
      const { token, info } = await issueToken(store, 'alice', 'laptop', 1);
      const forged = `fos_${Buffer.alloc(32, 9).toString('base64url')}`;
      for (const bad of ['', 'fos_', token.slice(4), `${token}x`, forged, token.toUpperCase()]) {
        expect((await rejection(verifyToken(store, bad, 2))).code).toBe('FOS_ERR_AUTH_FAILED');
      }
      expect(await store.revokeToken('alice', info.id)).toBe(true);
      expect((await rejection(verifyToken(store, token, 3))).message).toBe('invalid or revoked device token');
    });

    it('a token for an unknown user is STORE_NO_USER; a bad device name is refused first', async () => {
      expect((await rejection(issueToken(store, 'nobody', 'pc', 1))).code).toBe('FOS_ERR_STORE_NO_USER');
      expect((await rejection(issueToken(store, 'alice', '', 1))).code).toBe('FOS_ERR_CLI_USAGE');
      expect(await store.listTokens('alice')).toEqual([]);
    });

    it('removing the user invalidates its tokens', async () => {
      const { token } = await issueToken(store, 'alice', 'laptop', 1);
      await store.removeUser('alice');
      expect((await rejection(verifyToken(store, token, 2))).code).toBe('FOS_ERR_AUTH_FAILED');
    });
  });
});

describe('parseIdPasswdFile', () => {
  it('reads user:password lines, splitting at the first colon', () => {
    const text = 'alice:secret\nbob:pa:ss:word\r\ncarol:: colon first\n';
    expect(parseIdPasswdFile(text)).toEqual({
      accounts: [
        { user: 'alice', password: 'secret' },
        { user: 'bob', password: 'pa:ss:word' },
        { user: 'carol', password: ': colon first' },
      ],
      errors: [],
    });
  });

  it('skips blank lines and comments, trims lines, accepts a BOM and CR line ends', () => {
    const text = '\ufeff# accounts\n\n   \n  alice:secret  \r  # indented comment\rbob:x';
    expect(parseIdPasswdFile(text).accounts).toEqual([
      { user: 'alice', password: 'secret' },
      { user: 'bob', password: 'x' },
    ]);
  });

  it('reports bad lines by number without quoting passwords', () => {
    const text = [
      'alice:ok', // 1
      'no colon here', // 2
      ':nouser', // 3
      'bad name:pw', // 4
      'dave:', // 5
      'alice:again-secret', // 6
      '.hidden:pw', // 7
      'eve:fine', // 8
    ].join('\n');
    const { accounts, errors } = parseIdPasswdFile(text);
    expect(accounts).toEqual([
      { user: 'alice', password: 'ok' },
      { user: 'eve', password: 'fine' },
    ]);
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(errors[0]?.reason).toMatch(/no ':'/u);
    expect(errors[1]?.reason).toMatch(/empty/u);
    expect(errors[3]?.reason).toMatch(/empty password/u);
    expect(errors[4]?.reason).toMatch(/line 1/u);
    for (const error of errors) expect(error.reason).not.toMatch(/again-secret|nouser/u);
  });

  it('an empty file has no accounts and no errors', () => {
    expect(parseIdPasswdFile('')).toEqual({ accounts: [], errors: [] });
  });
});
