/**
 * An in-memory model of one server and several devices that carries out plans exactly as
 * the executor must (same preconditions, same manifest updates). Property tests drive
 * reconcile through it; a precondition a plan breaks throws, so an out-of-order or
 * unsafe plan fails the test. Pure: no I/O, no clock.
 */
import { FosError } from '../errors.js';
import type { Entry, EntryKind } from '../protocol/types.js';
import { isAtOrUnder, parentOf } from './path-tree.js';
import { reconcile } from './reconcile.js';
import type { BaseState, LocalState, Op, Plan, ReconcileOptions } from './types.js';

/** What a simulated path holds. Folders: size 0, sha256 '', mtimeMs 0. */
export interface SimFile {
  readonly kind: EntryKind;
  readonly size: number;
  readonly sha256: string;
  readonly mtimeMs: number;
}

/** The simulated server: live entries and the revision counter. */
export interface SimServer {
  rev: number;
  readonly entries: Map<string, Entry>;
}

/** A simulated device: its folder (by path) and its manifest. */
export interface SimDevice {
  readonly name: string;
  readonly files: Map<string, SimFile>;
  readonly base: Map<string, BaseState>;
}

const DIR: SimFile = Object.freeze({ kind: 'dir', size: 0, sha256: '', mtimeMs: 0 });

/** An empty server. */
export function createServer(): SimServer {
  return { rev: 0, entries: new Map() };
}

/** A device with an empty folder and an empty manifest. */
export function createDevice(name: string): SimDevice {
  return { name, files: new Map(), base: new Map() };
}

/** A deep copy of a server. */
export function cloneServer(server: SimServer): SimServer {
  return { rev: server.rev, entries: new Map(server.entries) };
}

/** A deep copy of a device. */
export function cloneDevice(device: SimDevice): SimDevice {
  return { name: device.name, files: new Map(device.files), base: new Map(device.base) };
}

/** What a scan of the device's folder returns (every file freshly hashed). */
export function scanDevice(device: SimDevice): Map<string, LocalState> {
  const out = new Map<string, LocalState>();
  for (const [path, f] of device.files) out.set(path, { path, diskPath: path, ...f });
  return out;
}

/** The server's live entries as the remote view. */
export function remoteView(server: SimServer): Map<string, Entry> {
  return new Map(server.entries);
}

/** Writes a file on a device, creating missing parent folders (an edit by the user). */
export function writeLocal(device: SimDevice, path: string, content: Omit<SimFile, 'kind'>): void {
  mkdirsLocal(device, parentOf(path));
  if (device.files.get(path)?.kind === 'dir') removeLocalTree(device, path);
  device.files.set(path, { kind: 'file', ...content });
}

/** Creates a folder and its missing parents on a device (an edit by the user). */
export function mkdirsLocal(device: SimDevice, path: string): void {
  if (path === '') return;
  mkdirsLocal(device, parentOf(path));
  const existing = device.files.get(path);
  if (existing?.kind === 'dir') return;
  device.files.set(path, DIR);
}

/** Removes a path and everything below it on a device (an edit by the user). */
export function removeLocalTree(device: SimDevice, path: string): void {
  for (const key of [...device.files.keys()]) if (isAtOrUnder(key, path)) device.files.delete(key);
}

/** Renames a path with its subtree on a device (an edit by the user); the target goes first. */
export function renameLocalTree(device: SimDevice, from: string, to: string): void {
  if (!device.files.has(from) || isAtOrUnder(to, from)) return;
  removeLocalTree(device, to);
  mkdirsLocal(device, parentOf(to));
  for (const [key, value] of [...device.files]) {
    if (!isAtOrUnder(key, from)) continue;
    device.files.delete(key);
    device.files.set(to + key.slice(from.length), value);
  }
}

/** One `fos sync` of a device: scan, reconcile against the server, carry out the plan. */
export function syncDevice(
  device: SimDevice,
  server: SimServer,
  now: number,
  options: ReconcileOptions = {},
): Plan {
  const plan = reconcile({
    base: device.base,
    local: scanDevice(device),
    remote: remoteView(server),
    device: device.name,
    now,
    options,
  });
  applyPlan(plan, device, server);
  return plan;
}

/** Carries out every operation of a plan in order; throws FosError on a broken precondition. */
export function applyPlan(plan: Plan, device: SimDevice, server: SimServer): void {
  const world = new World(device, server);
  for (const op of plan.ops) world.apply(op);
}

function fail(code: 'FOS_ERR_STORE_CONFLICT' | 'FOS_ERR_SYNC_LOCAL_IO', op: Op, why: string): never {
  throw new FosError(code, `${op.kind}: ${why}`, { details: { op } });
}

function sameFile(f: SimFile | undefined, s: LocalState): boolean {
  return f !== undefined && f.kind === s.kind && f.size === s.size && f.sha256 === s.sha256 && f.mtimeMs === s.mtimeMs;
}

function fileBase(f: SimFile, rev: number): BaseState {
  return f.kind === 'dir'
    ? { kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev }
    : { kind: 'file', size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256, rev };
}

class World {
  readonly #device: SimDevice;
  readonly #server: SimServer;

  constructor(device: SimDevice, server: SimServer) {
    this.#device = device;
    this.#server = server;
  }

  apply(op: Op): void {
    const base = this.#device.base;
    switch (op.kind) {
      case 'upload': {
        const f = this.#localAt(op, op.local.diskPath);
        if (!sameFile(f, op.local)) fail('FOS_ERR_SYNC_LOCAL_IO', op, 'local file changed since the scan');
        const entry = this.#put(op, op.path, f, op.baseRev);
        base.set(op.path, fileBase(f, entry.rev));
        return;
      }
      case 'download': {
        const entry = this.#remoteAt(op, op.path, op.entry.rev);
        if (op.expectLocal === null) this.#mustBeFreeLocally(op, op.path);
        else if (!sameFile(this.#device.files.get(op.expectLocal.diskPath), op.expectLocal)) {
          fail('FOS_ERR_SYNC_LOCAL_IO', op, 'local file changed since the scan');
        }
        const written = this.#writeLocal(op, op.expectLocal?.diskPath ?? op.path, entry);
        base.set(op.path, fileBase(written, entry.rev));
        return;
      }
      case 'deleteRemote': {
        const entry = this.#remoteAt(op, op.path, op.baseRev);
        if (entry.kind === 'dir' && this.#remoteHasChildren(op.path)) fail('FOS_ERR_STORE_CONFLICT', op, 'folder not empty');
        this.#server.entries.delete(op.path);
        this.#server.rev++;
        base.delete(op.path);
        return;
      }
      case 'deleteLocal': {
        if (!sameFile(this.#device.files.get(op.expect.diskPath), op.expect)) {
          fail('FOS_ERR_SYNC_LOCAL_IO', op, 'local path changed since the scan');
        }
        if (op.expect.kind === 'dir' && this.#localHasChildren(op.expect.diskPath)) {
          fail('FOS_ERR_SYNC_LOCAL_IO', op, 'folder not empty');
        }
        this.#device.files.delete(op.expect.diskPath);
        base.delete(op.path);
        return;
      }
      case 'mkdirRemote': {
        const entry = this.#mkdirRemote(op, op.path);
        base.set(op.path, fileBase(DIR, entry.rev));
        return;
      }
      case 'mkdirLocal': {
        this.#mkdirLocal(op, op.path);
        base.set(op.path, fileBase(DIR, op.entry.rev));
        return;
      }
      case 'moveRemote': {
        this.#moveRemote(op, op.from, op.to, op.baseRev);
        this.#rekeyBase(op.from, op.to);
        return;
      }
      case 'moveLocal': {
        if (!sameFile(this.#device.files.get(op.expect.diskPath), op.expect)) {
          fail('FOS_ERR_SYNC_LOCAL_IO', op, 'local path changed since the scan');
        }
        this.#moveLocal(op, op.expect.diskPath, op.to);
        this.#rekeyBase(op.from, op.to);
        return;
      }
      case 'conflict': {
        this.#conflict(op);
        return;
      }
      case 'updateBase':
        base.set(op.path, op.state);
        return;
      case 'dropBase':
        base.delete(op.path);
        return;
      default: {
        const unreachable: never = op;
        throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `unknown op ${String(unreachable)}`);
      }
    }
  }

  #conflict(op: Extract<Op, { kind: 'conflict' }>): void {
    const base = this.#device.base;
    if (!sameFile(this.#device.files.get(op.local.diskPath), op.local)) {
      fail('FOS_ERR_SYNC_LOCAL_IO', op, 'local path changed since the scan');
    }
    this.#remoteAt(op, op.path, op.remote.rev);
    if (op.loser === 'local') {
      this.#moveLocal(op, op.local.diskPath, op.copyPath);
      const copy = this.#localAt(op, op.copyPath);
      const uploaded = this.#put(op, op.copyPath, copy, null);
      base.set(op.copyPath, fileBase(copy, uploaded.rev));
      if (op.remote.kind === 'dir') {
        this.#mkdirLocal(op, op.path);
        base.set(op.path, fileBase(DIR, op.remote.rev));
      } else {
        const written = this.#writeLocal(op, op.path, op.remote);
        base.set(op.path, fileBase(written, op.remote.rev));
      }
      return;
    }
    this.#moveRemote(op, op.path, op.copyPath, op.remote.rev);
    const moved = this.#server.entries.get(op.copyPath) as Entry;
    this.#mustBeFreeLocally(op, op.copyPath);
    const written = this.#writeLocal(op, op.copyPath, moved);
    base.set(op.copyPath, fileBase(written, moved.rev));
    const dir = this.#mkdirRemote(op, op.path);
    base.set(op.path, fileBase(DIR, dir.rev));
  }

  #localAt(op: Op, path: string): SimFile {
    const f = this.#device.files.get(path);
    if (f === undefined) fail('FOS_ERR_SYNC_LOCAL_IO', op, `${path} missing locally`);
    return f;
  }

  #mustBeFreeLocally(op: Op, path: string): void {
    if (this.#device.files.has(path)) fail('FOS_ERR_SYNC_LOCAL_IO', op, `${path} exists locally`);
    const parent = parentOf(path);
    if (parent !== '' && this.#device.files.get(parent)?.kind !== 'dir') {
      fail('FOS_ERR_SYNC_LOCAL_IO', op, `no local folder ${parent}`);
    }
  }

  #localHasChildren(path: string): boolean {
    for (const key of this.#device.files.keys()) if (key.startsWith(`${path}/`)) return true;
    return false;
  }

  #writeLocal(op: Op, path: string, entry: Entry): SimFile {
    const parent = parentOf(path);
    if (parent !== '' && this.#device.files.get(parent)?.kind !== 'dir') {
      fail('FOS_ERR_SYNC_LOCAL_IO', op, `no local folder ${parent}`);
    }
    const f: SimFile = { kind: 'file', size: entry.size, sha256: entry.sha256, mtimeMs: entry.mtimeMs };
    this.#device.files.set(path, f);
    return f;
  }

  #mkdirLocal(op: Op, path: string): void {
    const existing = this.#device.files.get(path);
    if (existing?.kind === 'dir') return;
    this.#mustBeFreeLocally(op, path);
    this.#device.files.set(path, DIR);
  }

  #moveLocal(op: Op, from: string, to: string): void {
    this.#mustBeFreeLocally(op, to);
    for (const [key, value] of [...this.#device.files]) {
      if (!isAtOrUnder(key, from)) continue;
      this.#device.files.delete(key);
      this.#device.files.set(to + key.slice(from.length), value);
    }
  }

  #remoteAt(op: Op, path: string, rev: number): Entry {
    const entry = this.#server.entries.get(path);
    if (entry === undefined || entry.rev !== rev) fail('FOS_ERR_STORE_CONFLICT', op, `${path} not at rev ${rev}`);
    return entry;
  }

  #remoteParentOk(path: string): boolean {
    const parent = parentOf(path);
    return parent === '' || this.#server.entries.get(parent)?.kind === 'dir';
  }

  #remoteHasChildren(path: string): boolean {
    for (const key of this.#server.entries.keys()) if (key.startsWith(`${path}/`)) return true;
    return false;
  }

  #put(op: Op, path: string, f: SimFile, baseRev: number | null): Entry {
    const current = this.#server.entries.get(path);
    if (baseRev === null ? current !== undefined : current?.rev !== baseRev || current.kind !== 'file') {
      fail('FOS_ERR_STORE_CONFLICT', op, `${path} not at the expected revision`);
    }
    if (!this.#remoteParentOk(path)) fail('FOS_ERR_STORE_CONFLICT', op, `no server folder for ${path}`);
    const entry: Entry = { path, kind: 'file', size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256, rev: ++this.#server.rev, deleted: false };
    this.#server.entries.set(path, entry);
    return entry;
  }

  #mkdirRemote(op: Op, path: string): Entry {
    const current = this.#server.entries.get(path);
    if (current?.kind === 'dir') return current;
    if (current !== undefined) fail('FOS_ERR_STORE_CONFLICT', op, `${path} is a file on the server`);
    if (!this.#remoteParentOk(path)) fail('FOS_ERR_STORE_CONFLICT', op, `no server folder for ${path}`);
    const entry: Entry = { path, kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev: ++this.#server.rev, deleted: false };
    this.#server.entries.set(path, entry);
    return entry;
  }

  #moveRemote(op: Op, from: string, to: string, baseRev: number): void {
    this.#remoteAt(op, from, baseRev);
    if (this.#server.entries.has(to)) fail('FOS_ERR_STORE_CONFLICT', op, `${to} exists on the server`);
    if (!this.#remoteParentOk(to)) fail('FOS_ERR_STORE_CONFLICT', op, `no server folder for ${to}`);
    const rev = ++this.#server.rev;
    for (const [key, entry] of [...this.#server.entries]) {
      if (!isAtOrUnder(key, from)) continue;
      const target = to + key.slice(from.length);
      this.#server.entries.delete(key);
      this.#server.entries.set(target, { ...entry, path: target, rev });
    }
  }

  /**
   * Manifest records follow a move: revisions from the server's view of the target, file
   * mtimes from the local files the move left there (what the scan reported).
   */
  #rekeyBase(from: string, to: string): void {
    const base = this.#device.base;
    for (const [key, state] of [...base]) {
      if (!isAtOrUnder(key, from)) continue;
      const target = to + key.slice(from.length);
      const rev = this.#server.entries.get(target)?.rev ?? state.rev;
      const mtimeMs = state.kind === 'file' ? (this.#device.files.get(target)?.mtimeMs ?? state.mtimeMs) : 0;
      base.delete(key);
      base.set(target, { ...state, rev, mtimeMs });
    }
  }
}
