import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIND_CAPABILITY, locateUnit, renderUnit, templateFile } from './render.js';
import type { RenderOptions, ServiceKind, ServicePlatform } from './render.js';
import { findPackageRoot, fosEntryPoint } from './templates.js';

const root = findPackageRoot();

function template(kind: ServiceKind, platform: ServicePlatform): string {
  return readFileSync(join(root, templateFile(kind, platform)), 'utf8');
}

function options(kind: ServiceKind, platform: ServicePlatform, extra: Partial<RenderOptions> = {}): RenderOptions {
  return {
    kind,
    platform,
    node: '/opt/node/bin/node',
    fos: '/opt/fos/bin/fos.js',
    config: '/home/ann/.config/fos/agent.json',
    home: '/home/ann',
    template: template(kind, platform),
    ...extra,
  };
}

function directive(contents: string, key: string): string[] {
  return contents
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

describe('templates', () => {
  it('finds the package root and bin/fos.js', () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))).toMatchObject({ name: 'fos' });
    expect(fosEntryPoint(root)).toBe(join(root, 'bin', 'fos.js'));
  });
});

describe('locateUnit', () => {
  it('puts each kind where its service manager looks', () => {
    expect(locateUnit({ kind: 'agent', platform: 'linux', home: '/home/ann' })).toMatchObject({
      serviceName: 'fos-agent.service',
      installPath: '/home/ann/.config/systemd/user/fos-agent.service',
    });
    expect(locateUnit({ kind: 'agent', platform: 'linux', home: '/home/ann', configHome: '/xdg', name: 'work' })).toMatchObject({
      serviceName: 'fos-agent-work.service',
      installPath: '/xdg/systemd/user/fos-agent-work.service',
    });
    expect(locateUnit({ kind: 'server', platform: 'linux', home: '/root' })).toMatchObject({
      serviceName: 'fos-server.service',
      installPath: '/etc/systemd/system/fos-server.service',
      data: '/var/lib/fos',
    });
    expect(locateUnit({ kind: 'agent', platform: 'darwin', home: '/Users/ann', name: 'work' })).toMatchObject({
      serviceName: 'com.fos.agent.work',
      installPath: '/Users/ann/Library/LaunchAgents/com.fos.agent.work.plist',
      logDir: '/Users/ann/Library/Logs/fos',
    });
    expect(locateUnit({ kind: 'server', platform: 'darwin', home: '/var/root' })).toMatchObject({
      serviceName: 'com.fos.server',
      installPath: '/Library/LaunchDaemons/com.fos.server.plist',
      logDir: '/Library/Logs/fos',
      data: '/usr/local/var/fos',
    });
  });

  it.each(['', 'a b', '../x', 'x/y', 'a@b', '-x'])('refuses the name %j', (name) => {
    expect(() => locateUnit({ kind: 'agent', platform: 'linux', home: '/h', name })).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }),
    );
  });
});

describe('renderUnit', () => {
  it('fills the agent user unit', () => {
    const unit = renderUnit(options('agent', 'linux'));
    expect(directive(unit.contents, 'ExecStart')).toEqual([
      '/opt/node/bin/node /opt/fos/bin/fos.js agent --config /home/ann/.config/fos/agent.json',
    ]);
    expect(directive(unit.contents, 'Restart')).toEqual(['on-failure']);
    expect(directive(unit.contents, 'RestartSec')).toEqual(['2']);
    expect(directive(unit.contents, 'WorkingDirectory')).toEqual(['%h']);
    expect(directive(unit.contents, 'WantedBy')).toEqual(['default.target']);
    expect(unit.contents).not.toMatch(/@[A-Z_]+@/);
  });

  it('fills the hardened server unit with no capabilities by default', () => {
    const unit = renderUnit(options('server', 'linux', { config: '/etc/fos/server.json', data: '/srv/fos' }));
    expect(directive(unit.contents, 'ExecStart')).toEqual(['/opt/node/bin/node /opt/fos/bin/fos.js server --config /etc/fos/server.json']);
    expect(directive(unit.contents, 'User')).toEqual(['fos']);
    expect(directive(unit.contents, 'Group')).toEqual(['fos']);
    expect(directive(unit.contents, 'ReadWritePaths')).toEqual(['/srv/fos']);
    expect(directive(unit.contents, 'WorkingDirectory')).toEqual(['/srv/fos']);
    expect(directive(unit.contents, 'ProtectSystem')).toEqual(['strict']);
    expect(directive(unit.contents, 'NoNewPrivileges')).toEqual(['yes']);
    expect(directive(unit.contents, 'TimeoutStopSec')).toEqual(['15']);
    expect(directive(unit.contents, 'KillSignal')).toEqual(['SIGTERM']);
    expect(directive(unit.contents, 'RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX']);
    expect(directive(unit.contents, 'CapabilityBoundingSet')).toEqual(['']);
    expect(directive(unit.contents, 'AmbientCapabilities')).toEqual(['']);
    expect(directive(unit.contents, 'MemoryDenyWriteExecute')).toEqual([]);
    expect(unit.contents).not.toMatch(/@[A-Z_]+@/);
  });

  it('grants CAP_NET_BIND_SERVICE only with privilegedPort, and takes the account', () => {
    const unit = renderUnit(options('server', 'linux', { privilegedPort: true, user: 'files', group: 'storage' }));
    expect(directive(unit.contents, 'CapabilityBoundingSet')).toEqual([BIND_CAPABILITY]);
    expect(directive(unit.contents, 'AmbientCapabilities')).toEqual([BIND_CAPABILITY]);
    expect(directive(unit.contents, 'User')).toEqual(['files']);
    expect(directive(unit.contents, 'Group')).toEqual(['storage']);
  });

  it('escapes systemd specifiers, variables and spaces', () => {
    const unit = renderUnit(
      options('server', 'linux', { fos: '/opt/my fos/bin/fos.js', config: '/etc/fos/100%$HOME.json', data: '/srv/fos data' }),
    );
    expect(directive(unit.contents, 'ExecStart')).toEqual([
      '/opt/node/bin/node "/opt/my fos/bin/fos.js" server --config /etc/fos/100%%$$HOME.json',
    ]);
    expect(directive(unit.contents, 'ReadWritePaths')).toEqual(['"/srv/fos data"']);
    expect(directive(unit.contents, 'WorkingDirectory')).toEqual(['/srv/fos data']);
  });

  it('fills the LaunchAgent with XML-escaped paths', () => {
    const unit = renderUnit(options('agent', 'darwin', { home: '/Users/ann', config: '/Users/ann/R&D <fos>.json' }));
    expect(unit.contents).toContain('<string>/Users/ann/R&amp;D &lt;fos&gt;.json</string>');
    expect(unit.contents).toContain('<string>com.fos.agent</string>');
    expect(unit.contents).toContain('<string>/Users/ann/Library/Logs/fos/com.fos.agent.log</string>');
    expect(unit.contents).not.toMatch(/@[A-Z_]+@/);
  });

  it('runs the LaunchDaemon as the given account with staff as default group', () => {
    const unit = renderUnit(options('server', 'darwin', { user: '_fos' }));
    expect(unit.contents).toMatch(/<key>UserName<\/key>\s*<string>_fos<\/string>/);
    expect(unit.contents).toMatch(/<key>GroupName<\/key>\s*<string>staff<\/string>/);
    expect(unit.contents).toMatch(/<key>WorkingDirectory<\/key>\s*<string>\/usr\/local\/var\/fos<\/string>/);
  });

  it.each([
    ['a relative config', { config: 'agent.json' }],
    ['a quote in a path', { node: '/opt/no"de' }],
    ['a newline in a path', { config: '/etc/fos\n.json' }],
    ['--data for the agent', { data: '/srv/fos' }],
    ['--run-as for the agent', { user: 'fos' }],
    ['--privileged-port for the agent', { privilegedPort: true }],
  ] as const)('refuses %s with FOS_ERR_CLI_USAGE', (_what, extra) => {
    expect(() => renderUnit(options('agent', 'linux', extra))).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
  });

  it('refuses --privileged-port on darwin and a bad account name', () => {
    expect(() => renderUnit(options('server', 'darwin', { privilegedPort: true }))).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }),
    );
    expect(() => renderUnit(options('server', 'linux', { user: 'root; rm' }))).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }),
    );
  });

  it('refuses a template with an unknown placeholder', () => {
    expect(() => renderUnit(options('agent', 'linux', { template: 'ExecStart=@NOPE@\n' }))).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }),
    );
  });
});
