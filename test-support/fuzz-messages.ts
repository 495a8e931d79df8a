/**
 * Hostile input for a running fos server: seeded generators of random and mutated FOS/2
 * and legacy messages, and a runner that plays them over many connections. Shared by the
 * short fuzz test in the suite (test/security-fuzz.test.ts) and the long run behind
 * `npm run fuzz` (test-support/fuzz.ts). The same seed gives the same messages.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { FRAME_MARKER, GREETING, MAX_FRAME_BYTES, MAX_REQUEST_LINE_BYTES, REPLY, REQUEST } from '../src/protocol/constants.js';
import { LEGACY_COMMANDS } from '../src/protocol/legacy.js';
import { openSocket, readUntil, type PeerAddress } from './raw-peer.js';

/** A seeded pseudo-random source (mulberry32): reproducible runs from one number. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 1) out[i] = this.int(256);
    return out;
  }
}

/** Paths an attacker tries: traversal, absolute, NUL, control bytes, look-alikes, over-long. */
const HOSTILE_PATHS: readonly string[] = [
  '..',
  '../etc/passwd',
  'a/../../b',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  'a\\..\\b',
  'a\u0000b',
  'a\nb',
  '\u001b[2J',
  '\uff0e\uff0e/secret',
  'a\u2215..\u2215b',
  '.\u200b.',
  '%2e%2e/x',
  'a/./b',
  'a//b',
  '',
  ' ',
  'x'.repeat(300),
  `${'d/'.repeat(2100)}f`,
  '.fos-tmp-1234',
  'CON',
  'dir/',
  '\ud800',
];

/** Ordinary names, so that valid requests reach the handlers. */
const NORMAL_PATHS: readonly string[] = ['a.txt', 'dir/b.bin', 'dir', 'x/y/z', 'EOF', 'name with spaces', 'ünïcødé.txt'];

const VERBS: readonly string[] = [...Object.values(REQUEST), 'CHUNK RECEIVED', 'EOF', 'BOGUS', 'hello', 'UPLOAD UPLOAD', ''];

/** Odd JSON values for any field. */
function oddValue(random: Random): unknown {
  return random.pick<unknown>([
    null,
    true,
    -1,
    0,
    1.5,
    2 ** 53,
    -(2 ** 63),
    1e308,
    'string',
    '',
    [],
    {},
    [1, [2, [3]]],
    { path: '..' },
    'x'.repeat(5000),
    '\u0000',
  ]);
}

function somePath(random: Random): string {
  return random.chance(0.5) ? random.pick(HOSTILE_PATHS) : random.pick(NORMAL_PATHS);
}

function sha(random: Random): string {
  return random.chance(0.8) ? createHash('sha256').update(random.bytes(8)).digest('hex') : String(oddValue(random));
}

/** Arguments shaped like a real request, with some fields wrong or missing. */
function plausibleArgs(random: Random): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const fields: Array<[string, () => unknown]> = [
    ['path', () => somePath(random)],
    ['from', () => somePath(random)],
    ['to', () => somePath(random)],
    ['size', () => random.pick([0, 1, 10, 4096, 2 ** 40, -5])],
    ['sha256', () => sha(random)],
    ['mtimeMs', () => random.pick([0, Date.UTC(2026, 0, 1), -1])],
    ['offset', () => random.pick([0, 1, 2 ** 40, -1])],
    ['bytes', () => random.pick([1, 1024, 10 ** 9])],
    ['baseRev', () => random.pick<unknown>([null, 0, 1, 99, 'x'])],
    ['since', () => random.pick([0, 1, 2 ** 50])],
    ['recursive', () => random.chance(0.5)],
    ['compress', () => random.chance(0.5)],
    ['device', () => random.pick(['laptop', '', 'x'.repeat(500)])],
    ['id', () => random.pick(['nope', ''])],
    ['version', () => random.pick([2, 1, 3, -1])],
    ['chunkBytes', () => random.pick([0, 4096, 2 ** 31])],
    ['windowBytes', () => random.pick([0, 4096, 2 ** 31])],
  ];
  for (const [name, make] of fields) {
    if (random.chance(0.3)) args[name] = random.chance(0.85) ? make() : oddValue(random);
  }
  return args;
}

function line(text: string): Buffer {
  return Buffer.from(`${text}\n`, 'utf8');
}

/** A data frame header with a chosen length, and at most `send` bytes of its payload. */
function frame(random: Random): Buffer {
  // Mostly sizes a transfer could carry; sometimes over the limit (which closes the connection).
  const length = random.chance(0.85) ? random.pick([0, 1, 100, 4096]) : random.pick([262_144, MAX_FRAME_BYTES + 1, 0xffffffff]);
  const header = Buffer.alloc(6);
  header[0] = FRAME_MARKER;
  header[1] = random.pick([0, 1, 2, 0xff]);
  header.writeUInt32BE(length, 2);
  const send = Math.min(length, random.pick([0, 10, 4096]));
  return Buffer.concat([header, random.bytes(send)]);
}

/** Flips, drops, repeats or inserts bytes of a message. */
export function mutate(random: Random, message: Buffer): Buffer {
  const bytes = Buffer.from(message);
  switch (random.int(6)) {
    case 0: {
      for (let i = 0; i < 1 + random.int(4) && bytes.length > 0; i += 1) bytes[random.int(bytes.length)] = random.int(256);
      return bytes;
    }
    case 1:
      return bytes.subarray(0, random.int(bytes.length + 1));
    case 2: {
      const at = random.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), random.bytes(1 + random.int(16)), bytes.subarray(at)]);
    }
    case 3:
      return Buffer.concat([bytes, bytes]);
    case 4:
      return Buffer.from(bytes.toString('latin1').replace(/\n/g, random.pick(['', '\r\n', '\n\n', '\r'])), 'latin1');
    default: {
      const at = random.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([FRAME_MARKER]), bytes.subarray(at)]);
    }
  }
}

/** One FOS/2 message after login: a plausible request, a mutated one, a frame, or noise. */
export function fos2Message(random: Random): Buffer {
  const kind = random.int(10);
  if (kind <= 3) return line(`${random.pick(VERBS)} ${JSON.stringify(plausibleArgs(random))}`);
  if (kind <= 5) return mutate(random, line(`${random.pick(VERBS)} ${JSON.stringify(plausibleArgs(random))}`));
  if (kind === 6) return frame(random);
  if (kind === 7) return random.bytes(1 + random.int(200));
  if (kind === 8) {
    if (random.chance(0.7)) return line(`${random.pick(VERBS)} ${JSON.stringify({ path: somePath(random) })}`);
    return random.pick([
      line(`LIST ${'['.repeat(5000)}`),
      line(`STAT {"path":${JSON.stringify('\u0000'.repeat(100))}}`),
      Buffer.from(`STAT ${'x'.repeat(MAX_REQUEST_LINE_BYTES + 10)}`),
      line(`${REPLY.ack} {"offset":${random.pick([0, 2 ** 60])}}`),
      line('UPLOAD {"path":"a","size":1,"sha256":"00","mtimeMs":0}'),
      line(`DOWNLOAD {"path":"a.txt","offset":0,"compress":true}`),
      line('WATCH {}'),
    ]);
  }
  return line(`${random.pick(VERBS)}`);
}

/** The opening of a FOS/2 connection: HELLO (sometimes broken) and AUTH (sometimes wrong). */
function fos2Opening(random: Random, user: string, password: string): Buffer[] {
  const hello = line(`HELLO ${JSON.stringify({ version: 2, client: 'fuzz', ...(random.chance(0.3) ? plausibleArgs(random) : {}) })}`);
  const auth = line(`AUTH ${JSON.stringify(random.chance(0.8) ? { user, password } : { user: somePath(random), password: oddValue(random) })}`);
  return [random.chance(0.9) ? hello : mutate(random, hello), random.chance(0.9) ? auth : mutate(random, auth)];
}

/** One legacy message: credentials, a command word, a file name, chunk bytes or noise. */
export function legacyMessage(random: Random): Buffer {
  const kind = random.int(6);
  if (kind <= 1) return Buffer.from(random.pick(LEGACY_COMMANDS));
  if (kind === 2) return Buffer.from(`FILENAME:${somePath(random)}`);
  if (kind === 3) return random.pick([Buffer.from('EOF'), Buffer.from('CHUNK RECEIVED'), random.bytes(4096)]);
  if (kind === 4) return mutate(random, Buffer.from(random.pick(LEGACY_COMMANDS)));
  return random.bytes(1 + random.int(300));
}

function legacyOpening(random: Random, user: string, password: string): Buffer[] {
  const good = Buffer.from(`${user}:${password}`);
  const login = random.chance(0.8) ? good : random.chance(0.5) ? mutate(random, good) : Buffer.from(`${somePath(random)}:${String(oddValue(random))}`);
  // Never a prefix of 'HELLO ': a legacy login must not be read as FOS/2.
  return [login.subarray(0, 1).toString('latin1') === 'H' ? Buffer.concat([Buffer.from('x'), login]) : login];
}

/** Totals of a fuzz run. */
export interface FuzzStats {
  messages: number;
  connections: number;
  /** Connections that ended before all their messages could be written (the server closed them). */
  cutShort: number;
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  readonly address: PeerAddress;
  /** The account fuzz sessions log in as (never the honest client's). */
  readonly user: string;
  readonly password: string;
  readonly messages: number;
  readonly seed: number;
  /** Connections at once. */
  readonly concurrency?: number;
  /** Stop early (the server died, or time is up). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (stats: Readonly<FuzzStats>) => void;
}

/** Longest one fuzz connection may live before it is cut. */
const CONNECTION_DEADLINE_MS = 5_000;

/**
 * Plays `messages` random and mutated messages, half the connections in FOS/2 mode and
 * half in legacy mode, each connection a few dozen messages long.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzStats> {
  const random = new Random(options.seed);
  const stats: FuzzStats = { messages: 0, connections: 0, cutShort: 0 };
  const concurrency = options.concurrency ?? 16;
  const nextPlan = (): Plan | null => {
    if (stats.messages >= options.messages || options.signal?.aborted === true) return null;
    const isLegacy = random.chance(0.5);
    const count = Math.min(1 + random.int(40), options.messages - stats.messages);
    const body = Array.from({ length: count }, () => (isLegacy ? legacyMessage(random) : fos2Message(random)));
    stats.messages += count;
    stats.connections += 1;
    const opening = isLegacy ? legacyOpening(random, options.user, options.password) : fos2Opening(random, options.user, options.password);
    return { isLegacy, messages: [...opening, ...body] };
  };
  const worker = async (): Promise<void> => {
    for (let plan = nextPlan(); plan !== null; plan = nextPlan()) {
      const complete = await play(options.address, plan);
      if (!complete) stats.cutShort += 1;
      options.onProgress?.(stats);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return stats;
}

/** One connection's messages. */
interface Plan {
  readonly isLegacy: boolean;
  readonly messages: readonly Buffer[];
}

/**
 * How long a legacy message waits for an answer before the next is sent. The seed's
 * protocol has no framing: a message is one write, told apart from the next by the pause
 * the seed's client makes while it waits for the reply.
 */
const LEGACY_REPLY_WAIT_MS = 40;
const LEGACY_LOGIN_WAIT_MS = 2_000;

/** Writes the messages one by one, then half-closes and waits for the server to hang up. */
async function play(address: PeerAddress, plan: Plan): Promise<boolean> {
  let socket: Socket;
  try {
    socket = await openSocket(address);
  } catch {
    // Refused (a limit, or the server is restarting): the messages count as sent into nothing.
    return false;
  }
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const deadline = setTimeout(() => socket.destroy(), CONNECTION_DEADLINE_MS);
  try {
    await readUntil(socket, (text) => text.startsWith(GREETING), CONNECTION_DEADLINE_MS);
    for (const [index, message] of plan.messages.entries()) {
      if (socket.destroyed || !socket.writable) return false;
      if (!socket.write(message)) {
        await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
      }
      if (plan.isLegacy) await readUntil(socket, (text) => text.length > 0, index === 0 ? LEGACY_LOGIN_WAIT_MS : LEGACY_REPLY_WAIT_MS);
    }
    socket.end();
    await closed;
    return true;
  } finally {
    clearTimeout(deadline);
    socket.destroy();
  }
}
