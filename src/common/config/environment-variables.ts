import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { SERVICE_EVENT_TYPES } from '../events/service-events';
import { isDatabaseUrl } from './database-config';
import { isRedisUrl, REPLICA_ID_PATTERN } from './coordination-config';
import {
  ArrayNotEmpty,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  registerDecorator,
  ValidationOptions,
} from 'class-validator';

export const ENVIRONMENT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MIN_TOKEN_LENGTH = 32;
export const AGENT_ENV_PREFIX = 'AGENT_ENV_';
/** The CLI version the agent image pins (docker/agent/Dockerfile's CLAUDE_CODE_VERSION). */
export const CLAUDE_CODE_VERSION = '2.1.332';
export const DEFAULT_AGENT_IMAGE = `claudecode-agent:${CLAUDE_CODE_VERSION}`;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const splitList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
};

/**
 * An integer variable: a string of digits (spaces around it allowed) becomes a number, which must
 * be an integer in [min, max]. The checks register max, min, then integer, as the stacked
 * decorators did, so a bad value is reported with the same messages in the same order.
 */
function IntegerSetting({ min, max }: { min: number; max?: number }): PropertyDecorator {
  return applyDecorators(
    ...(max === undefined ? [] : [Max(max)]),
    Min(min),
    IsInt(),
    Transform(toInteger),
  );
}

const toDecimal = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;

/** An amount of US dollars, 0 or more: digits with an optional decimal part, e.g. `25` or `7.50`. */
function DollarSetting(): PropertyDecorator {
  return applyDecorators(
    Min(0),
    IsNumber(
      { allowNaN: false, allowInfinity: false },
      { message: '$property must be an amount of US dollars, e.g. 25 or 7.50' },
    ),
    Transform(toDecimal),
  );
}

/** A validator of string settings, named `name`, failing with `message`. */
function stringRule(
  name: string,
  message: string,
  isValid: (value: string) => boolean,
): (options?: ValidationOptions) => PropertyDecorator {
  return (options) => (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && isValid(value) },
    });
}

/** An exact browser origin: scheme, host and optional port, nothing else. */
const IsExactOrigin = stringRule(
  'isExactOrigin',
  '$property must list exact origins such as https://app.example.com',
  (value) => {
    try {
      const url = new URL(value);
      return ['http:', 'https:'].includes(url.protocol) && url.origin === value;
    } catch {
      return false;
    }
  },
);

/** A Docker daemon address as in DOCKER_HOST: unix://, tcp://, http:// or https://. */
const IsDockerHost = stringRule(
  'isDockerHost',
  '$property must look like unix:///var/run/docker.sock or tcp://host:2375',
  (value) => /^(unix:\/\/\/.+|(tcp|http|https):\/\/[^/:]+(:\d+)?\/?)$/.test(value),
);

/** TRUST_PROXY: true/false, a hop count, or a comma list of addresses or CIDRs. */
const IsTrustProxy = stringRule(
  'isTrustProxy',
  '$property must be true, false, a hop count, or a comma list of IPs/CIDRs',
  (value) => /^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/.test(value.trim()),
);

/** An http(s) URL a webhook can be posted to. */
const IsWebhookUrl = stringRule(
  'isWebhookUrl',
  '$property must be an http:// or https:// URL',
  (value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
);

/**
 * A Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 bytes. The message never
 * repeats the value.
 */
const IsWebhookSecret = stringRule(
  'isWebhookSecret',
  '$property must be whsec_ followed by the base64 of 24 to 64 random bytes',
  (value) => {
    const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
    const bytes = match ? Buffer.from(match[1], 'base64').length : 0;
    return bytes >= 24 && bytes <= 64;
  },
);

/** A PostgreSQL URL; the message never repeats the value, which holds a password. */
const IsDatabaseUrl = stringRule(
  'isDatabaseUrl',
  '$property must be postgres://user:password@host:5432/database (postgres:// or postgresql://, with a host and a database name)',
  isDatabaseUrl,
);

/** redis:// or rediss://; the message never repeats the value, which may hold a password. */
const IsRedisUrl = stringRule(
  'isRedisUrl',
  '$property must be a redis:// or rediss:// URL such as redis://:password@redis:6379/0',
  isRedisUrl,
);

/** A duration such as 500ms, 5s, 5m or 2h. */
const IsDuration = stringRule(
  'isDuration',
  '$property must list durations such as 5s, 5m, 30m, 2h',
  (value) => /^\d+(ms|s|m|h)$/.test(value),
);

/**
 * The environment as the service reads it. Every property is one variable; the defaults are the
 * embedded ones the README documents.
 */
export class EnvironmentVariables {
  @IntegerSetting({ min: 1, max: 65535 })
  PORT: number = 3000;

  @IsString()
  @MinLength(1)
  HOST: string = '0.0.0.0';

  @IsString({ message: 'API_TOKEN is required (at least 32 characters)' })
  @MinLength(MIN_TOKEN_LENGTH, { message: 'API_TOKEN must be at least 32 characters long' })
  API_TOKEN!: string;

  @IsOptional()
  @Transform(splitList)
  @IsString({ each: true })
  @MinLength(MIN_TOKEN_LENGTH, {
    each: true,
    message: 'every token in API_TOKENS must be at least 32 characters long',
  })
  API_TOKENS: string[] = [];

  @Transform(splitList)
  @IsExactOrigin({ each: true })
  ALLOWED_ORIGINS: string[] = [];

  @Transform(splitList)
  @ArrayNotEmpty({ message: 'ENVIRONMENTS must name at least one environment' })
  @Matches(ENVIRONMENT_NAME_PATTERN, {
    each: true,
    message: 'ENVIRONMENTS entries must match ^[a-z0-9][a-z0-9-]{0,31}$',
  })
  ENVIRONMENTS: string[] = ['dev', 'staging', 'prod'];

  @IsString()
  @Matches(/^\//, { message: 'DOCKER_SOCKET must be an absolute path' })
  DOCKER_SOCKET: string = '/var/run/docker.sock';

  @IsOptional()
  @IsDockerHost()
  DOCKER_HOST?: string;

  @IntegerSetting({ min: 100 })
  DOCKER_TIMEOUT_MS: number = 15000;

  @Matches(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, {
    message: 'CONTAINER_PREFIX must be a valid start of a Docker container name',
  })
  CONTAINER_PREFIX: string = 'claude-agent-';

  @Matches(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, {
    message: 'VOLUME_PREFIX must be a valid start of a Docker volume name',
  })
  VOLUME_PREFIX: string = 'claude-';

  @Matches(/^[a-z0-9][a-z0-9._\/:@-]*$/, { message: 'AGENT_IMAGE must be an image reference' })
  AGENT_IMAGE: string = DEFAULT_AGENT_IMAGE;

  @Matches(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, {
    message: 'AGENT_NETWORK must be a Docker network name',
  })
  AGENT_NETWORK: string = 'claude-network';

  // The root is read-only: the CLI works in the workspace volume.
  @Matches(/^\/workspace(\/[^\0]*)?$/, {
    message: 'AGENT_WORKDIR must be /workspace or a path under it',
  })
  AGENT_WORKDIR: string = '/workspace';

  @IntegerSetting({ min: 1 })
  THROTTLE_IP_LIMIT: number = 120;

  @IntegerSetting({ min: 1000 })
  THROTTLE_IP_TTL_MS: number = 60000;

  @IntegerSetting({ min: 1 })
  THROTTLE_TOKEN_LIMIT: number = 600;

  @IntegerSetting({ min: 1000 })
  THROTTLE_TOKEN_TTL_MS: number = 60000;

  @IntegerSetting({ min: 1 })
  THROTTLE_CLAUDE_LIMIT: number = 30;

  @IntegerSetting({ min: 1000 })
  THROTTLE_CLAUDE_TTL_MS: number = 60000;

  @IsTrustProxy()
  TRUST_PROXY: string = 'false';

  @IntegerSetting({ min: 1024 })
  BODY_LIMIT_BYTES: number = 2 * 1024 * 1024;

  @Transform(toBoolean)
  @IsBoolean({ message: 'DOCS_ENABLED must be true or false' })
  DOCS_ENABLED: boolean = true;

  @IsString()
  @MinLength(1)
  DATA_DIR: string = './data';

  // Unset: the embedded SQLite store under DATA_DIR.
  @IsOptional()
  @IsDatabaseUrl()
  DATABASE_URL?: string;

  @IntegerSetting({ min: 1, max: 1000 })
  DATABASE_POOL_SIZE: number = 10;

  @IntegerSetting({ min: 100, max: 5 * 60 * 1000 })
  DATABASE_CONNECT_TIMEOUT_MS: number = 10000;

  @IntegerSetting({ min: 1000 })
  EXECUTION_TIMEOUT_MS: number = 10 * 60 * 1000;

  @IntegerSetting({ min: 1 })
  MAX_PROMPT_BYTES: number = 1024 * 1024;

  @IntegerSetting({ min: 1024 })
  MAX_OUTPUT_BYTES: number = 4 * 1024 * 1024;

  @IntegerSetting({ min: 1, max: 64 })
  MAX_CONCURRENT_PER_ENV: number = 4;

  @IntegerSetting({ min: 0, max: 10000 })
  MAX_QUEUE_PER_ENV: number = 20;

  @IntegerSetting({ min: 0 })
  SHUTDOWN_GRACE_MS: number = 30000;

  @IntegerSetting({ min: 100 })
  CANCEL_GRACE_MS: number = 3000;

  @IntegerSetting({ min: 100, max: 24 * 60 * 60 * 1000 })
  APPROVAL_TIMEOUT_MS: number = 5 * 60 * 1000;

  @IntegerSetting({ min: 0, max: 64 })
  WARM_SESSIONS_PER_ENV: number = 4;

  @IntegerSetting({ min: 0, max: 1024 })
  WARM_SESSIONS_TOTAL: number = 8;

  @IntegerSetting({ min: 1000, max: 24 * 60 * 60 * 1000 })
  WARM_IDLE_MS: number = 10 * 60 * 1000;

  @IntegerSetting({ min: 0, max: 8 })
  SPARE_PROCESSES: number = 1;

  /** 0 turns it off; at most a week (a timer's reach is 24 days). */
  @IntegerSetting({ min: 0, max: 7 * 24 * 60 * 60 * 1000 })
  IDLE_STOP_MS: number = 30 * 60 * 1000;

  @IntegerSetting({ min: 1 })
  HISTORY_RETENTION_DAYS: number = 30;

  @IntegerSetting({ min: 10 })
  EVENTS_MAX_PER_RUN: number = 5000;

  @IntegerSetting({ min: 1024 })
  EVENTS_MAX_BYTES_PER_RUN: number = 16 * 1024 * 1024;

  @IntegerSetting({ min: 100 })
  SSE_HEARTBEAT_MS: number = 15000;

  @IntegerSetting({ min: 1000 })
  EVENTS_TOKEN_TTL_MS: number = 10 * 60 * 1000;

  @IntegerSetting({ min: 0, max: 10 * 60 * 1000 })
  EVENTS_TOKEN_GRACE_MS: number = 30 * 1000;

  @IntegerSetting({ min: 1, max: 100000 })
  SSE_MAX_STREAMS: number = 100;

  @IntegerSetting({ min: 1, max: 100000 })
  SSE_MAX_STREAMS_PER_TOKEN: number = 20;

  @IsIn(LOG_FORMATS, { message: `LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}` })
  LOG_FORMAT: LogFormat = 'json';

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  @Transform(toBoolean)
  @IsBoolean({ message: 'LOG_CONTENT must be true or false' })
  LOG_CONTENT: boolean = false;

  @IsOptional()
  @IsString()
  @MinLength(MIN_TOKEN_LENGTH, { message: 'METRICS_TOKEN must be at least 32 characters long' })
  METRICS_TOKEN?: string;

  // Budgets: 0 turns each one off.
  @DollarSetting()
  ENV_BUDGET_USD_PER_DAY: number = 0;

  @IntegerSetting({ min: 0 })
  TOKEN_RUN_QUOTA: number = 0;

  @IntegerSetting({ min: 1000, max: 30 * 24 * 60 * 60 * 1000 })
  TOKEN_RUN_QUOTA_WINDOW_MS: number = 24 * 60 * 60 * 1000;

  @IsOptional()
  @IsWebhookUrl()
  WEBHOOK_URL?: string;

  @IsOptional()
  @IsWebhookSecret()
  WEBHOOK_SECRET?: string;

  @Transform(splitList)
  @ArrayNotEmpty({ message: 'WEBHOOK_EVENTS must name at least one event type' })
  @IsIn(SERVICE_EVENT_TYPES, {
    each: true,
    message: `WEBHOOK_EVENTS entries must be among ${SERVICE_EVENT_TYPES.join(', ')}`,
  })
  WEBHOOK_EVENTS: string[] = [...SERVICE_EVENT_TYPES];

  @IntegerSetting({ min: 1, max: 100 })
  WEBHOOK_MAX_ATTEMPTS: number = 8;

  @IntegerSetting({ min: 100, max: 5 * 60 * 1000 })
  WEBHOOK_TIMEOUT_MS: number = 10000;

  // The Standard Webhooks schedule; the last delay repeats for attempts beyond the list.
  @Transform(splitList)
  @ArrayNotEmpty({ message: 'WEBHOOK_RETRY_DELAYS must list at least one duration' })
  @IsDuration({ each: true })
  WEBHOOK_RETRY_DELAYS: string[] = ['5s', '5m', '30m', '2h', '5h', '10h', '10h'];

  // Coordination between API replicas; unset, everything stays in this process.
  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;

  @IntegerSetting({ min: 100, max: 60000 })
  REDIS_TIMEOUT_MS: number = 5000;

  @Matches(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/, {
    message: 'REDIS_KEY_PREFIX must be letters, digits and : . _ - (at most 64)',
  })
  REDIS_KEY_PREFIX: string = 'claudecode:';

  @IsOptional()
  @Matches(REPLICA_ID_PATTERN, {
    message:
      'REPLICA_ID must be letters, digits and . _ - (at most 64), starting with a letter or digit',
  })
  REPLICA_ID?: string;

  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;
}
