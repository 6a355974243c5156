import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { checkEnvironmentOverrides, perEnvironmentVariable } from './per-environment';

/** The host the single-engine settings (DOCKER_SOCKET, DOCKER_HOST) make, as the pool's only one. */
export const DEFAULT_DOCKER_HOST_NAME = 'local';
export const DOCKER_HOSTS_VARIABLE = 'DOCKER_HOSTS';
/** `DOCKER_HOST_<ENV>=<host>` pins an environment to a host of the pool. */
export const DOCKER_PIN_VARIABLE = 'DOCKER_HOST';
/** `DOCKER_TLS_DIR_<HOST>`: the folder with that host's ca.pem, cert.pem and key.pem. */
export const DOCKER_TLS_DIR_VARIABLE = 'DOCKER_TLS_DIR';
export const DOCKER_TLS_FILES = ['ca.pem', 'cert.pem', 'key.pem'] as const;
const HOST_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The files of a mutual-TLS connection (as `docker --tlsverify` uses them). */
export interface DockerTlsFiles {
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export type DockerConnection =
  | { readonly kind: 'socket'; readonly socketPath: string }
  | {
      readonly kind: 'tcp';
      readonly protocol: 'http' | 'https';
      readonly host: string;
      readonly port: number;
      /** Set for https: the engine's CA, and the client's certificate and key. */
      readonly tls?: DockerTlsFiles;
    }
  | {
      readonly kind: 'ssh';
      readonly host: string;
      readonly port: number;
      readonly username?: string;
      /** The ssh agent's socket (SSH_AUTH_SOCK) that holds the key. */
      readonly agentSocket?: string;
    };

/** One Docker engine of the pool. */
export interface DockerHostConfig {
  /** Its name in DOCKER_HOSTS, in statuses and in errors (`local` for the single-engine default). */
  readonly name: string;
  readonly connection: DockerConnection;
}

export interface DockerConfig {
  /** The deadline of each engine call. */
  readonly timeoutMs: number;
  /** The engines agents run on, in pool order (ties of free capacity go to the earlier). */
  readonly hosts: readonly DockerHostConfig[];
  /** Environments pinned to a host (DOCKER_HOST_<ENV>), by host name. */
  readonly pins: Readonly<Record<string, string>>;
}

interface DockerSettings {
  readonly timeoutMs: number;
  /** The single-engine settings, used when DOCKER_HOSTS is unset. */
  readonly socket: string;
  readonly dockerHost?: string;
}

/**
 * The pool of Docker engines: `DOCKER_HOSTS=<name>=<address>,…` (unix://, tcp://, http://,
 * https:// or ssh://), or, unset, the one engine of DOCKER_SOCKET / DOCKER_HOST named `local`.
 * Pins (`DOCKER_HOST_<ENV>`) and TLS folders (`DOCKER_TLS_DIR_<HOST>`) must name a host and an
 * environment that exist. Each problem is pushed to `problems`, naming the variable.
 */
export function parseDockerConfig(
  env: NodeJS.ProcessEnv,
  settings: DockerSettings,
  environments: readonly string[],
  problems: string[],
): DockerConfig {
  const list = env[DOCKER_HOSTS_VARIABLE]?.trim();
  let hosts: DockerHostConfig[];
  // Every name DOCKER_HOSTS gives, a host refused for its address included.
  const named = new Set<string>();
  if (list) {
    if (settings.dockerHost) {
      problems.push('DOCKER_HOST and DOCKER_HOSTS are both set; give the engines in DOCKER_HOSTS');
    }
    hosts = parseHostList(list, env, named, problems);
  } else {
    hosts = [{ name: DEFAULT_DOCKER_HOST_NAME, connection: singleConnection(settings) }];
    named.add(DEFAULT_DOCKER_HOST_NAME);
  }
  checkTlsDirs(env, named, problems);
  return {
    timeoutMs: settings.timeoutMs,
    hosts,
    pins: parsePins(env, hosts, environments, problems),
  };
}

function singleConnection(settings: DockerSettings): DockerConnection {
  if (!settings.dockerHost) return { kind: 'socket', socketPath: settings.socket };
  // DOCKER_HOST is checked by its own rule; no TLS here, as before the pool.
  return (
    parseAddress(settings.dockerHost, undefined) ?? { kind: 'socket', socketPath: settings.socket }
  );
}

function parseHostList(
  list: string,
  env: NodeJS.ProcessEnv,
  named: Set<string>,
  problems: string[],
): DockerHostConfig[] {
  const hosts: DockerHostConfig[] = [];
  for (const entry of list.split(',').map((part) => part.trim())) {
    const separator = entry.indexOf('=');
    const name = separator < 0 ? '' : entry.slice(0, separator).trim();
    const address = separator < 0 ? '' : entry.slice(separator + 1).trim();
    if (!HOST_NAME_PATTERN.test(name) || !address) {
      problems.push(
        `${DOCKER_HOSTS_VARIABLE}: "${entry}" is not <name>=<address> with a name matching ${HOST_NAME_PATTERN.source}`,
      );
      continue;
    }
    if (named.has(name)) {
      problems.push(`${DOCKER_HOSTS_VARIABLE} names the host "${name}" twice`);
      continue;
    }
    named.add(name);
    const tlsVariable = perEnvironmentVariable(DOCKER_TLS_DIR_VARIABLE, name);
    const tls = tlsFiles(env[tlsVariable]?.trim(), tlsVariable, problems);
    const connection = withSshAgent(parseAddress(address, tls), env.SSH_AUTH_SOCK);
    const refused = connection === null ? null : refusedConnection(connection, tlsVariable);
    if (connection === null || refused) {
      problems.push(
        `${DOCKER_HOSTS_VARIABLE}: host "${name}" ${refused ?? 'must be unix:///path, tcp://host:port, https://host:port or ssh://user@host'} (got "${address}")`,
      );
      continue;
    }
    hosts.push({ name, connection });
  }
  return hosts;
}

/** An address as in DOCKER_HOST; null when it is none of the forms. */
function parseAddress(address: string, tls: DockerTlsFiles | undefined): DockerConnection | null {
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    return socketPath.startsWith('/') ? { kind: 'socket', socketPath } : null;
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  if (!url.hostname || (url.pathname !== '' && url.pathname !== '/') || url.search) return null;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : undefined;
  switch (url.protocol) {
    case 'ssh:':
      return {
        kind: 'ssh',
        host,
        port: port ?? 22,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      if (url.username || url.password) return null;
      // TLS files given make the connection https (tcp:// is Docker's spelling of both).
      const protocol =
        url.protocol === 'https:' || (tls && url.protocol === 'tcp:') ? 'https' : 'http';
      return {
        kind: 'tcp',
        protocol,
        host,
        port: port ?? (protocol === 'https' ? 2376 : 2375),
        ...(tls ? { tls } : {}),
      };
    }
    default:
      return null;
  }
}

/** Why a parsed connection is not accepted, or null. */
function refusedConnection(connection: DockerConnection, tlsVariable: string): string | null {
  if (connection.kind !== 'tcp') return null;
  if (connection.protocol === 'https' && !connection.tls) {
    return `is https but ${tlsVariable} is not set (ca.pem, cert.pem, key.pem)`;
  }
  if (connection.protocol === 'http' && connection.tls) {
    return `has ${tlsVariable} set, so it must be tcp:// or https://, not http://`;
  }
  return null;
}

/** An ssh host authenticates with the keys of the ssh agent, as the docker CLI does. */
function withSshAgent(
  connection: DockerConnection | null,
  agentSocket: string | undefined,
): DockerConnection | null {
  if (connection?.kind !== 'ssh' || !agentSocket) return connection;
  return { ...connection, agentSocket };
}

function tlsFiles(
  dir: string | undefined,
  variable: string,
  problems: string[],
): DockerTlsFiles | undefined {
  if (!dir) return undefined;
  if (!dir.startsWith('/')) {
    problems.push(`${variable} must be an absolute path (got "${dir}")`);
    return undefined;
  }
  const [caPath, certPath, keyPath] = DOCKER_TLS_FILES.map((file) => join(dir, file));
  for (const path of [caPath, certPath, keyPath]) {
    try {
      accessSync(path, constants.R_OK);
    } catch {
      problems.push(`${variable}: ${path} is missing or not readable`);
    }
  }
  return { caPath, certPath, keyPath };
}

/** A DOCKER_TLS_DIR_<X> that names no host of the pool is a typo, not a setting to ignore. */
function checkTlsDirs(env: NodeJS.ProcessEnv, named: Set<string>, problems: string[]): void {
  const known = new Set(
    [...named].map((name) => perEnvironmentVariable(DOCKER_TLS_DIR_VARIABLE, name)),
  );
  for (const name of Object.keys(env)) {
    if (name.startsWith(`${DOCKER_TLS_DIR_VARIABLE}_`) && !known.has(name) && env[name]) {
      problems.push(`${name} names no host of ${DOCKER_HOSTS_VARIABLE}`);
    }
  }
}

function parsePins(
  env: NodeJS.ProcessEnv,
  hosts: readonly DockerHostConfig[],
  environments: readonly string[],
  problems: string[],
): Record<string, string> {
  checkEnvironmentOverrides(env, DOCKER_PIN_VARIABLE, environments, problems);
  const pins: Record<string, string> = {};
  for (const name of environments) {
    const variable = perEnvironmentVariable(DOCKER_PIN_VARIABLE, name);
    const host = env[variable]?.trim();
    if (!host) continue;
    if (!hosts.some((known) => known.name === host)) {
      problems.push(
        `${variable}: "${host}" is no host of the pool (${hosts.map((known) => known.name).join(', ')})`,
      );
      continue;
    }
    pins[name] = host;
  }
  return pins;
}
