/**
 * The agent's local status socket: a unix socket in the state folder. A client writes one
 * JSON line (`{"op":"status"}`) and reads one JSON line back. Only the owner can reach it
 * (the state folder is 0700).
 */
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { FosError, errnoCode } from '../errors.js';
import type { AgentStatus } from './status-types.js';

const MAX_REQUEST_BYTES = 4096;

/** A listening status socket. `close()` is idempotent. */
export interface StatusSocket {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Listens on `path`, answering with `status()`. A socket file left by a dead agent is
 * replaced; one a live agent answers on is not.
 * @throws FosError `FOS_ERR_CLI_USAGE` when another agent already runs on this state folder.
 */
export async function listenStatusSocket(path: string, status: () => AgentStatus): Promise<StatusSocket> {
  if ((await queryStatus(path, 1000)) !== null) {
    throw new FosError('FOS_ERR_CLI_USAGE', `another fos agent is running on this state folder (${path})`);
  }
  await unlink(path).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot remove the old socket ${path}`, { cause: err });
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      buffered += text;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      if (!buffered.includes('\n')) return;
      const line = buffered.slice(0, buffered.indexOf('\n'));
      let reply: unknown;
      try {
        const request = JSON.parse(line) as { op?: unknown };
        reply = request.op === 'status' ? status() : { error: 'unknown op' };
      } catch {
        // Not JSON: answer with an error rather than dropping the client silently.
        reply = { error: 'bad request' };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot listen on ${path}: ${err.message}`, { cause: err })));
    server.listen(path, () => resolve());
  });
  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }).then(() => unlink(path).catch(() => undefined));
      return closing;
    },
  };
}

/** Asks a running agent for its status; null when nothing answers within `timeoutMs`. */
export function queryStatus(path: string, timeoutMs = 2000): Promise<AgentStatus | null> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(path);
    const done = (value: AgentStatus | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('{"op":"status"}\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => {
      try {
        const value: unknown = JSON.parse(text);
        done(typeof value === 'object' && value !== null && 'pairs' in value ? (value as AgentStatus) : null);
      } catch {
        // A half answer from an agent that is stopping: treat as not running.
        done(null);
      }
    });
    socket.on('error', () => done(null));
  });
}
