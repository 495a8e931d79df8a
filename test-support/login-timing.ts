/**
 * Measures how long the server takes to refuse a wrong password for an existing user and
 * a login for a user that does not exist (issue 7: both must take the same time, so that
 * timing does not reveal which accounts exist). Prints the medians and their difference;
 * docs/security.md quotes the figure.
 *
 *   npm run build && node dist/test-support/login-timing.js --attempts 50 --cost 12
 */
import { performance } from 'node:perf_hooks';
import { GREETING } from '../src/protocol/constants.js';
import { startFuzzServer } from './fuzz-server.js';
import { HELLO_LINE, openSocket, readUntil, type PeerAddress } from './raw-peer.js';

const OPEN_LIMITS = ['--login-attempts-per-ip', '1000000000', '--login-fails-per-user-ip', '1000000000', '--login-fails-per-user', '1000000000'];

function option(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(`--${name}`);
  const parsed = index < 0 ? fallback : Number(argv[index + 1]);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`--${name} takes a positive whole number`);
  return parsed;
}

/** Milliseconds from sending AUTH to the server's answer. */
async function timeLogin(address: PeerAddress, user: string, password: string): Promise<number> {
  const socket = await openSocket(address);
  try {
    await readUntil(socket, (text) => text.startsWith(GREETING));
    socket.write(HELLO_LINE);
    await readUntil(socket, (text) => text.includes('\n'));
    const answer = readUntil(socket, (text) => text.includes('\n'));
    const started = performance.now();
    socket.write(`AUTH ${JSON.stringify({ user, password })}\n`);
    const text = await answer;
    const ms = performance.now() - started;
    if (!text.startsWith('ERR {"code":"AUTH_FAILED"')) throw new Error(`unexpected answer: ${text.slice(0, 200)}`);
    return ms;
  } finally {
    socket.destroy();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const attempts = option(argv, 'attempts', 50);
  const cost = option(argv, 'cost', 12);
  const server = await startFuzzServer({ users: { alice: 'the real password of alice' }, bcryptCost: cost, args: OPEN_LIMITS });
  try {
    const address = { host: server.host, port: server.port };
    // One of each first, so that neither side pays for warming up.
    await timeLogin(address, 'alice', 'warm-up');
    await timeLogin(address, 'nobody', 'warm-up');
    const wrongPassword: number[] = [];
    const wrongUser: number[] = [];
    for (let i = 0; i < attempts; i += 1) {
      // Interleaved in pairs, alternating which goes first, so that drift in machine load
      // and any advantage of going second fall on both alike.
      if (i % 2 === 0) {
        wrongPassword.push(await timeLogin(address, 'alice', `wrong-${i}`));
        wrongUser.push(await timeLogin(address, `nobody-${i}`, `wrong-${i}`));
      } else {
        wrongUser.push(await timeLogin(address, `nobody-${i}`, `wrong-${i}`));
        wrongPassword.push(await timeLogin(address, 'alice', `wrong-${i}`));
      }
    }
    const a = median(wrongPassword);
    const b = median(wrongUser);
    const pairDifferences = wrongUser.map((ms, i) => ms - (wrongPassword[i] ?? ms));
    const result = {
      attempts,
      bcryptCost: cost,
      medianWrongPasswordMs: Number(a.toFixed(2)),
      medianWrongUserMs: Number(b.toFixed(2)),
      differenceMs: Number((b - a).toFixed(2)),
      differencePercent: Number(((100 * (b - a)) / a).toFixed(2)),
      medianPairDifferenceMs: Number(median(pairDifferences).toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await server.dispose();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`login-timing: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
