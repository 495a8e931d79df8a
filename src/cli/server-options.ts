/**
 * Options `fos server` and `fos user` share: where the data folder is, and the bcrypt cost.
 */
import { resolve } from 'node:path';
import { FosError } from '../errors.js';
import { DEFAULT_BCRYPT_COST } from '../store/accounts.js';

/** bcrypt's own bounds on the cost factor. */
const MIN_COST = 4;
const MAX_COST = 31;

/**
 * The data folder from `--data`, made absolute.
 * @throws FosError `FOS_ERR_CLI_USAGE` when none is given.
 */
export function requireDataDir(data: string | undefined): string {
  if (data === undefined || data === '') throw new FosError('FOS_ERR_CLI_USAGE', 'no data folder: pass --data DIR');
  return resolve(data);
}

/**
 * The bcrypt cost: `--cost`, else the `FOS_BCRYPT_COST` environment variable (tests set a
 * low one), else 12.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a cost outside 4..31.
 */
export function bcryptCostFrom(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  const text = flag ?? env['FOS_BCRYPT_COST'];
  if (text === undefined || text === '') return DEFAULT_BCRYPT_COST;
  const cost = Number(text);
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST) {
    throw new FosError('FOS_ERR_CLI_USAGE', `the bcrypt cost must be a whole number from ${MIN_COST} to ${MAX_COST}, not ${JSON.stringify(text)}`);
  }
  return cost;
}
