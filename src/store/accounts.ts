/**
 * Accounts: user names, the password policy, bcrypt hashing, login, and device tokens.
 * Passwords are only ever stored as bcrypt hashes, tokens only as their SHA-256
 * (DESIGN.md "Server storage" and "Security").
 */
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { FosError } from '../errors.js';
import type { Account, TokenInfo } from '../protocol/types.js';
import type { Store } from './types.js';

/** bcrypt reads at most this many bytes of a password and silently ignores the rest. */
export const BCRYPT_MAX_BYTES = 72;
/** The bcrypt cost fos uses unless configured otherwise. */
export const DEFAULT_BCRYPT_COST = 12;
/** Longest user name, in characters. */
export const MAX_USER_NAME_LENGTH = 64;
/** Longest device name, in characters. */
export const MAX_DEVICE_NAME_LENGTH = 128;
/** Prefix of every device token, so a leaked one is recognisable in logs and scanners. */
export const TOKEN_PREFIX = 'fos_';

const encoder = new TextEncoder();
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const USER_NAME = /^[A-Za-z0-9._-]+$/u;
const TOKEN_SHAPE = /^fos_[A-Za-z0-9_-]{43}$/u;
const FAILED_LOGIN = 'invalid username or password';
const FAILED_TOKEN = 'invalid or revoked device token';

/** What a password must satisfy to be accepted for a new or changed account. */
export interface PasswordPolicy {
  /** Fewest characters (Unicode code points). */
  readonly minLength: number;
}

/** The default policy: at least 8 characters. */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({ minLength: 8 });

function weak(message: string): never {
  throw new FosError('FOS_ERR_AUTH_WEAK_PASSWORD', message);
}

/** The limits every password must meet to be hashable without loss, whatever the policy. */
function checkHashable(password: string): void {
  if (encoder.encode(password).length > BCRYPT_MAX_BYTES) {
    weak(
      `password is longer than ${BCRYPT_MAX_BYTES} bytes (UTF-8); bcrypt would ignore the rest, so use a shorter one`,
    );
  }
  if (CONTROL.test(password)) {
    weak('password contains a control character (such as a line break), which a login line cannot carry');
  }
}

/**
 * Checks a new password against the policy. Besides the minimum length, a password must fit
 * bcrypt's 72-byte input (UTF-8): bcrypt silently ignores everything after byte 72, so a
 * longer password is refused rather than weakened. Control characters are refused because
 * the login line (and `id_passwd.txt`) cannot carry them.
 * @throws FosError `FOS_ERR_AUTH_WEAK_PASSWORD` with a message that says what to change.
 */
export function checkPasswordPolicy(password: string, policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY): void {
  const length = [...password].length;
  if (length < policy.minLength) {
    weak(`password is too short: ${length} characters, at least ${policy.minLength} required`);
  }
  checkHashable(password);
}

function checkCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `bcrypt cost must be an integer from 4 to 31, not ${String(cost)}`);
  }
}

/**
 * The bcrypt hash of a password. Passwords over 72 UTF-8 bytes are refused, never truncated.
 * @throws FosError `FOS_ERR_AUTH_WEAK_PASSWORD` for a password bcrypt cannot hash whole,
 * `FOS_ERR_CONFIG_INVALID` for a cost outside 4..31.
 */
export async function hashPassword(password: string, cost: number = DEFAULT_BCRYPT_COST): Promise<string> {
  checkCost(cost);
  checkHashable(password);
  return bcrypt.hash(password, cost);
}

/**
 * True when `password` matches the bcrypt `hash`. Always spends one bcrypt comparison; a
 * password over 72 UTF-8 bytes never matches (its tail would otherwise be ignored), and a
 * malformed hash matches nothing.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const matches = await bcrypt.compare(password, hash);
  return matches && encoder.encode(password).length <= BCRYPT_MAX_BYTES;
}

// A fixed hash at the default cost, compared against for unknown users so that they cost
// the same bcrypt work as a wrong password. Its password is random and was thrown away.
const DUMMY_HASH_COST_12 = '$2b$12$csezrhfP8UqEsHuJMS0X4eMuDz9mX.g6avNuCS3ZZtQH6mtYVFzz6';
const dummyHashes = new Map<number, string>([[DEFAULT_BCRYPT_COST, DUMMY_HASH_COST_12]]);

/** The dummy hash for a cost: fixed for the default cost, made once for any other. */
export function dummyHash(cost: number = DEFAULT_BCRYPT_COST): string {
  checkCost(cost);
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    hash = bcrypt.hashSync(randomBytes(16).toString('base64'), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}

/** Options of `authenticate`. */
export interface AuthenticateOptions {
  /** The bcrypt cost of the server's hashes; the dummy hash uses the same. 12 by default. */
  readonly cost?: number;
  /** The password check; `verifyPassword` by default (tests count calls through it). */
  readonly compare?: (password: string, hash: string) => Promise<boolean>;
}

/**
 * Checks a user name and password. Exactly one bcrypt comparison runs whether or not the
 * user exists (unknown and malformed names are compared against a dummy hash of the same
 * cost), and every failure is the same error, so neither the answer nor its timing tells
 * a wrong user from a wrong password.
 * @throws FosError `FOS_ERR_AUTH_FAILED` "invalid username or password"; store errors as is.
 */
export async function authenticate(
  store: Store,
  user: string,
  password: string,
  options: AuthenticateOptions = {},
): Promise<Account> {
  const compare = options.compare ?? verifyPassword;
  const record = isUserName(user) ? await store.getUser(user) : null;
  const matches = await compare(password, record?.passwordHash ?? dummyHash(options.cost));
  if (record === null || !matches) throw new FosError('FOS_ERR_AUTH_FAILED', FAILED_LOGIN);
  return { name: record.name, createdAt: record.createdAt, quotaBytes: record.quotaBytes, quotaFiles: record.quotaFiles };
}

function userNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.length > MAX_USER_NAME_LENGTH) return `it is longer than ${MAX_USER_NAME_LENGTH} characters`;
  if (name.startsWith('.')) return "it starts with '.'";
  if (!USER_NAME.test(name)) return 'only letters A-Z a-z, digits and . _ - are allowed (no spaces)';
  return undefined;
}

/** True for a legal user name (see `parseUserName`). */
export function isUserName(name: string): boolean {
  return userNameProblem(name) === undefined;
}

/**
 * Checks a user name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, not starting with '.'.
 * Names never contain spaces or ':', which the seed's login line and fos's legacy-mode
 * detection rely on, and are safe as a folder name under `uploads/`.
 * @throws FosError `FOS_ERR_CLI_USAGE` saying what is wrong.
 */
export function parseUserName(name: string): string {
  const problem = userNameProblem(name);
  if (problem !== undefined) {
    const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
    throw new FosError('FOS_ERR_CLI_USAGE', `bad user name ${shown}: ${problem}`);
  }
  return name;
}

/**
 * Checks a device name (as shown by `fos token list`): 1 to 128 characters, no control
 * characters, not only spaces.
 * @throws FosError `FOS_ERR_CLI_USAGE` saying what is wrong.
 */
export function parseDeviceName(device: string): string {
  if (device.trim() === '') throw new FosError('FOS_ERR_CLI_USAGE', 'bad device name: it is empty');
  if (device.length > MAX_DEVICE_NAME_LENGTH) {
    throw new FosError('FOS_ERR_CLI_USAGE', `bad device name: longer than ${MAX_DEVICE_NAME_LENGTH} characters`);
  }
  if (CONTROL.test(device)) throw new FosError('FOS_ERR_CLI_USAGE', 'bad device name: it contains control characters');
  return device;
}

/** Lower-case hex SHA-256 of a token: the only form in which a token is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A freshly issued token: the secret (shown once) and its listing. */
export interface IssuedToken {
  readonly token: string;
  readonly info: TokenInfo;
}

/**
 * Issues a device token for `user`: `fos_` and 32 random bytes in base64url. Only its
 * SHA-256 is stored; the secret is returned once and cannot be recovered.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a bad device name, `FOS_ERR_STORE_NO_USER` for an
 * unknown user, other store errors as is.
 */
export async function issueToken(
  store: Store,
  user: string,
  device: string,
  now: number,
  random: (bytes: number) => Buffer = randomBytes,
): Promise<IssuedToken> {
  const info: TokenInfo = {
    id: random(8).toString('hex'),
    user,
    device: parseDeviceName(device),
    createdAt: now,
    lastUsedAt: null,
  };
  const token = `${TOKEN_PREFIX}${random(32).toString('base64url')}`;
  await store.createToken({ ...info, tokenHash: hashToken(token) });
  return { token, info };
}

/**
 * Checks a device token and records its use (best effort); returns the user it belongs to.
 * @throws FosError `FOS_ERR_AUTH_FAILED` for a malformed, unknown or revoked token; store
 * errors of the lookup as is.
 */
export async function verifyToken(store: Store, token: string, now: number): Promise<string> {
  if (!TOKEN_SHAPE.test(token)) throw new FosError('FOS_ERR_AUTH_FAILED', FAILED_TOKEN);
  const record = await store.findToken(hashToken(token));
  if (record === null) throw new FosError('FOS_ERR_AUTH_FAILED', FAILED_TOKEN);
  try {
    await store.touchToken(record.id, now);
  } catch {
    // The last-used time is only shown in `fos token list`: a store that cannot record it
    // (a full disk, issue 9) must not lock every device out, reads included.
  }
  return record.user;
}

/** One account read from `id_passwd.txt`. */
export interface IdPasswdAccount {
  readonly user: string;
  readonly password: string;
}

/** A line of `id_passwd.txt` that was not imported, and why (never the line's content). */
export interface IdPasswdError {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
}

/**
 * Parses the seed's `id_passwd.txt`: one `user:password` per line, split at the first
 * colon (a password may contain ':'). Each line is trimmed of surrounding whitespace, as
 * the seed read it; blank lines and lines starting with '#' are skipped; a leading BOM and
 * CRLF line ends are accepted. Bad lines (no colon, bad user name, empty password, a user
 * named twice) are reported by line number and skipped. Pure: the password policy is the
 * caller's to apply (`checkPasswordPolicy`), and reasons never quote a password.
 */
export function parseIdPasswdFile(text: string): { accounts: IdPasswdAccount[]; errors: IdPasswdError[] } {
  const accounts: IdPasswdAccount[] = [];
  const errors: IdPasswdError[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.replace(/^\ufeff/u, '').split(/\r\n|\n|\r/u);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    if (colon < 0) {
      errors.push({ line, reason: "no ':' between user name and password" });
      return;
    }
    const user = trimmed.slice(0, colon);
    const password = trimmed.slice(colon + 1);
    const problem = userNameProblem(user);
    if (problem !== undefined) {
      errors.push({ line, reason: `bad user name: ${problem}` });
      return;
    }
    if (password === '') {
      errors.push({ line, reason: `empty password for ${user}` });
      return;
    }
    const first = firstLine.get(user);
    if (first !== undefined) {
      errors.push({ line, reason: `${user} is already defined on line ${first}` });
      return;
    }
    firstLine.set(user, line);
    accounts.push({ user, password });
  });
  return { accounts, errors };
}
