/**
 * A TCP fault proxy for reliability tests (issue 9): it sits between a client (an agent,
 * the CLI) and `fos server` on loopback and, on command, adds latency, caps the bandwidth,
 * stalls every byte for a while, cuts connections after N bytes in either direction, or
 * turns them half-open (one direction goes silent: no data, no FIN, no RST). Faults are
 * set and cleared at runtime and apply to open and new connections alike.
 *
 * Directions: `up` is client to server, `down` is server to client.
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/** A direction of travel through the proxy. */
export type Direction = 'up' | 'down';

/** The faults in force; an absent field is no fault of that kind. */
export interface FaultSpec {
  /** Added to every chunk's travel time, each direction. */
  readonly latencyMs?: number;
  /** Bytes per second per direction per connection. */
  readonly bytesPerSec?: number;
  /** Hold every byte (both directions) for this long from the moment the fault is set. */
  readonly stallMs?: number;
  /**
   * Reset each connection once this many more bytes went that way (counted per connection
   * from the moment the fault is set, or from the connection's start when it is newer).
   */
  readonly cutAfterBytes?: Partial<Readonly<Record<Direction, number>>>;
  /** These directions go silent: bytes are swallowed and an end is never passed on. */
  readonly halfOpen?: readonly Direction[];
  /** Refuse new connections: accepted and reset at once (a server that is down). */
  readonly refuse?: boolean;
}

/** What went through the proxy so far. */
export interface ProxyStats {
  readonly connections: number;
  readonly open: number;
  /** Bytes delivered, per direction. */
  readonly bytes: Readonly<Record<Direction, number>>;
  /** Bytes swallowed by half-open directions. */
  readonly swallowed: number;
  /** Connections reset by a cut, a refusal or `dropAll`. */
  readonly resets: number;
}

/** Where the proxy forwards to; loopback only. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  readonly target: ProxyTarget;
  /** Port to listen on (127.0.0.1); 0 for any free port. */
  readonly port?: number;
}

/** Bytes queued in one lane before its source is paused. */
const HIGH_WATER_BYTES = 256 * 1024;
/** Largest piece a bandwidth-capped lane sends at once. */
const SLICE_BYTES = 16 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

interface Piece {
  readonly data: Buffer;
  readonly dueAt: number;
}

/** One direction of one connection: a timed queue from `source` to `sink`. */
class Lane {
  readonly direction: Direction;
  readonly #proxy: FaultProxy;
  readonly #link: Link;
  readonly #source: Socket;
  readonly #sink: Socket;
  readonly #queue: Piece[] = [];
  #queued = 0;
  #wireFreeAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #ended = false;
  /** Bytes this lane may still deliver before the connection is cut; Infinity for no cut. */
  budget = Number.POSITIVE_INFINITY;

  constructor(proxy: FaultProxy, link: Link, direction: Direction, source: Socket, sink: Socket) {
    this.#proxy = proxy;
    this.#link = link;
    this.direction = direction;
    this.#source = source;
    this.#sink = sink;
    source.on('data', (chunk: Buffer) => this.#take(chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#pump();
    });
    sink.on('drain', () => this.#pump());
  }

  #take(chunk: Buffer): void {
    const faults = this.#proxy.faults;
    if (faults.halfOpen?.includes(this.direction) === true) {
      this.#proxy.countSwallowed(chunk.length);
      return;
    }
    const now = Date.now();
    const latency = faults.latencyMs ?? 0;
    const rate = faults.bytesPerSec;
    if (rate === undefined || rate <= 0) {
      this.#push({ data: chunk, dueAt: now + latency });
    } else {
      for (let at = 0; at < chunk.length; at += SLICE_BYTES) {
        const data = chunk.subarray(at, Math.min(chunk.length, at + SLICE_BYTES));
        this.#wireFreeAt = Math.max(this.#wireFreeAt, now) + (data.length * 1000) / rate;
        this.#push({ data, dueAt: this.#wireFreeAt + latency });
      }
    }
    if (this.#queued > HIGH_WATER_BYTES) this.#source.pause();
    this.#pump();
  }

  #push(piece: Piece): void {
    this.#queue.push(piece);
    this.#queued += piece.data.length;
  }

  /** Delivers what is due; schedules itself for the rest. */
  #pump(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#link.isClosed) return;
    const now = Date.now();
    const heldUntil = this.#proxy.stalledUntil;
    for (;;) {
      const head = this.#queue[0];
      if (head === undefined) break;
      const due = Math.max(head.dueAt, heldUntil);
      if (due > now) {
        this.#timer = setTimeout(() => this.#pump(), due - now);
        return;
      }
      if (this.#sink.writableNeedDrain) return;
      this.#queue.shift();
      this.#queued -= head.data.length;
      if (this.#proxy.faults.halfOpen?.includes(this.direction) === true) {
        this.#proxy.countSwallowed(head.data.length);
        continue;
      }
      if (head.data.length >= this.budget) {
        const part = head.data.subarray(0, this.budget);
        if (part.length > 0) this.#deliver(part);
        this.budget = 0;
        this.#link.reset();
        return;
      }
      this.budget -= head.data.length;
      this.#deliver(head.data);
    }
    if (this.#queued <= HIGH_WATER_BYTES / 2 && this.#source.isPaused()) this.#source.resume();
    if (this.#ended && this.#queue.length === 0 && this.#proxy.faults.halfOpen?.includes(this.direction) !== true) {
      this.#sink.end();
    }
  }

  #deliver(data: Buffer): void {
    this.#sink.write(data);
    this.#proxy.countDelivered(this.direction, data.length);
  }

  /** Faults changed: re-time the queue (a cleared stall releases bytes now). */
  refresh(): void {
    this.#pump();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue.length = 0;
    this.#queued = 0;
  }
}

/** One proxied connection: the client's socket, the server's socket and two lanes. */
class Link {
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #proxy: FaultProxy;
  readonly lanes: Lane[];
  isClosed = false;

  constructor(proxy: FaultProxy, client: Socket, server: Socket) {
    this.#proxy = proxy;
    this.#client = client;
    this.#server = server;
    this.lanes = [new Lane(proxy, this, 'up', client, server), new Lane(proxy, this, 'down', server, client)];
    for (const socket of [client, server]) {
      // A reset or refused peer is part of what this proxy is for: end the link quietly.
      socket.on('error', () => this.close());
      socket.on('close', () => this.#peerClosed(socket));
    }
  }

  /** One side closed: the other follows, unless its direction is half-open (silent). */
  #peerClosed(socket: Socket): void {
    const towards: Direction = socket === this.#client ? 'up' : 'down';
    if (this.#proxy.faults.halfOpen?.includes(towards) === true) return;
    this.close();
  }

  /** Resets both sides (RST where the platform allows). */
  reset(): void {
    if (this.isClosed) return;
    this.#proxy.countReset();
    for (const socket of [this.#client, this.#server]) {
      if (typeof socket.resetAndDestroy === 'function' && socket.readyState !== 'opening') socket.resetAndDestroy();
      else socket.destroy();
    }
    this.close();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const lane of this.lanes) lane.stop();
    this.#client.destroy();
    this.#server.destroy();
    this.#proxy.forget(this);
  }
}

/** A running proxy. `close()` is idempotent. */
export class FaultProxy {
  readonly #server: Server;
  readonly #links = new Set<Link>();
  #target: ProxyTarget;
  #faults: FaultSpec = {};
  #stalledUntil = 0;
  #connections = 0;
  #bytes: Record<Direction, number> = { up: 0, down: 0 };
  #swallowed = 0;
  #resets = 0;
  #closing: Promise<void> | null = null;

  private constructor(server: Server, target: ProxyTarget) {
    this.#server = server;
    this.#target = target;
  }

  /**
   * Listens on 127.0.0.1 and forwards to `target`.
   * @throws Error for a target that is not loopback, or when the port cannot be opened.
   */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    checkLoopback(options.target);
    let proxy: FaultProxy | null = null;
    const server = createServer({ allowHalfOpen: true }, (socket) => proxy?.accept(socket));
    proxy = new FaultProxy(server, options.target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The faults in force. */
  get faults(): FaultSpec {
    return this.#faults;
  }

  /** Until when every byte is held (ms since the epoch). */
  get stalledUntil(): number {
    return this.#stalledUntil;
  }

  /** Points new connections at another server (after a restart on a new port). */
  setTarget(target: ProxyTarget): void {
    checkLoopback(target);
    this.#target = target;
  }

  /** Replaces the faults in force; open connections follow at once. */
  setFaults(faults: FaultSpec): void {
    this.#faults = Object.freeze({ ...faults });
    this.#stalledUntil = faults.stallMs === undefined ? 0 : Date.now() + faults.stallMs;
    for (const link of this.#links) this.#arm(link);
  }

  /** No faults: bytes flow freely again (a stall ends now). */
  clearFaults(): void {
    this.setFaults({});
  }

  /** Resets every open connection now. */
  dropAll(): void {
    for (const link of [...this.#links]) link.reset();
  }

  stats(): ProxyStats {
    return {
      connections: this.#connections,
      open: this.#links.size,
      bytes: { ...this.#bytes },
      swallowed: this.#swallowed,
      resets: this.#resets,
    };
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const link of [...this.#links]) link.close();
    });
    return this.#closing;
  }

  /** @internal A new client connection. */
  accept(client: Socket): void {
    this.#connections += 1;
    if (this.#faults.refuse === true || this.#closing !== null) {
      this.#resets += 1;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    // allowHalfOpen: an end is passed on by the lanes, so a half-open direction can hold it back.
    const server = connect({ host: this.#target.host, port: this.#target.port, noDelay: true, allowHalfOpen: true });
    const link = new Link(this, client, server);
    this.#links.add(link);
    this.#arm(link);
  }

  /** @internal */
  forget(link: Link): void {
    this.#links.delete(link);
  }

  /** @internal */
  countDelivered(direction: Direction, bytes: number): void {
    this.#bytes[direction] += bytes;
  }

  /** @internal */
  countSwallowed(bytes: number): void {
    this.#swallowed += bytes;
  }

  /** @internal */
  countReset(): void {
    this.#resets += 1;
  }

  #arm(link: Link): void {
    for (const lane of link.lanes) {
      lane.budget = this.#faults.cutAfterBytes?.[lane.direction] ?? Number.POSITIVE_INFINITY;
      lane.refresh();
    }
  }
}

function checkLoopback(target: ProxyTarget): void {
  if (!LOOPBACK.has(target.host)) throw new Error(`the fault proxy forwards to loopback only, not ${target.host}`);
}
