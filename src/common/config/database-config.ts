/**
 * Where the store lives: the embedded SQLite file under DATA_DIR (the default), or the PostgreSQL
 * database of DATABASE_URL, which several replicas can share.
 */
export type DatabaseConfig =
  | { readonly engine: 'sqlite' }
  | {
      readonly engine: 'postgres';
      /** postgres://user:password@host:5432/database; never logged (see `redactDatabaseUrl`). */
      readonly url: string;
      /** Connections each replica keeps at most. */
      readonly poolSize: number;
      /** How long opening a connection may take before the store gives up. */
      readonly connectTimeoutMs: number;
    };

/** The database settings as validated by `EnvironmentVariables`. */
export interface DatabaseVariables {
  DATABASE_URL?: string;
  DATABASE_POOL_SIZE: number;
  DATABASE_CONNECT_TIMEOUT_MS: number;
}

export function databaseConfig(variables: DatabaseVariables): DatabaseConfig {
  if (!variables.DATABASE_URL) return { engine: 'sqlite' };
  return {
    engine: 'postgres',
    url: variables.DATABASE_URL,
    poolSize: variables.DATABASE_POOL_SIZE,
    connectTimeoutMs: variables.DATABASE_CONNECT_TIMEOUT_MS,
  };
}

/** Whether `value` names a PostgreSQL database: postgres:// or postgresql://, a host, a database. */
export function isDatabaseUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    ['postgres:', 'postgresql:'].includes(url.protocol) &&
    url.hostname !== '' &&
    /^\/[^/]+$/.test(url.pathname)
  );
}

/** The URL without its password, for messages and logs: postgres://user:***@host:5432/db. */
export function redactDatabaseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    // The query may hold a password too (?password=…); keep only where it points.
    url.search = '';
    return url.toString();
  } catch {
    return '(an unreadable DATABASE_URL)';
  }
}
