import { PermissionPolicy } from './permission-policy';
import { AgentLimits } from './agent-limits';
import { DatabaseConfig } from './database-config';
import { LogFormat, LogLevel } from './environment-variables';
import { McpServers } from './mcp-config';
import { WebhookConfig } from './webhook-config';
import { DockerConfig } from './docker-hosts';
import { CoordinationConfig } from './coordination-config';

/** The service's settings, parsed and validated once at boot (see `loadConfig`). */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  /** Every accepted bearer token: API_TOKEN first, then API_TOKENS (for rotation). */
  readonly apiTokens: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly environments: readonly string[];
  readonly docker: DockerConfig;
  readonly agent: AgentConfig;
  readonly throttle: ThrottleConfig;
  /** Fastify's `trustProxy`: false, true, a hop count, or a list of proxy addresses/CIDRs. */
  readonly trustProxy: boolean | number | string[];
  readonly bodyLimitBytes: number;
  readonly docsEnabled: boolean;
  /** Where the service keeps its SQLite store. */
  readonly dataDir: string;
  /** The store's engine: the embedded SQLite default, or PostgreSQL when DATABASE_URL is set. */
  readonly database: DatabaseConfig;
  readonly execution: ExecutionLimits;
  readonly warm: WarmConfig;
  /**
   * An environment's container is stopped once nothing has used it for this long (no run, no
   * event stream); 0 never stops it.
   */
  readonly idleStopMs: number;
  readonly history: HistoryConfig;
  /** Signed deliveries of the service's events; null when WEBHOOK_URL is unset. */
  readonly webhooks: WebhookConfig | null;
  readonly log: LogConfig;
  /** The bearer token of GET /metrics; null turns the endpoint off. */
  readonly metricsToken: string | null;
  readonly budgets: BudgetConfig;
  /** Redis between the API replicas (`REDIS_URL`), or everything in this process. */
  readonly coordination: CoordinationConfig;
}

export interface LogConfig {
  /** `json`: one JSON object a line (pino); `pretty`: coloured lines for a terminal. */
  readonly format: LogFormat;
  readonly level: LogLevel;
  /** Prompts and outputs in the logs; off by default, as they may hold anything. */
  readonly content: boolean;
}

/** What an environment may spend and a token may run (0: no bound). */
export interface BudgetConfig {
  /** USD an environment's runs may spend in any 24 hours; past it, 429 ENV_BUDGET_EXHAUSTED. */
  readonly envUsdPerDay: number;
  /** Runs a token may submit per `tokenRunQuotaWindowMs`; past it, 429 RUN_QUOTA_EXHAUSTED. */
  readonly tokenRunQuota: number;
  readonly tokenRunQuotaWindowMs: number;
}

export interface ExecutionLimits {
  /** The default deadline of a run; a request's `timeoutMs` can only lower it. */
  readonly timeoutMs: number;
  readonly maxPromptBytes: number;
  /** `output` is cut here; the CLI's raw stream is bounded at a multiple of it. */
  readonly maxOutputBytes: number;
  readonly maxConcurrentPerEnv: number;
  /** Runs waiting per environment; beyond it 429 QUEUE_FULL. */
  readonly maxQueuePerEnv: number;
  /** On SIGTERM, how long running runs may finish before they are stopped. */
  readonly shutdownGraceMs: number;
  /** After an interrupt, how long the CLI gets before it is killed. */
  readonly cancelGraceMs: number;
  /** Each environment's permission modes: its default, and those a client may name. */
  readonly permissions: Readonly<Record<string, PermissionPolicy>>;
  /** How long a run's approval waits for an answer before it is denied. */
  readonly approvalTimeoutMs: number;
}

/**
 * The CLIs kept alive between turns (warm sessions) and started ahead of a new session (spares).
 * `total` 0 turns both off: one process per turn.
 */
export interface WarmConfig {
  /** Sessions whose CLI is kept alive, per environment and in all (least recently used go first). */
  readonly perEnv: number;
  readonly total: number;
  /** An idle warm CLI is closed after this long. */
  readonly idleMs: number;
  /** Pre-started CLIs per environment for the first turn of a new session. */
  readonly spares: number;
}

export interface HistoryConfig {
  readonly retentionDays: number;
  /** Stored events per run (the live stream is not bounded). */
  readonly maxEventsPerRun: number;
  readonly maxEventBytesPerRun: number;
  readonly heartbeatMs: number;
  /** Lifetime of the run-scoped `access_token` for EventSource. */
  readonly eventsTokenTtlMs: number;
  /** How long after its run ends an `access_token` still opens the stream (a replay). */
  readonly eventsTokenGraceMs: number;
  /** Event streams open at once, in all and per token (429 TOO_MANY_STREAMS past either). */
  readonly maxStreams: number;
  readonly maxStreamsPerToken: number;
}

export interface AgentConfig {
  readonly image: string;
  readonly containerPrefix: string;
  /** Prefix of the named volumes: `<prefix>credentials`, `<prefix>config-<env>`, `<prefix>sessions-<env>`, `<prefix>workspace-<env>`. */
  readonly volumePrefix: string;
  /** A Docker network name; `host` shares the host's network stack. */
  readonly network: string;
  readonly workdir: string;
  /** Variables given to every CLI process (from `AGENT_ENV_<NAME>`), per exec, never baked into the container. */
  readonly env: Readonly<Record<string, string>>;
  /** Each environment's container limits (`AGENT_LIMITS`, `AGENT_LIMITS_<ENV>`). */
  readonly limits: Readonly<Record<string, AgentLimits>>;
  /**
   * Each environment's MCP servers (`MCP_CONFIG`, `MCP_CONFIG_<ENV>`), given to every CLI over its
   * stdin; never in a container's settings, so a change needs no re-creation.
   */
  readonly mcpServers: Readonly<Record<string, McpServers>>;
}

export interface ThrottleBucket {
  readonly limit: number;
  readonly ttlMs: number;
}

export interface ThrottleConfig {
  /** Counted per client IP before authentication, so failed logins count. */
  readonly ip: ThrottleBucket;
  /** Counted per token after authentication. */
  readonly token: ThrottleBucket;
  /** Counted per token on the routes that run Claude. */
  readonly claude: ThrottleBucket;
}

/** Injection token of the validated `AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');
