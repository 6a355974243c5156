import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * How the API replicas coordinate. Durable state stays in the SQL store; what is ephemeral and
 * hot (throttling counters, messages between replicas) goes through Redis when REDIS_URL is set,
 * and stays in this process otherwise.
 */
export interface CoordinationConfig {
  /** This process among the replicas, in logs and on the messages it sends. */
  readonly replicaId: string;
  /** null: one replica, everything in process (the default). */
  readonly redis: RedisConfig | null;
}

export interface RedisConfig {
  /** With its password, if any: never logged, never put in an error message. */
  readonly url: string;
  /** The URL without user and password, for logs and errors. */
  readonly safeUrl: string;
  /** How long the boot's connection, and then any command, may take before it counts as failed. */
  readonly timeoutMs: number;
  /** Before every key and channel, so deployments can share one Redis. */
  readonly keyPrefix: string;
}

/** The coordination settings as validated by `EnvironmentVariables`. */
export interface CoordinationVariables {
  REDIS_URL?: string;
  REDIS_TIMEOUT_MS: number;
  REDIS_KEY_PREFIX: string;
  REPLICA_ID?: string;
}

export const REPLICA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** redis:// or rediss://, a host, and at most a database number as its path. */
export function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      ['redis:', 'rediss:'].includes(url.protocol) &&
      url.hostname !== '' &&
      /^(\/\d{0,2})?$/.test(url.pathname) &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}

/** `redis://:secret@cache:6379/0` → `redis://cache:6379/0`. */
export function redactRedisUrl(value: string): string {
  const url = new URL(value);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function coordinationConfig(variables: CoordinationVariables): CoordinationConfig {
  return {
    replicaId: variables.REPLICA_ID ?? defaultReplicaId(),
    redis: variables.REDIS_URL
      ? {
          url: variables.REDIS_URL,
          safeUrl: redactRedisUrl(variables.REDIS_URL),
          timeoutMs: variables.REDIS_TIMEOUT_MS,
          keyPrefix: variables.REDIS_KEY_PREFIX,
        }
      : null,
  };
}

/** The host name (a container's id under Docker) and a random part, as a restart is a new replica. */
function defaultReplicaId(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 48);
  return `${host || 'replica'}-${randomBytes(4).toString('hex')}`;
}
