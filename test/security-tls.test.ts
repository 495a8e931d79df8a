import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnectRaw, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureServerCertificate, type CertificateMaterial } from '../src/security/certificate.js';
import { fingerprintAsHex } from '../src/security/fingerprint.js';
import { hostKey, lookupHost, parseKnownHosts, formatKnownHosts, rememberHost } from '../src/security/known-hosts.js';
import { serverTlsOptions, type TlsMinVersion } from '../src/security/server-tls.js';
import { tlsConnect, tlsConnector } from '../src/security/tls-connect.js';

const GREETING = "AUTH REQUIRED. SEND 'USERNAME:PASSWORD'";

interface TestTlsServer {
  readonly port: number;
  /** Bytes each accepted connection has sent, in accept order. */
  readonly received: number[];
  close(): Promise<void>;
}

let dir = '';
let servers: TestTlsServer[] = [];
let sockets: TLSSocket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-tls-'));
});

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
  sockets = [];
  await rm(dir, { recursive: true, force: true });
});

async function listen(material: CertificateMaterial, minVersion?: TlsMinVersion, port = 0): Promise<TestTlsServer> {
  const received: number[] = [];
  // Raw sockets, tracked from accept: a client may finish its TLS 1.3 handshake before the
  // server reports the connection, and close() must not wait for it.
  const open = new Set<Socket>();
  const server: Server = createServer(serverTlsOptions(material, minVersion === undefined ? {} : { minVersion }), (socket) => {
    const index = received.push(0) - 1;
    socket.on('data', (chunk: Buffer) => {
      received[index] = (received[index] ?? 0) + chunk.length;
    });
    socket.on('error', () => undefined);
    socket.write(GREETING);
  });
  server.on('connection', (raw: Socket) => {
    open.add(raw);
    raw.on('close', () => open.delete(raw));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const handle: TestTlsServer = {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

function keep(socket: TLSSocket): TLSSocket {
  sockets.push(socket);
  return socket;
}

function firstData(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
    socket.once('error', reject);
  });
}

describe('tlsConnect with trust on first use', () => {
  it('asks once, records the fingerprint privately, and reconnects without asking', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'));
    const server = await listen(material);
    const knownHostsFile = join(dir, 'client', 'known_hosts');
    const asked: string[] = [];
    const onFirstUse = (fp: string): Promise<boolean> => {
      asked.push(fp);
      return Promise.resolve(true);
    };
    const socket = keep(await tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, onFirstUse }));
    expect(await firstData(socket)).toBe(GREETING);
    expect(socket.getProtocol()).toBe('TLSv1.3');
    expect(asked).toEqual([material.fingerprint]);
    expect(await lookupHost(knownHostsFile, '127.0.0.1', server.port)).toBe(material.fingerprint);
    expect((await stat(knownHostsFile)).mode & 0o777).toBe(0o600);

    const connect = tlsConnector({ knownHostsFile, onFirstUse });
    const again = keep(await connect({ host: '127.0.0.1', port: server.port }, undefined));
    expect(await firstData(again)).toBe(GREETING);
    expect(asked).toHaveLength(1);
  });

  it('refuses a swapped certificate before sending a byte, naming both fingerprints and the fix', async () => {
    const trusted = await ensureServerCertificate(join(dir, 'trusted'));
    const impostor = await ensureServerCertificate(join(dir, 'impostor'));
    const server = await listen(impostor);
    const knownHostsFile = join(dir, 'known_hosts');
    await rememberHost(knownHostsFile, '127.0.0.1', server.port, trusted.fingerprint);
    let asked = false;
    const attempt = tlsConnect({
      host: '127.0.0.1',
      port: server.port,
      knownHostsFile,
      onFirstUse: () => {
        asked = true;
        return Promise.resolve(true);
      },
    });
    const err: unknown = await attempt.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'FOS_ERR_NET_TLS', details: { known: trusted.fingerprint, presented: impostor.fingerprint } });
    const message = (err as Error).message;
    expect(message).toContain(trusted.fingerprint);
    expect(message).toContain(impostor.fingerprint);
    expect(message).toContain(`--fingerprint ${impostor.fingerprint}`);
    expect(message).toContain(knownHostsFile);
    expect(asked).toBe(false);
    expect(server.received).toEqual([0]);
    // The pin is unchanged: refusing never overwrites what the user trusted.
    expect(await lookupHost(knownHostsFile, '127.0.0.1', server.port)).toBe(trusted.fingerprint);
  });

  it('pins without asking with --fingerprint (either notation) and refuses a mismatch', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'));
    const other = await ensureServerCertificate(join(dir, 'other'));
    const server = await listen(material);
    const knownHostsFile = join(dir, 'known_hosts');
    const never = (): Promise<boolean> => Promise.reject(new Error('must not ask'));

    await expect(
      tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, pin: other.fingerprint, onFirstUse: never }),
    ).rejects.toMatchObject({ code: 'FOS_ERR_NET_TLS', details: { expected: other.fingerprint, presented: material.fingerprint } });
    expect(await lookupHost(knownHostsFile, '127.0.0.1', server.port)).toBeUndefined();

    const pin = fingerprintAsHex(material.fingerprint);
    const socket = keep(await tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, pin, onFirstUse: never }));
    expect(await firstData(socket)).toBe(GREETING);
    expect(await lookupHost(knownHostsFile, '127.0.0.1', server.port)).toBe(material.fingerprint);
  });

  it('refuses an unknown server when the person declines or nobody can be asked', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'));
    const server = await listen(material);
    const knownHostsFile = join(dir, 'known_hosts');
    await expect(
      tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, onFirstUse: () => Promise.resolve(false) }),
    ).rejects.toMatchObject({ code: 'FOS_ERR_NET_TLS', details: { presented: material.fingerprint } });
    await expect(tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile })).rejects.toMatchObject({
      code: 'FOS_ERR_NET_TLS',
    });
    await expect(stat(knownHostsFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(server.received).toEqual([0, 0]);
  });

  it('reconnects after a slow first-use answer when the server hung up meanwhile', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'));
    const server = await listen(material);
    const knownHostsFile = join(dir, 'known_hosts');
    let calls = 0;
    let replacement: TestTlsServer | undefined;
    const socket = keep(
      await tlsConnect({
        host: '127.0.0.1',
        port: server.port,
        knownHostsFile,
        onFirstUse: async () => {
          calls += 1;
          // The person takes long enough for the server to drop the connection.
          await server.close();
          servers = servers.filter((s) => s !== server);
          replacement = await listenOn(material, server.port);
          return true;
        },
      }),
    );
    expect(await firstData(socket)).toBe(GREETING);
    expect(calls).toBe(1);
    // The socket handed out is a fresh connection to the server that runs now.
    expect(replacement?.received).toEqual([0]);
  });
});

async function listenOn(material: CertificateMaterial, port: number): Promise<TestTlsServer> {
  return listen(material, undefined, port);
}

describe('tlsConnect with a CA', () => {
  it('verifies the chain and the name instead of pinning', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'), { hostnames: ['localhost', '127.0.0.1'] });
    const other = await ensureServerCertificate(join(dir, 'other'), { hostnames: ['localhost', '127.0.0.1'] });
    const server = await listen(material);
    const knownHostsFile = join(dir, 'known_hosts');
    const socket = keep(await tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, ca: material.cert }));
    expect(await firstData(socket)).toBe(GREETING);
    await expect(stat(knownHostsFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, ca: other.cert })).rejects.toMatchObject({
      code: 'FOS_ERR_NET_TLS',
    });
    await expect(
      tlsConnect({ host: '127.0.0.1', port: server.port, knownHostsFile, ca: material.cert, servername: 'elsewhere.example' }),
    ).rejects.toMatchObject({ code: 'FOS_ERR_NET_TLS' });
  });
});

describe('protocol versions', () => {
  it('refuses TLS 1.2 clients by default and accepts them when configured', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'));
    const strict = await listen(material);
    const lenient = await listen(material, 'TLSv1.2');
    const tryTls12 = (port: number): Promise<string> =>
      new Promise((resolve) => {
        const socket = tlsConnectRaw({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
        socket.once('secureConnect', () => {
          resolve(socket.getProtocol() ?? 'none');
          socket.destroy();
        });
        socket.once('error', () => resolve('refused'));
      });
    expect(await tryTls12(strict.port)).toBe('refused');
    expect(await tryTls12(lenient.port)).toBe('TLSv1.2');
  });

  it('openssl s_client negotiates TLS 1.3', async () => {
    const material = await ensureServerCertificate(join(dir, 'server'));
    const server = await listen(material);
    const output = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${server.port}`, '-tls1_3', '-brief'],
        { timeout: 15_000 },
        (err, stdout, stderr) => {
          if (err !== null && !`${stdout}${stderr}`.includes('Protocol version')) reject(err);
          else resolve(`${stdout}${stderr}`);
        },
      );
      child.stdin?.end();
    });
    expect(output).toMatch(/Protocol version: TLSv1\.3/);
  });
});

describe('known_hosts file', () => {
  it('parses what it formats, keeps other hosts, and brackets IPv6 addresses', async () => {
    const file = join(dir, 'known_hosts');
    const a = await ensureServerCertificate(join(dir, 'a'));
    const b = await ensureServerCertificate(join(dir, 'b'));
    await Promise.all([
      rememberHost(file, 'Files.Example', 443, a.fingerprint),
      rememberHost(file, '::1', 12345, b.fingerprint),
      rememberHost(file, '127.0.0.1', 12345, a.fingerprint),
    ]);
    const hosts = parseKnownHosts(await readFile(file, 'utf8'));
    expect(hosts.get('files.example:443')).toBe(a.fingerprint);
    expect(hosts.get(hostKey('::1', 12345))).toBe(b.fingerprint);
    expect(hostKey('::1', 12345)).toBe('[::1]:12345');
    expect(hosts.size).toBe(3);
    expect(parseKnownHosts(formatKnownHosts(hosts))).toEqual(hosts);
  });

  it('names the malformed line instead of silently trusting around it', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, '# comment\n127.0.0.1:1 SHA256:nonsense\n');
    await expect(lookupHost(file, '127.0.0.1', 1)).rejects.toMatchObject({
      code: 'FOS_ERR_CONFIG_INVALID',
      message: expect.stringContaining('line 2'),
    });
    await writeFile(file, 'no-port SHA256:AAAA\n');
    await expect(lookupHost(file, 'no-port', 1)).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_INVALID' });
  });
});
