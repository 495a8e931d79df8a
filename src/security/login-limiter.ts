/**
 * Failed-login limiting (DESIGN.md "Security"), the pattern rate-limiter-flexible
 * recommends for brute-force protection, with three counters:
 *
 * - consecutive failures of one user name from one address (reset by a success), which
 *   stops guessing one account's password;
 * - attempts from one address, whatever the user names, which stops spraying many names;
 * - failures of one user name from all addresses, which slows a distributed attack on one
 *   account (set it high: it lets an attacker lock that account out for everyone).
 *
 * The first two are reserved atomically when an attempt starts ({@link LoginLimiter.check}),
 * so that many attempts in parallel cannot all slip through before the first one fails;
 * a success gives the reservation back, so successful logins are never slowed.
 * Every user name is treated the same whether it exists or not: the limiter never tells
 * an attacker which accounts exist.
 */
import { createHash } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { FosError } from '../errors.js';
import { ipKey } from './ip-key.js';
import { blockedForMs, consume, createLimiter, forget, refund, type LimitSpec } from './rate-limiter.js';
import type { LimitBackend } from './types.js';

/** The login limits; every field has a default. */
export interface LoginLimitSettings {
  /** Consecutive failures for one user name from one address. */
  readonly perUserIp?: LimitSpec;
  /** Attempts from one address (failures only, once successes are refunded). */
  readonly perIp?: LimitSpec;
  /** Failures for one user name from all addresses. */
  readonly perUser?: LimitSpec;
}

/** Defaults: 10 wrong passwords for one account from one address, then an hour's pause; 100 attempts per address a day. */
export const DEFAULT_LOGIN_LIMITS = Object.freeze({
  perUserIp: Object.freeze({ points: 10, durationSec: 86_400, blockSec: 3_600 }),
  perIp: Object.freeze({ points: 100, durationSec: 86_400, blockSec: 86_400 }),
  perUser: Object.freeze({ points: 200, durationSec: 3_600, blockSec: 0 }),
}) satisfies Required<LoginLimitSettings>;

/** Counts login attempts and refuses those over a limit. */
export class LoginLimiter {
  readonly #perUserIp: RateLimiterAbstract;
  readonly #perIp: RateLimiterAbstract;
  readonly #perUser: RateLimiterAbstract;

  /** @throws FosError `FOS_ERR_CONFIG_INVALID` when a limit is out of range. */
  constructor(backend: LimitBackend = { kind: 'memory' }, settings: LoginLimitSettings = {}) {
    this.#perUserIp = createLimiter(backend, 'login-user-ip:', settings.perUserIp ?? DEFAULT_LOGIN_LIMITS.perUserIp);
    this.#perIp = createLimiter(backend, 'login-ip:', settings.perIp ?? DEFAULT_LOGIN_LIMITS.perIp);
    this.#perUser = createLimiter(backend, 'login-user:', settings.perUser ?? DEFAULT_LOGIN_LIMITS.perUser);
  }

  /**
   * Call before checking a password: refuses a blocked (address, user), otherwise reserves
   * the attempt. Follow it with {@link fail} or {@link succeed}.
   * @throws FosError `FOS_ERR_AUTH_RATE_LIMITED` with `details.retryMs` when blocked;
   * `FOS_ERR_PROTO_INTERNAL` when the counter store fails.
   */
  async check(ip: string | undefined, user: string): Promise<void> {
    const keys = this.#keys(ip, user);
    const userWait = await blockedForMs(this.#perUser, keys.user);
    if (userWait > 0) throw limited(userWait);
    // consume is atomic in both backends: of N parallel attempts, at most `points` pass.
    // Over the limit it starts the block (blockSec) once, not again on every refused try.
    const byUserIp = await consume(this.#perUserIp, keys.userIp);
    if (!byUserIp.allowed) throw limited(byUserIp.retryMs);
    const byIp = await consume(this.#perIp, keys.ip);
    if (!byIp.allowed) {
      // The address is blocked whatever the user; this try need not count for the user too.
      // (Refunding the per-address counter instead would race with parallel attempts and
      // could waste its budget; this one only matters while the address is blocked anyway.)
      await refund(this.#perUserIp, keys.userIp);
      throw limited(byIp.retryMs);
    }
  }

  /**
   * The attempt reserved by {@link check} failed: it stays counted, and the user's
   * all-address failure count grows.
   * @throws FosError `FOS_ERR_PROTO_INTERNAL` when the counter store fails.
   */
  async fail(ip: string | undefined, user: string): Promise<void> {
    // A refusal here only means the account's budget is spent; the next check reports it.
    await consume(this.#perUser, this.#keys(ip, user).user);
  }

  /**
   * The attempt reserved by {@link check} succeeded: it is given back, and the consecutive
   * failures of this user from this address are forgotten.
   * @throws FosError `FOS_ERR_PROTO_INTERNAL` when the counter store fails.
   */
  async succeed(ip: string | undefined, user: string): Promise<void> {
    const keys = this.#keys(ip, user);
    await Promise.all([forget(this.#perUserIp, keys.userIp), refund(this.#perIp, keys.ip)]);
  }

  #keys(ip: string | undefined, user: string): { ip: string; user: string; userIp: string } {
    const address = ipKey(ip);
    const name = userKey(user);
    return { ip: address, user: name, userIp: `${name}@${address}` };
  }
}

/**
 * The counter key for a user name: a digest, so that an attacker's names (any length, any
 * bytes) never become long or odd Redis keys; case and Unicode form do not make a new name.
 */
function userKey(user: string): string {
  return createHash('sha256').update(user.normalize('NFC').toLowerCase()).digest('base64url').slice(0, 22);
}

function limited(retryMs: number): FosError {
  const seconds = Math.ceil(retryMs / 1000);
  return new FosError('FOS_ERR_AUTH_RATE_LIMITED', `too many failed logins; retry in ${seconds} s`, {
    details: { retryMs },
  });
}
