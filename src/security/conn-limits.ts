/**
 * Connection accounting: at most `maxTotal` connections at once, and at most `maxPerIp`
 * from one address (an IPv6 /64 counts as one, see ip-key.ts). The listener asks before it
 * serves a socket and gives the slot back when the socket closes. Pure: no sockets.
 */
import { FosError } from '../errors.js';
import { ipKey } from './ip-key.js';

/** Defaults: enough for a household or a team, small enough that one peer cannot starve the rest. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 64;

/** Options of {@link ConnectionLimits}. */
export interface ConnectionLimitSettings {
  readonly maxTotal?: number;
  readonly maxPerIp?: number;
}

/** Why a connection was refused, or null when it got a slot. */
export type AcquireRefusal = 'total' | 'per-ip';

/** Counts open connections in total and per address. */
export class ConnectionLimits {
  readonly maxTotal: number;
  readonly maxPerIp: number;
  #total = 0;
  readonly #perIp = new Map<string, number>();

  /** @throws FosError `FOS_ERR_CONFIG_INVALID` when a limit is not a positive integer. */
  constructor(settings: ConnectionLimitSettings = {}) {
    this.maxTotal = positive(settings.maxTotal ?? DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    this.maxPerIp = positive(settings.maxPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP, 'maxConnectionsPerIp');
  }

  /** Takes a slot for a connection from `address`; false (and nothing taken) when a limit is reached. */
  tryAcquire(address: string | undefined): boolean {
    return this.acquire(address) === null;
  }

  /** Like {@link tryAcquire}, saying which limit refused. */
  acquire(address: string | undefined): AcquireRefusal | null {
    if (this.#total >= this.maxTotal) return 'total';
    const key = ipKey(address);
    const held = this.#perIp.get(key) ?? 0;
    if (held >= this.maxPerIp) return 'per-ip';
    this.#total += 1;
    this.#perIp.set(key, held + 1);
    return null;
  }

  /** Gives back a slot taken by a successful acquire for `address`. Releasing more than was taken is ignored. */
  release(address: string | undefined): void {
    const key = ipKey(address);
    const held = this.#perIp.get(key);
    if (held === undefined) return;
    this.#total -= 1;
    if (held <= 1) this.#perIp.delete(key);
    else this.#perIp.set(key, held - 1);
  }

  /** Open connections in total. */
  get total(): number {
    return this.#total;
  }

  /** Open connections from `address`'s key. */
  countFor(address: string | undefined): number {
    return this.#perIp.get(ipKey(address)) ?? 0;
  }

  /** Distinct addresses holding connections (stays bounded: entries go when their count does). */
  get addresses(): number {
    return this.#perIp.size;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${name} must be a positive integer, not ${String(value)}`);
  }
  return value;
}
