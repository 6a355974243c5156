import { CreatedAtCursor } from '../common/http/cursor';
import { Injectable } from '@nestjs/common';
import { TokenAction } from '../common/routes/required-scope.decorator';
import { DatabaseService } from '../store/database.service';

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
  constructor(private readonly database: DatabaseService) {}

  insert(token: StoredToken): void {
    this.database
      .statement(
        `INSERT INTO api_tokens (id, token_hash, name, environments, actions, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        token.id,
        token.tokenHash,
        token.name,
        JSON.stringify(token.environments),
        JSON.stringify(token.actions),
        token.createdAt,
        token.expiresAt,
      );
  }

  get(id: string): StoredToken | null {
    const row = this.database
      .statement<[string], TokenRow>('SELECT * FROM api_tokens WHERE id = ?')
      .get(id);
    return row ? toStoredToken(row) : null;
  }

  /** The token of that hash, whatever its state (asynchronous, as every store call is to be). */
  byHash(tokenHash: string): Promise<StoredToken | null> {
    const row = this.database
      .statement<[string], TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?')
      .get(tokenHash);
    return Promise.resolve(row ? toStoredToken(row) : null);
  }

  /** Kept tokens, newest first: `limit` of them from just after `before` (from the newest without). */
  list(before: CreatedAtCursor | undefined, limit: number): StoredToken[] {
    const rows = before
      ? this.database
          .statement<[string, string, string, number], TokenRow>(
            `SELECT * FROM api_tokens WHERE created_at < ? OR (created_at = ? AND id < ?)
             ORDER BY created_at DESC, id DESC LIMIT ?`,
          )
          .all(before.createdAt, before.createdAt, before.id, limit)
      : this.database
          .statement<[number], TokenRow>(
            'SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC LIMIT ?',
          )
          .all(limit);
    return rows.map(toStoredToken);
  }

  /** The tokens neither revoked nor expired at `now`. */
  live(now: string): StoredToken[] {
    return this.database
      .statement<[string], TokenRow>(
        'SELECT * FROM api_tokens WHERE revoked_at IS NULL AND expires_at > ?',
      )
      .all(now)
      .map(toStoredToken);
  }

  /** Marks the token revoked at `at`, unless it already was; false when there is no such token. */
  revoke(id: string, at: string): boolean {
    return (
      this.database
        .statement('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?')
        .run(at, id).changes > 0
    );
  }

  /** Deletes the tokens that expired, or were revoked, before `cutoff`; returns how many. */
  pruneBefore(cutoff: string): number {
    return this.database
      .statement('DELETE FROM api_tokens WHERE expires_at < ? OR revoked_at < ?')
      .run(cutoff, cutoff).changes;
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
