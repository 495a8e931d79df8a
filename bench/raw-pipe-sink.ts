/**
 * The receiving end of the raw pipe ceiling, run as a child process:
 * `node raw-pipe-sink.js DEST` listens on a free 127.0.0.1 port, prints `{"port":N}`,
 * writes the one connection's bytes to DEST and exits 0 once they are on disk (no fsync,
 * as rsync by default).
 */
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { pipeline } from 'node:stream/promises';

const destination = process.argv[2];
if (destination === undefined) {
  process.stderr.write('usage: raw-pipe-sink DEST\n');
  process.exit(2);
}

const server = createServer({ noDelay: true }, (socket) => {
  server.close();
  pipeline(socket, createWriteStream(destination, { highWaterMark: 1024 * 1024 })).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`raw-pipe-sink: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') process.exit(1);
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
