import { CreatedAtCursor } from '../common/http/cursor';
import { Injectable } from '@nestjs/common';
import { TokenAction } from '../common/routes/required-scope.decorator';
import { SqlStore } from '../store/sql-store';

/** A scoped token as the store keeps it: its SHA-256, never the token. */
export interface StoredToken {
  id: string;
  tokenHash: string;
  name: string;
  environments: string[];
  actions: TokenAction[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

interface TokenRow {
  id: string;
  token_hash: string;
  name: string;
  environments: string;
  actions: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** The scoped tokens (`api_tokens`). Timestamps are ISO strings, so they compare as text. */
@Injectable()
export class TokensRepository {
  constructor(private readonly store: SqlStore) {}

  async insert(token: StoredToken): Promise<void> {
    await this.store.run(
      `INSERT INTO api_tokens (id, token_hash, name, environments, actions, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        token.id,
        token.tokenHash,
        token.name,
        JSON.stringify(token.environments),
        JSON.stringify(token.actions),
        token.createdAt,
        token.expiresAt,
      ],
    );
  }

  async get(id: string): Promise<StoredToken | null> {
    const row = await this.store.get<TokenRow>('SELECT * FROM api_tokens WHERE id = ?', [id]);
    return row ? toStoredToken(row) : null;
  }

  /** The token of that hash, whatever its state. */
  async byHash(tokenHash: string): Promise<StoredToken | null> {
    const row = await this.store.get<TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?', [
      tokenHash,
    ]);
    return row ? toStoredToken(row) : null;
  }

  /** Kept tokens, newest first: `limit` of them from just after `before` (from the newest without). */
  async list(before: CreatedAtCursor | undefined, limit: number): Promise<StoredToken[]> {
    const rows = before
      ? await this.store.all<TokenRow>(
          `SELECT * FROM api_tokens WHERE created_at < ? OR (created_at = ? AND id < ?)
           ORDER BY created_at DESC, id DESC LIMIT ?`,
          [before.createdAt, before.createdAt, before.id, limit],
        )
      : await this.store.all<TokenRow>(
          'SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC LIMIT ?',
          [limit],
        );
    return rows.map(toStoredToken);
  }

  /** The tokens neither revoked nor expired at `now`. */
  async live(now: string): Promise<StoredToken[]> {
    const rows = await this.store.all<TokenRow>(
      'SELECT * FROM api_tokens WHERE revoked_at IS NULL AND expires_at > ?',
      [now],
    );
    return rows.map(toStoredToken);
  }

  /** Marks the token revoked at `at`, unless it already was; false when there is no such token. */
  async revoke(id: string, at: string): Promise<boolean> {
    const { changes } = await this.store.run(
      'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?',
      [at, id],
    );
    return changes > 0;
  }

  /** Deletes the tokens that expired, or were revoked, before `cutoff`; returns how many. */
  async pruneBefore(cutoff: string): Promise<number> {
    const { changes } = await this.store.run(
      'DELETE FROM api_tokens WHERE expires_at < ? OR revoked_at < ?',
      [cutoff, cutoff],
    );
    return changes;
  }
}

function toStoredToken(row: TokenRow): StoredToken {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    name: row.name,
    environments: JSON.parse(row.environments) as string[],
    actions: JSON.parse(row.actions) as TokenAction[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
