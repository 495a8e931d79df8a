/**
 * A FOS/2 peer on a bare socket, for attack tests and the fuzz run: it speaks exactly the
 * bytes it is told to (no client library in between), reads the server's lines, and can
 * connect from a chosen loopback address (Linux routes all of 127.0.0.0/8 to `lo`).
 */
import { connect, type Socket } from 'node:net';
import { GREETING } from '../src/protocol/constants.js';

/** What a login attempt got back. */
export type LoginOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'error'; readonly code: string; readonly retryMs: number | undefined }
  | { readonly kind: 'closed' };

/** Where to connect, and from which local address. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

/** A HELLO line as a FOS/2 client sends it. */
export const HELLO_LINE = `HELLO ${JSON.stringify({ version: 2, client: 'raw-peer', compress: [] })}\n`;

/** Longest a raw exchange waits for the server. */
const REPLY_TIMEOUT_MS = 20_000;

/** Opens a socket and resolves once it is connected. */
export function openSocket(address: PeerAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: address.host,
      port: address.port,
      ...(address.localAddress === undefined ? {} : { localAddress: address.localAddress }),
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      // A reset by the server (it closes hostile peers) must not become an unhandled error.
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads text from a socket until `done(text)` holds, the socket closes, or time runs out. */
export function readUntil(socket: Socket, done: (text: string) => boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', finish);
      resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (done(text)) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', onData);
    socket.once('close', finish);
  });
}

/**
 * One FOS/2 login on a fresh connection: greeting, HELLO, AUTH, and the answer. The
 * connection is closed afterwards.
 */
export async function rawLogin(address: PeerAddress, user: string, password: string): Promise<LoginOutcome> {
  const socket = await openSocket(address);
  try {
    const greeting = await readUntil(socket, (text) => text.startsWith(GREETING));
    if (!greeting.startsWith(GREETING)) return { kind: 'closed' };
    socket.write(HELLO_LINE);
    socket.write(`AUTH ${JSON.stringify({ user, password })}\n`);
    const text = await readUntil(socket, (t) => t.split('\n').length >= 3);
    const lines = text.split('\n');
    const answer = lines[1];
    if (answer === undefined || answer === '') return { kind: 'closed' };
    if (answer.startsWith('AUTH SUCCESSFUL')) return { kind: 'ok' };
    if (answer.startsWith('ERR ')) {
      const body: unknown = JSON.parse(answer.slice(4));
      const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const code = typeof fields['code'] === 'string' ? fields['code'] : 'UNKNOWN';
      const retryMs = typeof fields['retryMs'] === 'number' ? fields['retryMs'] : undefined;
      return { kind: 'error', code, retryMs };
    }
    return { kind: 'closed' };
  } finally {
    socket.destroy();
  }
}

/** Resident set size of a process in bytes, from /proc (Linux); undefined elsewhere. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    // No /proc (not Linux) or the process is gone: the caller treats it as unknown.
    return undefined;
  }
}

/** Runs `fn` on `items` with at most `concurrency` at once, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
