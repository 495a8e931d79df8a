/**
 * `fos service`: the files `install --print` writes for agent/server × linux/darwin are
 * valid for their service manager (issue 6, "Done when" 1), and the command's wiring.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, reportError } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/main.js';
import { registerServiceCommand } from '../src/cli/service.js';
import type { ServiceCliDeps } from '../src/cli/service.js';
import type { CommandRunner } from '../src/service/install.js';
import { findPackageRoot, fosEntryPoint } from '../src/service/templates.js';

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).error === undefined;
const hasPython = spawnSync('python3', ['--version']).error === undefined;
const fos = fosEntryPoint(findPackageRoot());

let dir = '';
let home = '';
let config = '';
let data = '';

beforeAll(async () => {
  // A space and a % in every path: the escaping must survive the real parsers.
  dir = await mkdtemp(join(tmpdir(), 'fos service 100%-'));
  home = join(dir, 'home');
  data = join(dir, 'data dir');
  config = join(dir, 'etc', 'fos.json');
  await mkdir(home, { recursive: true });
  await mkdir(data, { recursive: true });
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(config, '{}\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Captured {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

function capture(env: NodeJS.ProcessEnv): Captured {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _enc, done): void {
        append(chunk.toString());
        done();
      },
    });
  return {
    io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), stdin: new PassThrough(), env },
    stdout: () => out,
    stderr: () => err,
  };
}

/** Runs the real `fos` program in process. */
async function runFos(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cap = capture({ HOME: home });
  const code = await main(['node', 'fos', ...args], cap.io);
  return { code, stdout: cap.stdout(), stderr: cap.stderr() };
}

function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const result = spawnSync(cmd, [...args], { encoding: 'utf8', env: { ...process.env, ...options.env }, input: options.input });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `systemd-analyze verify` in the manager the unit is for. The user manager needs a
 * runtime directory, which a CI container has no session to provide, so the test makes one.
 */
async function verifyUnit(file: string, user: boolean): Promise<{ code: number; problems: string[] }> {
  const runtime = join(dir, 'runtime');
  await mkdir(runtime, { recursive: true, mode: 0o700 });
  const result = run('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], { env: { XDG_RUNTIME_DIR: runtime } });
  // verify also loads the units ours depends on; only lines about ours count.
  const problems = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.includes(basename(file)));
  return { code: result.code, problems };
}

function parsePlist(text: string): Record<string, unknown> {
  const script = 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))';
  const result = run('python3', ['-c', script], { input: text });
  if (result.code !== 0) throw new Error(`plistlib refused the plist: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** A path as a word in ExecStart=: specifiers doubled, quoted when it holds a space. */
function systemdWord(path: string): string {
  const escaped = path.replaceAll('%', '%%');
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

const SYSTEMD_SKIP = hasSystemdAnalyze ? '' : ' (skipped: systemd-analyze is not installed; apt-get install systemd)';
const PLIST_SKIP = !hasPython ? ' (skipped: python3 is not installed; apt-get install python3)' : '';

describe.each(['agent', 'server'] as const)('fos service install --%s --print', (kind) => {
  const args = (platform: string): string[] => [
    'service',
    'install',
    `--${kind}`,
    '--config',
    config,
    '--platform',
    platform,
    '--print',
    ...(kind === 'server' ? ['--data', data] : []),
  ];

  it.skipIf(!hasSystemdAnalyze)(`linux: passes systemd-analyze verify${SYSTEMD_SKIP}`, async () => {
    const printed = await runFos(args('linux'));
    expect(printed.stderr).not.toContain('FOS_ERR');
    expect(printed.code).toBe(0);
    const target = /^# would write (.+)$/m.exec(printed.stderr)?.[1];
    expect(target).toBe(kind === 'agent' ? join(home, '.config/systemd/user/fos-agent.service') : '/etc/systemd/system/fos-server.service');
    expect(printed.stdout).not.toMatch(/@[A-Z_]+@/);
    expect(printed.stdout).toContain(`ExecStart=${systemdWord(process.execPath)} ${systemdWord(fos)} ${kind} --config ${systemdWord(config)}`);
    if (kind === 'server') expect(printed.stdout).toContain(`ReadWritePaths=${systemdWord(data)}`);

    const file = join(dir, `${kind}-unit`, `fos-${kind}.service`);
    await mkdir(join(dir, `${kind}-unit`), { recursive: true });
    await writeFile(file, printed.stdout);
    expect(await verifyUnit(file, kind === 'agent')).toEqual({ code: 0, problems: [] });
  });

  it.skipIf(!hasPython)(`darwin: is a plist that parses, with the paths filled in${PLIST_SKIP}`, async () => {
    const printed = await runFos(args('darwin'));
    expect(printed.code).toBe(0);
    expect(printed.stdout).not.toMatch(/@[A-Z_]+@/);
    const plist = parsePlist(printed.stdout);
    const label = `com.fos.${kind}`;
    expect(plist['Label']).toBe(label);
    expect(plist['ProgramArguments']).toEqual([process.execPath, fos, kind, '--config', config]);
    expect(plist['RunAtLoad']).toBe(true);
    expect(plist['KeepAlive']).toEqual(kind === 'agent' ? { SuccessfulExit: false } : true);
    const logDir = kind === 'agent' ? join(home, 'Library/Logs/fos') : '/Library/Logs/fos';
    expect(plist['StandardOutPath']).toBe(`${logDir}/${label}.log`);
    expect(plist['StandardErrorPath']).toBe(`${logDir}/${label}.err.log`);
    if (kind === 'server') {
      expect(plist).toMatchObject({ UserName: 'fos', GroupName: 'staff', WorkingDirectory: data });
    } else {
      expect(plist['WorkingDirectory']).toBe(home);
    }
    expect(printed.stderr).toContain(
      kind === 'agent' ? `# then run: launchctl bootstrap gui/` : `# then run: launchctl bootstrap system /Library/LaunchDaemons/${label}.plist`,
    );
  });
});

describe('the checks themselves', () => {
  it.skipIf(!hasSystemdAnalyze)(`systemd-analyze verify rejects a unit with an unknown key or a missing binary${SYSTEMD_SKIP}`, async () => {
    const printed = await runFos(['service', 'install', '--agent', '--config', config, '--platform', 'linux', '--print']);
    await mkdir(join(dir, 'bad'), { recursive: true });
    const unknownKey = join(dir, 'bad', 'fos-agent.service');
    await writeFile(unknownKey, printed.stdout.replace('[Service]\n', '[Service]\nRestartNoSuchKey=1\n'));
    expect((await verifyUnit(unknownKey, true)).problems.join('\n')).toContain('RestartNoSuchKey');
    const missing = join(dir, 'bad', 'fos-agent-missing-node.service');
    await writeFile(missing, printed.stdout.replace(`ExecStart=${process.execPath}`, `ExecStart=${join(dir, 'no-node')}`));
    expect((await verifyUnit(missing, true)).code).not.toBe(0);
  });

  it.skipIf(!hasPython)(`plistlib rejects a broken plist${PLIST_SKIP}`, async () => {
    const printed = await runFos(['service', 'install', '--agent', '--config', config, '--platform', 'darwin', '--print']);
    expect(() => parsePlist(printed.stdout.replace('</dict>\n</plist>', '</plist>'))).toThrow(/plistlib refused/);
  });
});

describe('fos service: usage errors', () => {
  it.each([
    ['both --agent and --server', ['install', '--agent', '--server', '--config', 'CONFIG', '--print']],
    ['install without --config', ['install', '--agent', '--print']],
    ['another platform without --print', ['install', '--agent', '--config', 'CONFIG', '--platform', 'darwin']],
    ['--data for the agent', ['install', '--agent', '--config', 'CONFIG', '--data', '/srv', '--print']],
    ['a bad --run-as', ['install', '--server', '--config', 'CONFIG', '--run-as', 'a:b:c', '--print']],
  ])('%s exits 2 with FOS_ERR_CLI_USAGE', async (_what, args) => {
    const result = await runFos(['service', ...args.map((a) => (a === 'CONFIG' ? config : a))]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('FOS_ERR_CLI_USAGE');
    expect(result.stdout).toBe('');
  });

  it('an unknown platform is a commander usage error', async () => {
    const result = await runFos(['service', 'status', '--platform', 'windows']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('windows');
  });

  it('a missing config file is FOS_ERR_CONFIG_MISSING for a real install', async () => {
    const result = await runFos(['service', 'install', '--agent', '--config', join(dir, 'absent.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('FOS_ERR_CONFIG_MISSING');
  });

  it('help lists the examples', async () => {
    const result = await runFos(['service', 'install', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toContain('--print');
  });
});

describe('fos service with a recorded service manager', () => {
  function program(deps: ServiceCliDeps, cap: Captured): Command {
    const root = new Command('fos')
      .exitOverride()
      .configureOutput({ writeOut: (s) => cap.io.stdout.write(s), writeErr: (s) => cap.io.stderr.write(s) });
    registerServiceCommand(root, cap.io, deps);
    return root;
  }

  async function fosWith(runner: CommandRunner, args: readonly string[]): Promise<Captured & { code: number }> {
    const cap = capture({ HOME: home });
    const deps: ServiceCliDeps = { run: runner, uid: 1000, hostPlatform: 'linux', cwd: join(dir, 'etc'), node: process.execPath };
    let code = 0;
    try {
      await program(deps, cap).parseAsync(['node', 'fos', ...args]);
    } catch (err) {
      code = reportError(err, cap.io, false);
    }
    return { ...cap, code };
  }

  it('install, status, uninstall an agent end to end', async () => {
    const calls: string[] = [];
    let active = false;
    const runner: CommandRunner = async (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      if (line.endsWith('restart fos-agent-work.service')) active = true;
      if (line.endsWith('disable --now fos-agent-work.service')) active = false;
      if (line.endsWith('is-active fos-agent-work.service')) {
        return { code: active ? 0 : 3, stdout: active ? 'active\n' : 'inactive\n', stderr: '' };
      }
      return { code: 0, stdout: '', stderr: '' };
    };
    const unitPath = join(home, '.config/systemd/user/fos-agent-work.service');

    // --config is resolved against the working directory
    const installed = await fosWith(runner, ['service', 'install', '--agent', '--name', 'work', '--config', 'fos.json']);
    expect(installed.code).toBe(0);
    expect(installed.stdout()).toContain(`wrote ${unitPath}`);
    expect(await readFile(unitPath, 'utf8')).toContain(`--config ${systemdWord(config)}\n`);

    const status = await fosWith(runner, ['service', 'status', '--name', 'work', '--json']);
    expect(JSON.parse(status.stdout())).toEqual({
      serviceName: 'fos-agent-work.service',
      installPath: unitPath,
      installed: true,
      state: 'active',
      running: true,
    });

    const removed = await fosWith(runner, ['service', 'uninstall', '--agent', '--name', 'work']);
    expect(removed.stdout()).toBe(`removed ${unitPath}\n`);
    expect(existsSync(unitPath)).toBe(false);
    const after = await fosWith(runner, ['service', 'status', '--name', 'work']);
    expect(after.stdout()).toBe(`fos-agent-work.service: inactive, not installed (${unitPath})\n`);

    expect(calls).toEqual([
      'systemctl --user daemon-reload',
      'systemctl --user enable fos-agent-work.service',
      'systemctl --user restart fos-agent-work.service',
      'systemctl --user is-active fos-agent-work.service',
      'systemctl --user disable --now fos-agent-work.service',
      'systemctl --user daemon-reload',
      'systemctl --user is-active fos-agent-work.service',
    ]);
  });

  it('--print changes nothing and runs nothing', async () => {
    const calls: string[] = [];
    const runner: CommandRunner = async (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return { code: 0, stdout: '', stderr: '' };
    };
    const install = await fosWith(runner, ['service', 'install', '--agent', '--name', 'dry', '--config', 'fos.json', '--print']);
    expect(install.code).toBe(0);
    expect(install.stdout()).toContain('[Service]');
    const uninstall = await fosWith(runner, ['service', 'uninstall', '--agent', '--name', 'dry', '--print']);
    expect(uninstall.stdout()).toBe(
      [
        'systemctl --user disable --now fos-agent-dry.service',
        `rm -f '${join(home, '.config/systemd/user/fos-agent-dry.service')}'`,
        'systemctl --user daemon-reload',
        '',
      ].join('\n'),
    );
    expect(calls).toEqual([]);
    expect(existsSync(join(home, '.config/systemd/user/fos-agent-dry.service'))).toBe(false);
  });
});
