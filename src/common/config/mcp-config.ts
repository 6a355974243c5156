import { readFileSync } from 'node:fs';
import { checkEnvironmentOverrides, perEnvironmentVariable } from './per-environment';

/**
 * One MCP server as an `.mcp.json` names it (the shape LifeOS and Claude Code use): a stdio
 * server the CLI starts inside the agent container, or an http/sse server it connects to.
 * `args`, `env`, `headers` and `url` may hold secrets: they go to the CLI over its stdin and
 * nowhere else (see `mcpSecrets`).
 */
export type McpServerSettings =
  | {
      readonly type?: 'stdio';
      readonly command: string;
      readonly args?: string[];
      readonly env?: Readonly<Record<string, string>>;
      readonly timeout?: number;
      readonly alwaysLoad?: boolean;
    }
  | {
      readonly type: 'http' | 'sse';
      readonly url: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly timeout?: number;
      readonly alwaysLoad?: boolean;
    };

/** An environment's MCP servers by name; empty when it has none. */
export type McpServers = Readonly<Record<string, McpServerSettings>>;

/** `MCP_CONFIG` is every environment's file; `MCP_CONFIG_<ENV>` replaces it for one. */
export const MCP_CONFIG_VARIABLE = 'MCP_CONFIG';
/** A server's name becomes part of its tools' names (`mcp__<server>__<tool>`). */
export const MCP_SERVER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const STDIO_KEYS = ['type', 'command', 'args', 'env', 'timeout', 'alwaysLoad'];
const REMOTE_KEYS = ['type', 'url', 'headers', 'timeout', 'alwaysLoad'];

/**
 * Every environment's MCP servers, from the file `MCP_CONFIG_<ENV>` names, else the one
 * `MCP_CONFIG` names, else none. Each file is read once, at boot. A problem names the variable,
 * the file and the server, never a value (values may be secrets).
 */
export function parseMcpConfigs(
  env: NodeJS.ProcessEnv,
  environments: readonly string[],
  problems: string[],
): Record<string, McpServers> {
  checkEnvironmentOverrides(env, MCP_CONFIG_VARIABLE, environments, problems);
  const read = (variable: string): McpServers => {
    const path = env[variable]?.trim();
    return path ? readMcpConfig(path, `${variable} (${path})`, problems) : {};
  };
  const shared = read(MCP_CONFIG_VARIABLE);
  const configs: Record<string, McpServers> = {};
  for (const name of environments) {
    const variable = perEnvironmentVariable(MCP_CONFIG_VARIABLE, name);
    configs[name] = env[variable]?.trim() ? read(variable) : shared;
  }
  return configs;
}

function readMcpConfig(path: string, source: string, problems: string[]): McpServers {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${source}: the file cannot be read (${code})`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // The parser's own message may quote the text, secrets included: only its position is told.
    const where = /at position \d+( \(line \d+ column \d+\))?/.exec(String(error));
    problems.push(`${source}: the file is not valid JSON${where ? ` (${where[0]})` : ''}`);
    return {};
  }
  if (!isRecord(parsed) || !isRecord(parsed.mcpServers)) {
    problems.push(`${source}: the file must hold an object {"mcpServers": {"<name>": {...}}}`);
    return {};
  }
  const servers: Record<string, McpServerSettings> = {};
  for (const [name, value] of Object.entries(parsed.mcpServers)) {
    if (!MCP_SERVER_NAME_PATTERN.test(name)) {
      problems.push(
        `${source}: the server name "${name.slice(0, 64)}" must match ${MCP_SERVER_NAME_PATTERN.source}`,
      );
      continue;
    }
    const server = serverSettings(value, `${source}: server "${name}"`, problems);
    if (server) servers[name] = server;
  }
  return servers;
}

/** One server's settings, or null after pushing what is wrong with it. */
function serverSettings(
  value: unknown,
  where: string,
  problems: string[],
): McpServerSettings | null {
  if (!isRecord(value)) {
    problems.push(`${where} must be an object`);
    return null;
  }
  const count = problems.length;
  const type = value.type ?? 'stdio';
  if (type !== 'stdio' && type !== 'http' && type !== 'sse') {
    problems.push(`${where}: type must be stdio, http or sse`);
    return null;
  }
  const allowed = type === 'stdio' ? STDIO_KEYS : REMOTE_KEYS;
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      problems.push(`${where}: "${key.slice(0, 64)}" is not a setting of a ${type} server`);
    }
  }
  if (
    value.timeout !== undefined &&
    !(Number.isInteger(value.timeout) && Number(value.timeout) > 0)
  ) {
    problems.push(`${where}: timeout must be a positive integer of milliseconds`);
  }
  if (value.alwaysLoad !== undefined && typeof value.alwaysLoad !== 'boolean') {
    problems.push(`${where}: alwaysLoad must be true or false`);
  }
  if (type === 'stdio') {
    if (typeof value.command !== 'string' || value.command.trim() === '') {
      problems.push(`${where}: command must be a non-empty string`);
    }
    if (value.args !== undefined && !isStringList(value.args)) {
      problems.push(`${where}: args must be a list of strings`);
    }
    if (value.env !== undefined && !isStringMap(value.env)) {
      problems.push(`${where}: env must be an object of string values`);
    }
  } else {
    if (!isHttpUrl(value.url)) problems.push(`${where}: url must be an http:// or https:// URL`);
    if (value.headers !== undefined && !isStringMap(value.headers)) {
      problems.push(`${where}: headers must be an object of string values`);
    }
  }
  return problems.length === count ? (value as McpServerSettings) : null;
}

/**
 * The values of an environment's MCP settings that may be secrets (every arg, env value, header
 * value and url), for redaction; the longest first, so a secret inside another is covered whole.
 */
export function mcpSecrets(servers: McpServers): string[] {
  const values = Object.values(servers).flatMap((server) =>
    'url' in server
      ? [server.url, ...Object.values(server.headers ?? {})]
      : [...(server.args ?? []), ...Object.values(server.env ?? {})],
  );
  // Flags (`--api-key`) and short values (`-y`, `1`) are not secrets, and would garble any text.
  const secrets = values.filter(
    (value) => value.length >= MIN_SECRET_LENGTH && !FLAG_PATTERN.test(value),
  );
  return [...new Set(secrets)].sort((a, b) => b.length - a.length);
}

const MIN_SECRET_LENGTH = 4;
const FLAG_PATTERN = /^--?[A-Za-z][A-Za-z0-9-]*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isStringMap(value: unknown): boolean {
  return isRecord(value) && Object.values(value).every((item) => typeof item === 'string');
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
