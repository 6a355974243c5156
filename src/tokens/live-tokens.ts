import { Injectable, OnModuleInit } from '@nestjs/common';
import { hash } from 'node:crypto';
import { ScopedTokens, TokenGrant } from '../common/auth/scoped-tokens';
import { Clock } from '../common/clock';
import { ALL_ENVIRONMENTS } from './dto/token.dto';
import { StoredToken, TokensRepository } from './tokens.repository';

/** Every scoped token starts so, which tells it from a master token at a glance (and in a leak scan). */
export const SCOPED_TOKEN_PREFIX = 'cca_';

/** The SHA-256 the store keeps of a token. Unsalted: a token has 256 random bits, nothing to guess. */
export function tokenHash(token: string): string {
  return hash('sha256', token, 'hex');
}

interface LiveToken extends TokenGrant {
  readonly expiresAtMs: number;
}

/**
 * The live scoped tokens, in memory by hash, so the guard checks one without a query: loaded from
 * the store at boot, told of each mint and revocation as the store is written. Expiry is checked
 * on every use, so an expired or revoked token is refused from the very next request.
 */
@Injectable()
export class LiveTokens extends ScopedTokens implements OnModuleInit {
  private readonly byHash = new Map<string, LiveToken>();

  constructor(
    private readonly repository: TokensRepository,
    private readonly clock: Clock,
  ) {
    super();
  }

  // Awaited by Nest: the application serves no request before the live tokens are loaded.
  async onModuleInit(): Promise<void> {
    for (const token of await this.repository.live(new Date(this.clock.now()).toISOString())) {
      this.add(token);
    }
  }

  add(token: StoredToken): void {
    this.byHash.set(token.tokenHash, {
      id: token.id,
      environments: token.environments.includes(ALL_ENVIRONMENTS)
        ? null
        : new Set(token.environments),
      actions: new Set(token.actions),
      expiresAtMs: Date.parse(token.expiresAt),
    });
  }

  remove(token: StoredToken): void {
    this.byHash.delete(token.tokenHash);
  }

  /**
   * Forgets the tokens expired by `now`. `verify` drops one it is shown, but a token function's
   * client moves to a fresh token before the old one lapses, so most expire unseen.
   */
  dropExpired(now: number): void {
    for (const [key, live] of this.byHash) {
      if (live.expiresAtMs <= now) this.byHash.delete(key);
    }
  }

  // A lookup by hash needs no constant-time compare: a timing would tell at most how a guess's
  // SHA-256 compares with a stored one, which says nothing about a token.
  verify(token: string): TokenGrant | null {
    if (!token.startsWith(SCOPED_TOKEN_PREFIX)) return null;
    const key = tokenHash(token);
    const live = this.byHash.get(key);
    if (!live) return null;
    if (live.expiresAtMs <= this.clock.now()) {
      this.byHash.delete(key);
      return null;
    }
    return live;
  }
}
