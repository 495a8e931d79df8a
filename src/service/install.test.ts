import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCommand, installService, runCommand, serviceStatus, uninstallService } from './install.js';
import type { CommandResult, CommandRunner } from './install.js';
import type { RenderedUnit, ServiceKind, ServicePlatform } from './render.js';

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-install-'));
});

afterEach(async () => {
  await chmod(dir, 0o700);
  await rm(dir, { recursive: true, force: true });
});

interface FakeRunner {
  readonly run: CommandRunner;
  readonly calls: string[];
}

/** Records every call; answers from `replies` by the command line, exit 0 otherwise. */
function fakeRunner(replies: Record<string, Partial<CommandResult>> = {}): FakeRunner {
  const calls: string[] = [];
  return {
    calls,
    run: async (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      return { code: 0, stdout: '', stderr: '', ...replies[line] };
    },
  };
}

function unit(kind: ServiceKind, platform: ServicePlatform, name: string): RenderedUnit {
  return {
    kind,
    platform,
    serviceName: name,
    fileName: platform === 'linux' ? name : `${name}.plist`,
    installPath: join(dir, 'units', platform === 'linux' ? name : `${name}.plist`),
    contents: `contents of ${name}\n`,
    ...(platform === 'darwin' ? { logDir: join(dir, 'logs') } : {}),
    ...(kind === 'server' ? { data: dir } : {}),
  };
}

describe('installService', () => {
  it('linux agent: writes the unit, reloads, enables and restarts in the user manager', async () => {
    const runner = fakeRunner();
    const agent = unit('agent', 'linux', 'fos-agent.service');
    await installService(agent, { run: runner.run, uid: 1000 });
    expect(await readFile(agent.installPath, 'utf8')).toBe(agent.contents);
    expect(await readdir(join(dir, 'units'))).toEqual(['fos-agent.service']);
    expect(runner.calls).toEqual([
      'systemctl --user daemon-reload',
      'systemctl --user enable fos-agent.service',
      'systemctl --user restart fos-agent.service',
    ]);
  });

  it('linux server: uses the system manager', async () => {
    const runner = fakeRunner();
    await installService(unit('server', 'linux', 'fos-server.service'), { run: runner.run, uid: 0 });
    expect(runner.calls).toEqual([
      'systemctl daemon-reload',
      'systemctl enable fos-server.service',
      'systemctl restart fos-server.service',
    ]);
  });

  it('darwin agent: boots out an old copy, then enables and bootstraps in gui/<uid>', async () => {
    const runner = fakeRunner({ 'launchctl bootout gui/501/com.fos.agent': { code: 3, stderr: 'No such process' } });
    const agent = unit('agent', 'darwin', 'com.fos.agent');
    await installService(agent, { run: runner.run, uid: 501 });
    expect(existsSync(join(dir, 'logs'))).toBe(true);
    expect(runner.calls).toEqual([
      'launchctl bootout gui/501/com.fos.agent',
      'launchctl enable gui/501/com.fos.agent',
      `launchctl bootstrap gui/501 ${agent.installPath}`,
    ]);
  });

  it('darwin server: uses the system domain', async () => {
    const runner = fakeRunner();
    const server = unit('server', 'darwin', 'com.fos.server');
    await installService(server, { run: runner.run, uid: 0 });
    expect(runner.calls).toEqual([
      'launchctl bootout system/com.fos.server',
      'launchctl enable system/com.fos.server',
      `launchctl bootstrap system ${server.installPath}`,
    ]);
  });

  it('replaces an existing unit in one rename and leaves no temp file', async () => {
    const runner = fakeRunner();
    const first = unit('agent', 'linux', 'fos-agent.service');
    await installService(first, { run: runner.run, uid: 1000 });
    await installService({ ...first, contents: 'second\n' }, { run: runner.run, uid: 1000 });
    expect(await readFile(first.installPath, 'utf8')).toBe('second\n');
    expect(await readdir(join(dir, 'units'))).toEqual(['fos-agent.service']);
  });

  it('fails with FOS_ERR_CLI_ABORTED and the stderr when a command fails', async () => {
    const runner = fakeRunner({
      'systemctl --user enable fos-agent.service': { code: 1, stderr: 'Failed to connect to bus' },
    });
    await expect(installService(unit('agent', 'linux', 'fos-agent.service'), { run: runner.run, uid: 1 })).rejects.toMatchObject({
      code: 'FOS_ERR_CLI_ABORTED',
      message: expect.stringContaining('Failed to connect to bus'),
    });
    expect(runner.calls).toHaveLength(2);
  });

  it('refuses a server whose data folder is missing, before writing anything', async () => {
    const runner = fakeRunner();
    const server = { ...unit('server', 'linux', 'fos-server.service'), data: join(dir, 'missing') };
    await expect(installService(server, { run: runner.run, uid: 0 })).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_MISSING' });
    expect(existsSync(server.installPath)).toBe(false);
    expect(runner.calls).toEqual([]);
  });

  it('fails with FOS_ERR_CLI_ABORTED when the folder cannot be made', async () => {
    await writeFile(join(dir, 'units'), 'a file where the folder should be');
    const runner = fakeRunner();
    await expect(installService(unit('agent', 'linux', 'fos-agent.service'), { run: runner.run, uid: 1 })).rejects.toMatchObject({
      code: 'FOS_ERR_CLI_ABORTED',
      message: expect.stringContaining(join(dir, 'units')),
    });
    expect(runner.calls).toEqual([]);
  });

  // root may write anywhere, so the permission error only shows for other users.
  it.skipIf(process.getuid?.() === 0)('explains a permission error', async () => {
    await chmod(dir, 0o500);
    const agent = { ...unit('agent', 'linux', 'fos-agent.service'), installPath: join(dir, 'fos-agent.service') };
    await expect(installService(agent, { run: fakeRunner().run, uid: 1 })).rejects.toMatchObject({
      code: 'FOS_ERR_CLI_ABORTED',
      message: expect.stringContaining('sudo'),
    });
  });
});

describe('uninstallService', () => {
  it('linux: disables and stops, removes the file, reloads', async () => {
    const runner = fakeRunner();
    const agent = unit('agent', 'linux', 'fos-agent.service');
    await installService(agent, { run: runner.run, uid: 1000 });
    runner.calls.length = 0;
    expect(await uninstallService(agent, { run: runner.run, uid: 1000 })).toBe(true);
    expect(existsSync(agent.installPath)).toBe(false);
    expect(runner.calls).toEqual(['systemctl --user disable --now fos-agent.service', 'systemctl --user daemon-reload']);
  });

  it('is not an error when nothing is installed', async () => {
    const runner = fakeRunner({ 'launchctl bootout system/com.fos.server': { code: 113, stderr: 'Could not find service' } });
    expect(await uninstallService(unit('server', 'darwin', 'com.fos.server'), { run: runner.run, uid: 0 })).toBe(false);
    expect(runner.calls).toEqual(['launchctl bootout system/com.fos.server']);
  });
});

describe('serviceStatus', () => {
  it('linux: reads systemctl is-active, whatever its exit code', async () => {
    const agent = unit('agent', 'linux', 'fos-agent.service');
    const active = fakeRunner({ 'systemctl --user is-active fos-agent.service': { stdout: 'active\n' } });
    expect(await serviceStatus(agent, { run: active.run, uid: 1 })).toMatchObject({ installed: false, state: 'active', running: true });
    const failed = fakeRunner({ 'systemctl --user is-active fos-agent.service': { code: 3, stdout: 'failed\n' } });
    expect(await serviceStatus(agent, { run: failed.run, uid: 1 })).toMatchObject({ state: 'failed', running: false });
  });

  it('linux: fails with FOS_ERR_CLI_ABORTED when no service manager answers', async () => {
    const agent = unit('agent', 'linux', 'fos-agent.service');
    const noBus = fakeRunner({ 'systemctl --user is-active fos-agent.service': { code: 1, stderr: 'Failed to connect to bus: No medium found\n' } });
    await expect(serviceStatus(agent, { run: noBus.run, uid: 1 })).rejects.toMatchObject({
      code: 'FOS_ERR_CLI_ABORTED',
      message: expect.stringContaining('Failed to connect to bus'),
    });
  });

  it('darwin: reads the state from launchctl print, not-loaded when it fails', async () => {
    const agent = unit('agent', 'darwin', 'com.fos.agent');
    const running = fakeRunner({
      'launchctl print gui/501/com.fos.agent': { stdout: 'gui/501/com.fos.agent = {\n\tactive count = 1\n\tstate = running\n}\n' },
    });
    expect(await serviceStatus(agent, { run: running.run, uid: 501 })).toMatchObject({ state: 'running', running: true });
    const absent = fakeRunner({ 'launchctl print gui/501/com.fos.agent': { code: 113 } });
    expect(await serviceStatus(agent, { run: absent.run, uid: 501 })).toMatchObject({ state: 'not-loaded', running: false });
  });
});

describe('runCommand', () => {
  it('resolves with the exit code and output instead of throwing', async () => {
    const result = await runCommand(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)']);
    expect(result).toEqual({ code: 3, stdout: 'out', stderr: 'err' });
  });

  it('throws FOS_ERR_CLI_ABORTED for a program that does not exist', async () => {
    await expect(runCommand(join(dir, 'no-such-program'), [])).rejects.toMatchObject({ code: 'FOS_ERR_CLI_ABORTED' });
  });
});

describe('formatCommand', () => {
  it('quotes words a shell would split', () => {
    expect(formatCommand({ cmd: 'launchctl', args: ['bootstrap', 'gui/501', "/Users/a b/it's.plist"], mayFail: false })).toBe(
      `launchctl bootstrap gui/501 '/Users/a b/it'\\''s.plist'`,
    );
  });
});
