/**
 * The client's TLS flags (`--tls`, `--fingerprint`, `--ca`, `--known-hosts`) and the connect
 * function they make: pinned with a known_hosts file beside the client config, asking on a
 * terminal the first time a server is seen (docs/security.md).
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { TLSSocket } from 'node:tls';
import type { Command } from 'commander';
import type { ConnectFn, ServerAddress } from '../client/index.js';
import { FosError } from '../errors.js';
import { fingerprintAsHex, fingerprintOfDer, parseFingerprint } from '../security/fingerprint.js';
import { knownHostsBeside } from '../security/known-hosts.js';
import { readCaFile, tlsConnector, type FirstUsePrompt } from '../security/tls-connect.js';
import type { CliIo } from './main.js';
import { isTerminal } from './terminal.js';

/** The TLS flags as commander parses them. */
export interface TlsFlags {
  readonly tls?: boolean;
  readonly fingerprint?: string;
  readonly ca?: string;
  readonly knownHosts?: string;
}

/** What the client config remembers about TLS for its stored server. */
export interface StoredTls {
  readonly tls?: boolean | undefined;
  readonly ca?: string | undefined;
}

/** Adds the TLS flags to a client command. */
export function addTlsOptions(command: Command): Command {
  return command
    .option('--tls', 'connect with TLS (remembered by fos login)')
    .option('--fingerprint <SHA256:...>', "pin the server's certificate fingerprint without asking (implies --tls)")
    .option('--ca <file>', 'verify the server against this CA certificate instead of pinning (implies --tls)')
    .option('--known-hosts <file>', 'pinned fingerprints (default: known_hosts beside the client config)');
}

/** A TLS connect function and the fingerprint of the last server it reached. */
export interface TlsConnection {
  readonly connect: ConnectFn;
  /** `SHA256:…` of the certificate of the last connection made, once one was made. */
  lastFingerprint(): string | undefined;
  /** What `fos login` stores so that later commands use TLS too. */
  readonly stored: StoredTls;
}

/**
 * The connect function the flags and the stored login ask for; undefined for plain TCP.
 * `stored` counts only when the command talks to the stored server.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a malformed fingerprint, `FOS_ERR_CONFIG_*` for the CA file.
 */
export async function tlsConnection(flags: TlsFlags, configPath: string, stored: StoredTls, io: CliIo): Promise<TlsConnection | undefined> {
  const caFile = flags.ca ?? stored.ca;
  const usesTls = flags.tls === true || flags.fingerprint !== undefined || caFile !== undefined || stored.tls === true;
  if (!usesTls) return undefined;
  const pin = flags.fingerprint === undefined ? undefined : parseFingerprint(flags.fingerprint);
  const ca = caFile === undefined ? undefined : await readCaFile(caFile);
  const knownHostsFile = flags.knownHosts ?? knownHostsBeside(configPath);
  const connector = tlsConnector({
    knownHostsFile,
    ...(pin === undefined ? {} : { pin }),
    ...(ca === undefined ? {} : { ca }),
    ...(isTerminal(io.stdin) && isTerminal(io.stderr) ? { onFirstUse: askOnTerminal(io, knownHostsFile) } : {}),
  });
  let last: string | undefined;
  const connect: ConnectFn = async (address: ServerAddress, signal: AbortSignal | undefined) => {
    const socket: TLSSocket = await connector(address, signal);
    last = fingerprintOfDer(socket.getPeerCertificate().raw);
    return socket;
  };
  return {
    connect,
    lastFingerprint: () => last,
    stored: { tls: true, ...(caFile === undefined ? {} : { ca: resolve(caFile) }) },
  };
}

/** Shows a new server's fingerprint on the terminal and asks whether to trust it. */
export function askOnTerminal(io: CliIo, knownHostsFile: string): FirstUsePrompt {
  return async (fingerprint, server) => {
    io.stderr.write(
      [
        `The server ${server} is not known yet. Its certificate fingerprint is`,
        `  ${fingerprint}`,
        `  (${fingerprintAsHex(fingerprint)})`,
        'Compare it with the output of `fos server --print-fingerprint` on the server.',
        `Trust this server and remember it in ${knownHostsFile}? [y/N] `,
      ].join('\n'),
    );
    const answer = await readAnswer(io.stdin);
    return /^y(es)?$/i.test(answer.trim());
  };
}

function readAnswer(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const lines = createInterface({ input: stream, terminal: false });
    let answer: string | undefined;
    const onError = (err: Error): void => {
      lines.close();
      reject(new FosError('FOS_ERR_CLI_ABORTED', `cannot read the answer: ${err.message}`, { cause: err }));
    };
    lines.once('line', (line) => {
      answer = line;
      lines.close();
    });
    lines.once('close', () => {
      stream.off('error', onError);
      resolveAnswer(answer ?? '');
    });
    stream.once('error', onError);
  });
}
