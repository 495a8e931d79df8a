/**
 * Installs, removes and queries a fos service through systemctl or launchctl. The
 * commands are plain data (so `--print` can show them and tests can check them) and
 * run through an injected {@link CommandRunner}.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import type { RenderedUnit, UnitLocation } from './render.js';

/** What a finished command left behind. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with arguments (no shell) and resolves when it exits, whatever its code. */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<CommandResult>;

/** One systemctl or launchctl call. */
export interface ServiceCommand {
  readonly cmd: string;
  readonly args: readonly string[];
  /** True when a failure is expected and harmless (stopping what is not running). */
  readonly mayFail: boolean;
}

/** What the service manager is asked on behalf of whom. */
export interface ServiceDeps {
  readonly run: CommandRunner;
  /** The uid of the user whose launchd GUI domain (`gui/<uid>`) holds the agent. */
  readonly uid: number;
}

/** The state of an installed (or absent) service. */
export interface ServiceStatus {
  readonly serviceName: string;
  readonly installPath: string;
  /** The unit file or plist is in place. */
  readonly installed: boolean;
  /** systemd: `active`, `inactive`, `failed`, ...; launchd: `running`, `waiting`, ..., or `not-loaded`. */
  readonly state: string;
  /** The service runs now. */
  readonly running: boolean;
}

/** The commands that load and start a service whose file is in place. */
export function installCommands(unit: UnitLocation, uid: number): ServiceCommand[] {
  if (unit.platform === 'linux') {
    const systemctl = systemctlFor(unit);
    // restart, not start: a reinstall must pick up the new ExecStart.
    return [systemctl(['daemon-reload']), systemctl(['enable', unit.serviceName]), systemctl(['restart', unit.serviceName])];
  }
  const domain = launchdDomain(unit, uid);
  const target = `${domain}/${unit.serviceName}`;
  return [
    { cmd: 'launchctl', args: ['bootout', target], mayFail: true },
    { cmd: 'launchctl', args: ['enable', target], mayFail: false },
    { cmd: 'launchctl', args: ['bootstrap', domain, unit.installPath], mayFail: false },
  ];
}

/** The commands that stop and unload a service before its file is removed. */
export function stopCommands(unit: UnitLocation, uid: number): ServiceCommand[] {
  if (unit.platform === 'linux') {
    return [{ ...systemctlFor(unit)(['disable', '--now', unit.serviceName]), mayFail: true }];
  }
  return [{ cmd: 'launchctl', args: ['bootout', `${launchdDomain(unit, uid)}/${unit.serviceName}`], mayFail: true }];
}

/** The commands that run once the file is gone. */
export function cleanupCommands(unit: UnitLocation): ServiceCommand[] {
  return unit.platform === 'linux' ? [systemctlFor(unit)(['daemon-reload'])] : [];
}

/** The command that reports the service's state. */
export function statusCommand(unit: UnitLocation, uid: number): ServiceCommand {
  if (unit.platform === 'linux') return { ...systemctlFor(unit)(['is-active', unit.serviceName]), mayFail: true };
  return { cmd: 'launchctl', args: ['print', `${launchdDomain(unit, uid)}/${unit.serviceName}`], mayFail: true };
}

/**
 * Writes the unit or plist (temp file + rename, so a crash leaves the old file or the
 * new one), then loads, enables and starts it.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` when a server's data folder does not exist;
 *   `FOS_ERR_CLI_ABORTED` when the file cannot be written or a command fails.
 */
export async function installService(unit: RenderedUnit, deps: ServiceDeps): Promise<void> {
  if (unit.kind === 'server' && unit.data !== undefined) await requireFolder(unit.data);
  if (unit.logDir !== undefined) await makeFolder(unit.logDir);
  await makeFolder(dirname(unit.installPath));
  await writeAtomic(unit.installPath, unit.contents);
  for (const command of installCommands(unit, deps.uid)) await runChecked(deps.run, command);
}

/**
 * Stops, disables and removes a service. Removing one that is not installed is not an error.
 * @returns whether a file was removed.
 * @throws FosError `FOS_ERR_CLI_ABORTED` when the file cannot be removed or a command fails.
 */
export async function uninstallService(unit: UnitLocation, deps: ServiceDeps): Promise<boolean> {
  const installed = await exists(unit.installPath);
  for (const command of stopCommands(unit, deps.uid)) await runChecked(deps.run, command);
  if (installed) {
    try {
      await rm(unit.installPath, { force: true });
    } catch (err) {
      throw writeError('remove', unit.installPath, err);
    }
  }
  for (const command of cleanupCommands(unit)) await runChecked(deps.run, command);
  return installed;
}

/**
 * Asks the service manager for the service's state.
 * @throws FosError `FOS_ERR_CLI_ABORTED` when systemctl or launchctl cannot be run, or
 *   systemctl reaches no service manager (no user session, no systemd as PID 1).
 */
export async function serviceStatus(unit: UnitLocation, deps: ServiceDeps): Promise<ServiceStatus> {
  const installed = await exists(unit.installPath);
  const command = statusCommand(unit, deps.uid);
  const result = await deps.run(command.cmd, command.args);
  if (unit.platform === 'linux' && result.code !== 0 && result.stdout.trim() === '') {
    // is-active prints a state even for unknown units; nothing at all means no manager answered.
    throw new FosError('FOS_ERR_CLI_ABORTED', `${formatCommand(command)} failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
  }
  const state = unit.platform === 'linux' ? systemdState(result) : launchdState(result);
  const running = unit.platform === 'linux' ? state === 'active' : state === 'running';
  return Object.freeze({ serviceName: unit.serviceName, installPath: unit.installPath, installed, state, running });
}

/** The real runner: node:child_process execFile, no shell, one minute at most. */
export const runCommand: CommandRunner = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, [...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve({ code: 0, stdout, stderr });
        return;
      }
      const exitCode = (err as { code?: unknown }).code;
      if (typeof exitCode === 'number') {
        resolve({ code: exitCode, stdout, stderr });
        return;
      }
      const what = errnoCode(err) === 'ENOENT' ? `${cmd} is not installed or not on PATH` : `cannot run ${cmd}: ${err.message}`;
      reject(new FosError('FOS_ERR_CLI_ABORTED', what, { cause: err }));
    });
  });

/** A command as one shell-like line, for `--print` and error messages. */
export function formatCommand(command: ServiceCommand): string {
  return [command.cmd, ...command.args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function systemctlFor(unit: UnitLocation): (args: readonly string[]) => ServiceCommand {
  const scope = unit.kind === 'agent' ? ['--user'] : [];
  return (args) => ({ cmd: 'systemctl', args: [...scope, ...args], mayFail: false });
}

function launchdDomain(unit: UnitLocation, uid: number): string {
  return unit.kind === 'agent' ? `gui/${uid}` : 'system';
}

function systemdState(result: CommandResult): string {
  const state = result.stdout.trim().split('\n')[0]?.trim() ?? '';
  return state === '' ? 'unknown' : state;
}

function launchdState(result: CommandResult): string {
  if (result.code !== 0) return 'not-loaded';
  return /^\s*state = (\S+)/m.exec(result.stdout)?.[1] ?? 'unknown';
}

async function runChecked(run: CommandRunner, command: ServiceCommand): Promise<CommandResult> {
  const result = await run(command.cmd, command.args);
  if (result.code !== 0 && !command.mayFail) {
    const detail = result.stderr.trim() || result.stdout.trim();
    throw new FosError(
      'FOS_ERR_CLI_ABORTED',
      `${formatCommand(command)} failed with exit code ${result.code}${detail === '' ? '' : `: ${detail}`}`,
      { details: { exitCode: result.code } },
    );
  }
  return result;
}

async function writeAtomic(path: string, contents: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(contents, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => {
      // The temp file may never have been created; the write error below is what matters.
    });
    throw writeError('write', path, err);
  }
}

async function makeFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw writeError('create', path, err);
  }
}

async function requireFolder(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory() !== true) {
    throw new FosError(
      'FOS_ERR_CONFIG_MISSING',
      `the data folder ${path} does not exist: create it, owned by the service account (docs/operations.md), or pass --data`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function writeError(verb: string, path: string, err: unknown): FosError {
  const code = errnoCode(err);
  const hint = code === 'EACCES' || code === 'EPERM' ? ' (a system service needs root: run it with sudo)' : '';
  return new FosError('FOS_ERR_CLI_ABORTED', `cannot ${verb} ${path}: ${code ?? String(err)}${hint}`, { cause: err });
}
