/** One step of the store's schema. Versions are applied in order, each once, and never edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL run inside the migration's transaction. */
  readonly up: string;
}

/**
 * The schema, oldest first. Append new steps (the next is `executions`, the run history); never
 * change or reorder one that has shipped.
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
];
