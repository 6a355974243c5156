import { AppConfig } from '../common/config/app-config';
import { mcpSecrets, McpServers } from '../common/config/mcp-config';
import { agentContainerName } from './agent-layout';

/** What a secret of an MCP config is replaced with wherever the CLI might echo it. */
export const REDACTED = '[redacted]';

/**
 * Replaces the secrets of an environment's MCP config (see `mcpSecrets`) in what comes out of
 * its CLIs: messages, stderr, errors. The CLI is given the secrets to start and reach the
 * servers; whatever it says back goes through here before the API, the history or the logs see
 * it.
 */
export class SecretRedactor {
  static readonly none = new SecretRedactor([]);
  /** The secrets as they read inside a JSON string (quotes and backslashes escaped). */
  private readonly inJson: readonly string[];

  constructor(private readonly secrets: readonly string[]) {
    this.inJson = secrets.map((secret) => JSON.stringify(secret).slice(1, -1));
  }

  text(text: string): string {
    return replaceAll(text, this.secrets);
  }

  /** An error of the same message, redacted (a CLI's error may quote its command line). */
  error(error: unknown): Error {
    return new Error(this.text(error instanceof Error ? error.message : String(error)));
  }

  /** `value` itself when it holds no secret (the common case costs one serialization), else a redacted copy. */
  value<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    const json = JSON.stringify(value);
    const redacted = replaceAll(json, this.inJson);
    return redacted === json ? value : (JSON.parse(redacted) as T);
  }
}

function replaceAll(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/** An environment's MCP servers and their redactor, found by the name of its container. */
export interface AgentMcp {
  readonly servers: McpServers;
  readonly redactor: SecretRedactor;
}

const NO_MCP: AgentMcp = { servers: {}, redactor: SecretRedactor.none };
const byConfig = new WeakMap<AppConfig, ReadonlyMap<string, AgentMcp>>();

/** The MCP servers every CLI in `containerName` gets, and what hides their secrets. */
export function agentMcp(config: AppConfig, containerName: string): AgentMcp {
  let byContainer = byConfig.get(config);
  if (!byContainer) {
    byContainer = new Map(
      config.environments.map((env) => {
        const servers = config.agent.mcpServers[env] ?? {};
        const redactor = new SecretRedactor(mcpSecrets(servers));
        return [agentContainerName(config.agent, env), { servers, redactor }];
      }),
    );
    byConfig.set(config, byContainer);
  }
  return byContainer.get(containerName) ?? NO_MCP;
}
