/**
 * `fos service install|uninstall|status`: runs the agent or the server as a systemd or
 * launchd service. Parses flags, calls src/service/, prints.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import {
  cleanupCommands,
  formatCommand,
  installCommands,
  installService,
  runCommand,
  serviceStatus,
  stopCommands,
  uninstallService,
} from '../service/install.js';
import type { CommandRunner } from '../service/install.js';
import { SERVICE_PLATFORMS, locateUnit, renderUnit } from '../service/render.js';
import type { LocateOptions, ServiceKind, ServicePlatform } from '../service/render.js';
import { findPackageRoot, fosEntryPoint, readTemplate } from '../service/templates.js';
import type { CliIo } from './main.js';

/** What `fos service` takes from the machine; tests pass their own. */
export interface ServiceCliDeps {
  readonly run: CommandRunner;
  readonly uid: number;
  /** `process.platform`: the platform a real (not `--print`) install acts on. */
  readonly hostPlatform: NodeJS.Platform;
  readonly cwd: string;
  /** The node binary services run, normally `process.execPath`. */
  readonly node: string;
  /** The fos package folder; found from this file when absent. */
  readonly packageRoot?: string;
}

const EXAMPLES = `
Examples:
  fos service install --agent --config ~/.config/fos/agent.json
  fos service install --agent --config agent.json --print
  sudo fos service install --server --config /etc/fos/server.json --data /var/lib/fos
  sudo fos service install --server --config /etc/fos/server.json --privileged-port
  fos service install --agent --name work --config ~/.config/fos/work.json
  fos service install --agent --config agent.json --platform darwin --print
  fos service status --agent --json
  fos service uninstall --agent --name work
`;

interface Target {
  readonly kind: ServiceKind;
  readonly platform: ServicePlatform;
  readonly print: boolean;
  readonly locate: LocateOptions;
}

/** Adds `fos service` and its subcommands to the program. */
export function registerServiceCommand(program: Command, io: CliIo, deps: ServiceCliDeps = processDeps()): void {
  const service = program
    .command('service')
    .description('run the sync agent or the server as a systemd (linux) or launchd (macOS) service')
    .addHelpText('after', EXAMPLES);

  withTargetOptions(service.command('install'))
    .description('write the unit or plist for this node, this fos and a config, then enable and start it')
    .option('--config <file>', 'the config file the service runs with (required)')
    .option('--data <dir>', 'server: its data folder, the one place it may write (default /var/lib/fos)')
    .option('--run-as <user[:group]>', 'server: the account it runs as (default fos)')
    .option('--privileged-port', 'server on linux: allow a port below 1024 (grants CAP_NET_BIND_SERVICE)')
    .option('--print', 'print the file and the commands instead of installing; changes nothing')
    .addHelpText('after', EXAMPLES)
    .action(async (_opts: unknown, command: Command) => {
      const flags = command.opts<Record<string, unknown>>();
      const target = readTarget(flags, deps, io);
      const config = stringFlag(flags, 'config');
      if (config === undefined) throw usage('install needs --config FILE: the config the service runs with');
      const configPath = resolve(deps.cwd, config);
      if (!target.print && !existsSync(configPath)) {
        throw new FosError('FOS_ERR_CONFIG_MISSING', `config file ${configPath} does not exist`);
      }
      const data = stringFlag(flags, 'data');
      const account = splitAccount(stringFlag(flags, 'runAs'));
      const root = deps.packageRoot ?? findPackageRoot();
      const unit = renderUnit({
        ...target.locate,
        node: deps.node,
        fos: fosEntryPoint(root),
        config: configPath,
        template: await readTemplate(target.kind, target.platform, root),
        ...(data === undefined ? {} : { data: resolve(deps.cwd, data) }),
        ...account,
        ...(flags['privilegedPort'] === true ? { privilegedPort: true } : {}),
      });
      if (target.print) {
        io.stdout.write(unit.contents);
        io.stderr.write(`# would write ${unit.installPath}\n`);
        for (const step of installCommands(unit, deps.uid)) io.stderr.write(`# then run: ${formatCommand(step)}\n`);
        return;
      }
      await installService(unit, { run: deps.run, uid: deps.uid });
      io.stdout.write(`wrote ${unit.installPath}\nstarted ${unit.serviceName}\n`);
      io.stdout.write(`${logHint(unit.kind, unit.platform, unit.serviceName, unit.logDir)}\n`);
    });

  withTargetOptions(service.command('uninstall'))
    .description('stop and disable the service and remove its unit or plist')
    .option('--print', 'print the commands instead of running them; changes nothing')
    .addHelpText('after', EXAMPLES)
    .action(async (_opts: unknown, command: Command) => {
      const target = readTarget(command.opts<Record<string, unknown>>(), deps, io);
      const location = locateUnit(target.locate);
      if (target.print) {
        for (const step of stopCommands(location, deps.uid)) io.stdout.write(`${formatCommand(step)}\n`);
        io.stdout.write(`${formatCommand({ cmd: 'rm', args: ['-f', location.installPath], mayFail: false })}\n`);
        for (const step of cleanupCommands(location)) io.stdout.write(`${formatCommand(step)}\n`);
        return;
      }
      const removed = await uninstallService(location, { run: deps.run, uid: deps.uid });
      io.stdout.write(removed ? `removed ${location.installPath}\n` : `not installed: ${location.installPath}\n`);
    });

  withTargetOptions(service.command('status'))
    .description('show whether the service is installed and running')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', EXAMPLES)
    .action(async (_opts: unknown, command: Command) => {
      const flags = command.opts<Record<string, unknown>>();
      const target = readTarget(flags, deps, io);
      const status = await serviceStatus(locateUnit(target.locate), { run: deps.run, uid: deps.uid });
      if (flags['json'] === true) {
        io.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      const where = status.installed ? `installed at ${status.installPath}` : `not installed (${status.installPath})`;
      io.stdout.write(`${status.serviceName}: ${status.state}, ${where}\n`);
    });
}

function withTargetOptions(command: Command): Command {
  return command
    .option('--agent', 'the sync agent, as a user service (the default)')
    .option('--server', 'the file server, as a system service')
    .option('--name <name>', 'instance name, for several agents: fos-agent-NAME / com.fos.agent.NAME')
    .addOption(new Option('--platform <platform>', 'service manager to write for (default: this machine)').choices(SERVICE_PLATFORMS));
}

function readTarget(flags: Record<string, unknown>, deps: ServiceCliDeps, io: CliIo): Target {
  if (flags['agent'] === true && flags['server'] === true) throw usage('choose one of --agent and --server');
  const kind: ServiceKind = flags['server'] === true ? 'server' : 'agent';
  const print = flags['print'] === true;
  const host = hostPlatform(deps.hostPlatform);
  const asked = stringFlag(flags, 'platform');
  const platform: ServicePlatform | undefined = asked === 'linux' || asked === 'darwin' ? asked : host;
  if (platform === undefined) {
    throw usage(`fos services run on linux (systemd) and macOS (launchd), not ${deps.hostPlatform}; use --platform with --print`);
  }
  if (platform !== host && !print) {
    throw usage(`--platform ${platform} differs from this machine; add --print to see the file without installing`);
  }
  const name = stringFlag(flags, 'name');
  const configHome = nonEmpty(io.env['XDG_CONFIG_HOME']);
  const locate: LocateOptions = {
    kind,
    platform,
    home: nonEmpty(io.env['HOME']) ?? homedir(),
    ...(configHome === undefined || platform !== 'linux' ? {} : { configHome }),
    ...(name === undefined ? {} : { name }),
  };
  return { kind, platform, print, locate };
}

function hostPlatform(platform: NodeJS.Platform): ServicePlatform | undefined {
  return platform === 'linux' || platform === 'darwin' ? platform : undefined;
}

function splitAccount(value: string | undefined): { user?: string; group?: string } {
  if (value === undefined) return {};
  const [user = '', group, ...rest] = value.split(':');
  if (user === '' || group === '' || rest.length > 0) throw usage(`bad --run-as ${JSON.stringify(value)}: use USER or USER:GROUP`);
  return group === undefined ? { user } : { user, group };
}

function logHint(kind: ServiceKind, platform: ServicePlatform, serviceName: string, logDir: string | undefined): string {
  if (platform === 'darwin') return `logs: ${logDir ?? ''}/${serviceName}.log`;
  if (kind === 'server') return `logs: journalctl -u ${serviceName} -f`;
  return `logs: journalctl --user -u ${serviceName} -f (to keep it running after logout: loginctl enable-linger)`;
}

function stringFlag(flags: Record<string, unknown>, key: string): string | undefined {
  const value = flags[key];
  return typeof value === 'string' ? value : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function usage(message: string): FosError {
  return new FosError('FOS_ERR_CLI_USAGE', message);
}

function processDeps(): ServiceCliDeps {
  return {
    run: runCommand,
    uid: process.getuid?.() ?? 0,
    hostPlatform: process.platform,
    cwd: process.cwd(),
    node: process.execPath,
  };
}
