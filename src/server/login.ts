/**
 * AUTH: a password (one bcrypt comparison whether or not the user exists) or a device
 * token, behind the failed-login limiter (src/security). Every refusal is the same AUTH_FAILED.
 */
import { FosError } from '../errors.js';
import type { RequestArgs } from '../protocol/messages.js';
import { authenticate, hashToken, verifyToken } from '../store/accounts.js';
import type { ServerServices } from './session-types.js';

/** Who a connection is. */
export interface LoggedIn {
  readonly user: string;
  /** The device token's id for a token login. */
  readonly tokenId: string | null;
}

/**
 * Checks credentials from `ip`.
 * @throws FosError `FOS_ERR_AUTH_FAILED`, or `FOS_ERR_AUTH_RATE_LIMITED` with `retryMs`.
 */
export async function login(services: ServerServices, args: RequestArgs<'AUTH'>, ip: string): Promise<LoggedIn> {
  const { store, limiter, clock, metrics, settings } = services;
  // Token logins from one address share one counter: a token names no user before it is checked.
  const claimed = 'user' in args ? args.user : TOKEN_LOGIN_KEY;
  try {
    await limiter.check(ip, claimed);
  } catch (err) {
    metrics?.failedLogins.inc();
    throw err;
  }
  try {
    let loggedIn: LoggedIn;
    if ('token' in args) {
      const user = await verifyToken(store, args.token, clock.now());
      const record = await store.findToken(hashToken(args.token));
      loggedIn = { user, tokenId: record?.id ?? null };
    } else {
      const account = await authenticate(store, args.user, args.password, { cost: settings.bcryptCost });
      loggedIn = { user: account.name, tokenId: null };
    }
    await limiter.succeed(ip, claimed);
    return loggedIn;
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_AUTH_FAILED') {
      metrics?.failedLogins.inc();
      await limiter.fail(ip, claimed);
    }
    throw err;
  }
}

/** The limiter's user key for token logins. */
const TOKEN_LOGIN_KEY = '\u0000token';
