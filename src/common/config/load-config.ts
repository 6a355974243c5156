import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { AppConfig } from './app-config';
import { parseDockerConfig } from './docker-hosts';
import { parseAgentLimits } from './agent-limits';
import { parseMcpConfigs } from './mcp-config';
import { parsePermissionPolicies } from './permission-policy';
import { AGENT_ENV_PREFIX, EnvironmentVariables } from './environment-variables';
import { webhookConfig } from './webhook-config';
import { databaseConfig } from './database-config';
import { coordinationConfig } from './coordination-config';

/** Thrown at boot when the environment is unusable; its message names every bad value. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

const AGENT_ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses and validates an environment (normally `process.env`) into the service's `AppConfig`. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  // Empty strings count as unset, as in most .env tooling.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const variables = plainToInstance(EnvironmentVariables, present, {
    exposeDefaultValues: true,
  });
  const problems = validateSync(variables, { forbidUnknownValues: false }).flatMap(describe);
  const agentEnv = collectAgentEnv(env, problems);
  checkDuplicates(variables.ENVIRONMENTS, 'ENVIRONMENTS', problems);
  const limits = parseAgentLimits(present, variables.ENVIRONMENTS ?? [], problems);
  const mcpServers = parseMcpConfigs(present, variables.ENVIRONMENTS ?? [], problems);
  const permissions = parsePermissionPolicies(present, variables.ENVIRONMENTS ?? [], problems);
  const docker = parseDockerConfig(
    present,
    {
      timeoutMs: variables.DOCKER_TIMEOUT_MS,
      socket: variables.DOCKER_SOCKET,
      dockerHost: variables.DOCKER_HOST,
    },
    variables.ENVIRONMENTS ?? [],
    problems,
  );
  if (variables.BODY_LIMIT_BYTES <= variables.MAX_PROMPT_BYTES) {
    problems.push(
      'BODY_LIMIT_BYTES must be larger than MAX_PROMPT_BYTES (a prompt travels in the body)',
    );
  }
  // Only a quota counts runs over its window, and only the runs the history keeps.
  const retentionMs = variables.HISTORY_RETENTION_DAYS * 24 * 60 * 60 * 1000;
  if (variables.TOKEN_RUN_QUOTA > 0 && variables.TOKEN_RUN_QUOTA_WINDOW_MS > retentionMs) {
    problems.push(
      'TOKEN_RUN_QUOTA_WINDOW_MS must not be longer than HISTORY_RETENTION_DAYS (the runs it counts would be pruned)',
    );
  }
  const webhooks = webhookConfig(variables, problems);
  const apiTokens = [variables.API_TOKEN, ...(variables.API_TOKENS ?? [])];
  if (variables.METRICS_TOKEN && apiTokens.includes(variables.METRICS_TOKEN)) {
    problems.push('METRICS_TOKEN must differ from the API tokens (a scraper must not run Claude)');
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);

  return {
    port: variables.PORT,
    host: variables.HOST,
    apiTokens: [...new Set([variables.API_TOKEN, ...variables.API_TOKENS])],
    allowedOrigins: variables.ALLOWED_ORIGINS,
    environments: variables.ENVIRONMENTS,
    docker,
    agent: {
      image: variables.AGENT_IMAGE,
      containerPrefix: variables.CONTAINER_PREFIX,
      volumePrefix: variables.VOLUME_PREFIX,
      network: variables.AGENT_NETWORK,
      workdir: variables.AGENT_WORKDIR,
      env: agentEnv,
      limits,
      mcpServers,
    },
    throttle: {
      ip: { limit: variables.THROTTLE_IP_LIMIT, ttlMs: variables.THROTTLE_IP_TTL_MS },
      token: { limit: variables.THROTTLE_TOKEN_LIMIT, ttlMs: variables.THROTTLE_TOKEN_TTL_MS },
      claude: { limit: variables.THROTTLE_CLAUDE_LIMIT, ttlMs: variables.THROTTLE_CLAUDE_TTL_MS },
    },
    trustProxy: parseTrustProxy(variables.TRUST_PROXY),
    bodyLimitBytes: variables.BODY_LIMIT_BYTES,
    docsEnabled: variables.DOCS_ENABLED,
    dataDir: variables.DATA_DIR,
    database: databaseConfig(variables),
    execution: {
      timeoutMs: variables.EXECUTION_TIMEOUT_MS,
      maxPromptBytes: variables.MAX_PROMPT_BYTES,
      maxOutputBytes: variables.MAX_OUTPUT_BYTES,
      maxConcurrentPerEnv: variables.MAX_CONCURRENT_PER_ENV,
      maxQueuePerEnv: variables.MAX_QUEUE_PER_ENV,
      shutdownGraceMs: variables.SHUTDOWN_GRACE_MS,
      cancelGraceMs: variables.CANCEL_GRACE_MS,
      permissions,
      approvalTimeoutMs: variables.APPROVAL_TIMEOUT_MS,
    },
    warm: {
      perEnv: variables.WARM_SESSIONS_PER_ENV,
      total: variables.WARM_SESSIONS_TOTAL,
      idleMs: variables.WARM_IDLE_MS,
      spares: variables.SPARE_PROCESSES,
    },
    idleStopMs: variables.IDLE_STOP_MS,
    history: {
      retentionDays: variables.HISTORY_RETENTION_DAYS,
      maxEventsPerRun: variables.EVENTS_MAX_PER_RUN,
      maxEventBytesPerRun: variables.EVENTS_MAX_BYTES_PER_RUN,
      heartbeatMs: variables.SSE_HEARTBEAT_MS,
      eventsTokenTtlMs: variables.EVENTS_TOKEN_TTL_MS,
      eventsTokenGraceMs: variables.EVENTS_TOKEN_GRACE_MS,
      maxStreams: variables.SSE_MAX_STREAMS,
      maxStreamsPerToken: variables.SSE_MAX_STREAMS_PER_TOKEN,
    },
    budgets: {
      envUsdPerDay: variables.ENV_BUDGET_USD_PER_DAY,
      tokenRunQuota: variables.TOKEN_RUN_QUOTA,
      tokenRunQuotaWindowMs: variables.TOKEN_RUN_QUOTA_WINDOW_MS,
    },
    webhooks,
    log: {
      format: variables.LOG_FORMAT,
      level: variables.LOG_LEVEL,
      content: variables.LOG_CONTENT,
    },
    metricsToken: variables.METRICS_TOKEN ?? null,
    coordination: coordinationConfig(variables),
  };
}

function describe(error: ValidationError): string[] {
  const own = Object.values(error.constraints ?? {});
  return [...own, ...(error.children ?? []).flatMap(describe)];
}

function collectAgentEnv(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string> {
  const agentEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(AGENT_ENV_PREFIX) || value === undefined) continue;
    const name = key.slice(AGENT_ENV_PREFIX.length);
    if (!AGENT_ENV_NAME_PATTERN.test(name)) {
      problems.push(`${key} does not name a valid variable after ${AGENT_ENV_PREFIX}`);
      continue;
    }
    agentEnv[name] = value;
  }
  return agentEnv;
}

function checkDuplicates(values: readonly string[], name: string, problems: string[]): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) problems.push(`${name} lists "${value}" twice`);
    seen.add(value);
  }
}

function parseTrustProxy(value: string): boolean | number | string[] {
  const trimmed = value.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed.split(',').map((entry) => entry.trim());
}
