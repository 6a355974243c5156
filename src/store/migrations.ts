/** One step of the store's schema. Versions are applied in order, each once, and never edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL run inside the migration's transaction. */
  readonly up: string;
}

/**
 * The schema, oldest first. Append new steps; never change or reorder one that has shipped.
 * Write them in the SQL PostgreSQL shares: postgres-migrations.ts runs the same steps there.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions',
    up: `
      CREATE TABLE sessions (
        id TEXT NOT NULL,
        env TEXT NOT NULL,
        title TEXT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (env, id)
      );
    `,
  },
  {
    version: 2,
    name: 'executions',
    up: `
      CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        env TEXT NOT NULL,
        session_id TEXT NOT NULL,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT NULL,
        finished_at TEXT NULL,
        exit_code INTEGER NULL,
        result TEXT NULL,
        truncated INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NULL,
        usage TEXT NULL,
        result_message TEXT NULL,
        error TEXT NULL,
        error_code TEXT NULL,
        event_count INTEGER NOT NULL DEFAULT 0,
        events_dropped INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX executions_by_time ON executions (created_at DESC, id DESC);
      CREATE INDEX executions_by_env ON executions (env, created_at DESC, id DESC);
      CREATE INDEX executions_by_session ON executions (session_id, created_at DESC, id DESC);
      CREATE INDEX executions_by_status ON executions (status);
      CREATE TABLE execution_events (
        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (execution_id, seq)
      );
    `,
  },
  {
    version: 3,
    name: 'sessions index',
    // Sessions become an index: reserved ids and the transcripts found in the sessions volume,
    // with what a list shows of each, so listing never reads a transcript.
    up: `
      ALTER TABLE sessions ADD COLUMN reserved INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE sessions ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN transcript_size INTEGER NULL;
      ALTER TABLE sessions ADD COLUMN transcript_mtime_ms INTEGER NULL;
      ALTER TABLE sessions ADD COLUMN transcript_title TEXT NULL;
      ALTER TABLE sessions ADD COLUMN first_timestamp TEXT NULL;
      ALTER TABLE sessions ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sessions ADD COLUMN skipped_lines INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sessions ADD COLUMN read_state TEXT NULL;
      UPDATE sessions SET updated_at = created_at;
      CREATE INDEX sessions_newest_first ON sessions (env, updated_at DESC, id DESC);
      CREATE TABLE session_scans (
        env TEXT PRIMARY KEY,
        scanned_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'webhook deliveries',
    // The webhooks' outbox and delivery log: a delivery is written when its event happens, so it
    // outlives a restart, and keeps its id (the receivers' dedupe key) across its attempts.
    up: `
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        next_attempt_at TEXT NULL,
        last_attempt_at TEXT NULL,
        last_response_status INTEGER NULL,
        last_error TEXT NULL,
        delivered_at TEXT NULL
      );
      CREATE INDEX webhook_deliveries_newest_first ON webhook_deliveries (created_at DESC, id DESC);
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
    `,
  },
  {
    version: 5,
    name: 'budgets and structured output',
    // Who submitted each run and what it spent of its own (cost_usd is the session's running
    // total), indexed for the checks every submit makes; and the answer's validated object.
    up: `
      ALTER TABLE executions ADD COLUMN token_id TEXT NULL;
      ALTER TABLE executions ADD COLUMN spent_usd REAL NULL;
      ALTER TABLE executions ADD COLUMN structured_output TEXT NULL;
      CREATE INDEX executions_spend_by_env ON executions (env, finished_at, spent_usd);
      CREATE INDEX executions_by_token ON executions (token_id, created_at);
    `,
  },
  {
    version: 6,
    name: 'scoped tokens',
    // Tokens minted with a master token, kept as the SHA-256 of the token, never the token.
    // Environments and actions are JSON arrays; environments ["*"] is every one.
    up: `
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        environments TEXT NOT NULL,
        actions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT NULL
      );
      CREATE INDEX api_tokens_newest_first ON api_tokens (created_at DESC, id DESC);
    `,
  },
  {
    version: 7,
    name: 'runs shared by replicas',
    // Which API replica owns each run (it runs it and holds what lives in memory: its CLI, its
    // approvals), and the run's place in its environment's queue: queue_seq, numbered per
    // environment when the run joins the queue (NULL while it is not waiting in it), steers
    // (queue_first) ahead of the rest.
    up: `
      ALTER TABLE executions ADD COLUMN owner_replica TEXT NULL;
      ALTER TABLE executions ADD COLUMN queue_seq INTEGER NULL;
      ALTER TABLE executions ADD COLUMN queue_first INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX executions_in_flight ON executions (env, status, queue_first, queue_seq);
      CREATE INDEX executions_by_owner ON executions (owner_replica, status);
    `,
  },
];
