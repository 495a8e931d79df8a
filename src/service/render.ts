/**
 * Fills the systemd unit and launchd plist templates (systemd/, launchd/) for one
 * service: where it goes and what it says. Pure: no fs, no environment.
 */
import { posix } from 'node:path';
import { FosError } from '../errors.js';

/** Which program the service runs. */
export type ServiceKind = 'agent' | 'server';

/** Which service manager the file is for: systemd on linux, launchd on darwin. */
export type ServicePlatform = 'linux' | 'darwin';

/** The platforms `fos service` writes files for. */
export const SERVICE_PLATFORMS: readonly ServicePlatform[] = ['linux', 'darwin'];

/** What names and places one service: enough to stop, remove or query it. */
export interface LocateOptions {
  readonly kind: ServiceKind;
  readonly platform: ServicePlatform;
  /** The home folder of the user who runs the agent (absolute). */
  readonly home: string;
  /** `$XDG_CONFIG_HOME` when set: user units then live under it instead of `~/.config`. */
  readonly configHome?: string;
  /** Instance name, for several agents (or servers) on one machine: `fos-agent-NAME`. */
  readonly name?: string;
}

/** Everything a template needs. Paths are absolute. */
export interface RenderOptions extends LocateOptions {
  /** The node binary, normally `process.execPath`. */
  readonly node: string;
  /** The `bin/fos.js` of this installation. */
  readonly fos: string;
  /** The config file the service runs with. */
  readonly config: string;
  /** The template text (systemd/ or launchd/, see {@link templateFile}). */
  readonly template: string;
  /** Server only: the data folder (default /var/lib/fos, /usr/local/var/fos on darwin). */
  readonly data?: string;
  /** Server only: the account it runs as (default `fos`). */
  readonly user?: string;
  /** Server only: its group (default the user's name on linux, `staff` on darwin). */
  readonly group?: string;
  /** Server on linux only: grant CAP_NET_BIND_SERVICE, to listen on a port below 1024. */
  readonly privilegedPort?: boolean;
}

/** Where a service's file lives and what the service manager calls it. */
export interface UnitLocation {
  readonly kind: ServiceKind;
  readonly platform: ServicePlatform;
  /** The systemd unit name (`fos-agent.service`) or the launchd label (`com.fos.agent`). */
  readonly serviceName: string;
  readonly fileName: string;
  readonly installPath: string;
  /** darwin: the folder of StandardOutPath and StandardErrorPath, created on install. */
  readonly logDir?: string;
  /** Server: the data folder the service may write to. */
  readonly data?: string;
}

/** A filled template and where it goes. */
export interface RenderedUnit extends UnitLocation {
  readonly contents: string;
}

/** The capability a server on a port below 1024 needs. */
export const BIND_CAPABILITY = 'CAP_NET_BIND_SERVICE';

const DEFAULT_SERVER_USER = 'fos';
const DEFAULT_DATA: Record<ServicePlatform, string> = { linux: '/var/lib/fos', darwin: '/usr/local/var/fos' };
const SERVER_LOG_DIR = '/Library/Logs/fos';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ACCOUNT_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const PLACEHOLDER = /@([A-Z_]+)@/g;

/** The template's path inside the package, e.g. `systemd/fos-agent.service`. */
export function templateFile(kind: ServiceKind, platform: ServicePlatform): string {
  return platform === 'linux' ? `systemd/fos-${kind}.service` : `launchd/com.fos.${kind}.plist`;
}

/**
 * Names and places a service without rendering it (uninstall and status need no config).
 * @throws FosError `FOS_ERR_CLI_USAGE` for a relative or unsafe path or a bad name.
 */
export function locateUnit(options: LocateOptions & { readonly data?: string }): UnitLocation {
  const { kind, platform } = options;
  const home = checkPath('home folder', options.home);
  const suffix = options.name === undefined ? '' : checkName(options.name);
  const data = kind === 'server' ? checkPath('data folder', options.data ?? DEFAULT_DATA[platform]) : undefined;
  const withData = data === undefined ? {} : { data };
  if (platform === 'linux') {
    const fileName = `fos-${kind}${suffix === '' ? '' : `-${suffix}`}.service`;
    const dir =
      kind === 'server'
        ? '/etc/systemd/system'
        : posix.join(options.configHome === undefined ? posix.join(home, '.config') : checkPath('XDG_CONFIG_HOME', options.configHome), 'systemd/user');
    return Object.freeze({ kind, platform, serviceName: fileName, fileName, installPath: posix.join(dir, fileName), ...withData });
  }
  const label = `com.fos.${kind}${suffix === '' ? '' : `.${suffix}`}`;
  const fileName = `${label}.plist`;
  const dir = kind === 'server' ? '/Library/LaunchDaemons' : posix.join(home, 'Library/LaunchAgents');
  const logDir = kind === 'server' ? SERVER_LOG_DIR : posix.join(home, 'Library/Logs/fos');
  return Object.freeze({ kind, platform, serviceName: label, fileName, installPath: posix.join(dir, fileName), logDir, ...withData });
}

/**
 * Fills a template for one service.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a relative or unsafe path, a bad name or
 *   account, or an option that does not apply to this kind or platform;
 *   `FOS_ERR_CONFIG_INVALID` when the template holds a placeholder this code does not know.
 */
export function renderUnit(options: RenderOptions): RenderedUnit {
  checkApplicable(options);
  const location = locateUnit(options);
  const user = options.user ?? DEFAULT_SERVER_USER;
  const values: Record<string, string> = {
    NODE: checkPath('node binary', options.node),
    FOS: checkPath('fos entry point', options.fos),
    CONFIG: checkPath('config file', options.config),
    HOME: checkPath('home folder', options.home),
    LABEL: location.serviceName,
    LOG_DIR: location.logDir ?? '',
    DATA: location.data ?? '',
    USER: checkAccount('user', user),
    GROUP: checkAccount('group', options.group ?? (options.platform === 'darwin' ? 'staff' : user)),
    CAPABILITIES: options.privilegedPort === true ? BIND_CAPABILITY : '',
  };
  const contents = options.platform === 'linux' ? fillUnit(options.template, values) : fillPlist(options.template, values);
  return Object.freeze({ ...location, contents });
}

function checkApplicable(options: RenderOptions): void {
  if (options.kind === 'agent') {
    const serverOnly = [
      ['--data', options.data],
      ['--run-as', options.user ?? options.group],
      ['--privileged-port', options.privilegedPort],
    ] as const;
    for (const [flag, value] of serverOnly) {
      if (value !== undefined) throw usage(`${flag} applies to --server only`);
    }
  }
  if (options.platform === 'darwin' && options.privilegedPort === true) {
    throw usage('--privileged-port applies to linux only: macOS lets any account listen on ports below 1024');
  }
}

/**
 * systemd: each `Key=value` line is escaped for its key. Specifiers (`%`) are doubled
 * everywhere; ExecStart also doubles `$` (environment expansion) and quotes words with
 * spaces; ReadWritePaths quotes too; WorkingDirectory takes the path as it is.
 */
function fillUnit(template: string, values: Readonly<Record<string, string>>): string {
  return template
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || line.startsWith(';')) return fill(line, values, (v) => v);
      const key = /^([A-Za-z]+)=/.exec(line)?.[1];
      if (key === 'ExecStart') return fill(line, values, (v) => quoteWord(v.replaceAll('%', '%%').replaceAll('$', '$$$$')));
      if (key === 'ReadWritePaths') return fill(line, values, (v) => quoteWord(v.replaceAll('%', '%%')));
      return fill(line, values, (v) => v.replaceAll('%', '%%'));
    })
    .join('\n');
}

/** launchd: values are XML text inside `<string>`. */
function fillPlist(template: string, values: Readonly<Record<string, string>>): string {
  return fill(template, values, (v) => v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
}

function fill(text: string, values: Readonly<Record<string, string>>, escape: (value: string) => string): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `service template has an unknown placeholder ${whole}`);
    }
    return value === '' ? '' : escape(value);
  });
}

function quoteWord(value: string): string {
  return /[\s;]/.test(value) ? `"${value}"` : value;
}

/**
 * Paths go into unit files and plists verbatim; quotes, backslashes and control
 * characters would need escapes that systemd and launchd read differently, so they
 * are refused rather than mangled.
 */
function checkPath(what: string, value: string): string {
  if (!posix.isAbsolute(value)) throw usage(`the ${what} must be an absolute path: ${JSON.stringify(value)}`);
  if (/["'\\\u0000-\u001f\u007f]/.test(value)) {
    throw usage(`the ${what} holds a quote, backslash or control character: ${JSON.stringify(value)}`);
  }
  return posix.normalize(value);
}

function checkName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw usage(`bad service name ${JSON.stringify(name)}: use letters, digits, - and _`);
  return name;
}

function checkAccount(what: string, value: string): string {
  if (!ACCOUNT_PATTERN.test(value)) throw usage(`bad ${what} name ${JSON.stringify(value)}`);
  return value;
}

function usage(message: string): FosError {
  return new FosError('FOS_ERR_CLI_USAGE', message);
}
