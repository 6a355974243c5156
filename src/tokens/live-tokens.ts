import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { hash, randomUUID } from 'node:crypto';
import { ScopedTokens, TokenGrant } from '../common/auth/scoped-tokens';
import { Clock } from '../common/clock';
import { BusChannel, ReplicaBus, stringFieldsChannel } from '../common/coordination/replica-bus';
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
  /** When the store last said so (replicas: it is asked again past TOKEN_RECHECK_MS). */
  readonly checkedAtMs: number;
}

/** A token changed in the store (revoked): each replica forgets what it holds of it, and says so. */
interface TokenChanged {
  tokenHash: string;
  /** Its announcement, which the answers name. */
  announcement: string;
}

const HEX_64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Only a hash: the bus says what to forget, never what to grant, so a forged message grants nothing. */
export const TOKEN_CHANGED: BusChannel<TokenChanged> = {
  name: 'tokens.changed',
  parse: (value) => {
    const { tokenHash, announcement } = (value ?? {}) as Partial<TokenChanged>;
    if (typeof tokenHash !== 'string' || !HEX_64.test(tokenHash)) {
      throw new Error('tokenHash is not 64 hex digits');
    }
    if (typeof announcement !== 'string' || !UUID.test(announcement)) {
      throw new Error('announcement is not a UUID');
    }
    return { tokenHash, announcement };
  },
};

/** A replica's answer to a TokenChanged: it has forgotten the token; `to` announced it. */
export const TOKEN_FORGOTTEN = stringFieldsChannel('tokens.forgotten', ['announcement', 'to']);

/** How long a revocation waits for the other replicas to say they forgot the token. */
export const ANNOUNCEMENT_WAIT_MS = 2_000;

/**
 * With replicas, how long one trusts a token it holds without asking the store: the bound on a
 * revocation whose announcement was lost (the revoking replica's Redis link was down).
 */
export const TOKEN_RECHECK_MS = 30_000;
/** With replicas, how long a hash the store does not know (or refuses) is refused without asking. */
export const UNKNOWN_TOKEN_TTL_MS = 5_000;
const MAX_UNKNOWN_TOKENS = 10_000;

/**
 * The live scoped tokens, in memory by hash, so the guard checks one without a query: loaded from
 * the store at boot, told of each mint and revocation as the store is written. Expiry is checked
 * on every use, so an expired or revoked token is refused from the very next request.
 *
 * With replicas (REDIS_URL), a token minted or revoked on another one is not in this memory, or
 * is stale: a hash it does not hold is looked up in the store (the mint is committed before its
 * client sees the token), a revocation is announced on the bus and forgets the hash everywhere,
 * and while this replica's bus link is down every check asks the store. A refusal is remembered
 * for UNKNOWN_TOKEN_TTL_MS, so a client that retries a bad token does not reach the store each
 * time; distinct random tokens are bounded by the IP throttle, which counts before the auth.
 */
@Injectable()
export class LiveTokens extends ScopedTokens implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LiveTokens.name);
  private readonly byHash = new Map<string, LiveToken>();
  /** Hash → until when it is refused without asking the store (replicas only). */
  private readonly unknown = new Map<string, number>();
  /** The store lookups under way, one per hash. */
  private readonly lookups = new Map<string, Promise<TokenGrant | null>>();
  /** This replica's announcements waiting for answers: id → the replicas that answered. */
  private readonly announcements = new Map<string, { answered: Set<string>; check: () => void }>();
  private stopListening: () => Promise<void> = () => Promise.resolve();

  constructor(
    private readonly repository: TokensRepository,
    private readonly clock: Clock,
    private readonly bus: ReplicaBus,
  ) {
    super();
  }

  // Awaited by Nest: the application serves no request before the live tokens are loaded.
  async onModuleInit(): Promise<void> {
    for (const token of await this.repository.live(new Date(this.clock.now()).toISOString())) {
      this.add(token);
    }
    if (!this.bus.shared) return;
    const stops = [
      await this.bus.subscribe(TOKEN_CHANGED, (changed, from) =>
        this.changedElsewhere(changed, from),
      ),
      await this.bus.subscribe(TOKEN_FORGOTTEN, ({ announcement, to }, from) => {
        const waiting = to === this.bus.replicaId && this.announcements.get(announcement);
        if (!waiting) return;
        waiting.answered.add(from);
        waiting.check();
      }),
    ];
    // Announcements sent while the link was down are lost: forget everything, ask the store again.
    const stopResync = this.bus.onReconnect(() => this.forgetAll());
    this.stopListening = async () => {
      stopResync();
      await Promise.all(stops.map((stop) => stop()));
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopListening();
  }

  add(token: StoredToken): void {
    this.unknown.delete(token.tokenHash);
    this.byHash.set(token.tokenHash, {
      id: token.id,
      environments: token.environments.includes(ALL_ENVIRONMENTS)
        ? null
        : new Set(token.environments),
      actions: new Set(token.actions),
      expiresAtMs: Date.parse(token.expiresAt),
      checkedAtMs: this.clock.now(),
    });
  }

  remove(token: StoredToken): void {
    this.byHash.delete(token.tokenHash);
  }

  /**
   * Tells the other replicas that the token changed in the store (revoked), and waits until each
   * says it forgot it, so it is refused everywhere once this resolves. A replica that does not
   * answer within ANNOUNCEMENT_WAIT_MS is logged; it refuses the token within TOKEN_RECHECK_MS.
   */
  async announce(token: StoredToken): Promise<void> {
    if (!this.bus.shared) return;
    const announcement = randomUUID();
    const answered = new Set<string>();
    let expected = Infinity;
    let allAnswered = (): void => undefined;
    const answers = new Promise<void>((resolve) => (allAnswered = resolve));
    const check = () => {
      if (answered.size >= expected) allAnswered();
    };
    this.announcements.set(announcement, { answered, check });
    let timer: NodeJS.Timeout | undefined;
    try {
      const reached = await this.bus.publish(TOKEN_CHANGED, {
        tokenHash: token.tokenHash,
        announcement,
      });
      // Every replica reached but this one.
      expected = reached - (this.bus.connected ? 1 : 0);
      check();
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), ANNOUNCEMENT_WAIT_MS);
      });
      if (await Promise.race([answers.then(() => false), timedOut])) {
        this.logger.warn(
          `${answered.size} of ${expected} other replicas said within ${ANNOUNCEMENT_WAIT_MS} ms that they forgot token ${token.id}; the others refuse it within ${TOKEN_RECHECK_MS / 1000} s`,
        );
      }
    } catch (error) {
      this.logger.error(
        `Could not tell the other replicas that token ${token.id} changed (${(error as Error).message}); they refuse it within ${TOKEN_RECHECK_MS / 1000} s`,
      );
    } finally {
      clearTimeout(timer);
      this.announcements.delete(announcement);
    }
  }

  /**
   * Forgets the tokens expired by `now`. `verify` drops one it is shown, but a token function's
   * client moves to a fresh token before the old one lapses, so most expire unseen.
   */
  dropExpired(now: number): void {
    for (const [key, live] of this.byHash) {
      if (live.expiresAtMs <= now) this.byHash.delete(key);
    }
    for (const [key, until] of this.unknown) {
      if (until <= now) this.unknown.delete(key);
    }
  }

  // A lookup by hash needs no constant-time compare: a timing would tell at most how a guess's
  // SHA-256 compares with a stored one, which says nothing about a token.
  verify(token: string): TokenGrant | null | Promise<TokenGrant | null> {
    if (!token.startsWith(SCOPED_TOKEN_PREFIX)) return null;
    const key = tokenHash(token);
    const now = this.clock.now();
    if (!this.bus.shared) return this.unexpired(key, this.byHash.get(key), now);
    if (this.bus.connected) {
      const live = this.byHash.get(key);
      if (live && now - live.checkedAtMs < TOKEN_RECHECK_MS) return this.unexpired(key, live, now);
      if ((this.unknown.get(key) ?? 0) > now) return null;
    }
    return this.lookUp(key);
  }

  private unexpired(key: string, live: LiveToken | undefined, now: number): TokenGrant | null {
    if (!live) return null;
    if (live.expiresAtMs <= now) {
      this.byHash.delete(key);
      return null;
    }
    return live;
  }

  /** Asks the store, once per hash at a time; an answer the bus made stale is asked again. */
  private lookUp(key: string): Promise<TokenGrant | null> {
    const pending = this.lookups.get(key);
    if (pending) return pending;
    const lookup = this.repository.byHash(key).then(
      (stored): TokenGrant | null | Promise<TokenGrant | null> => {
        if (this.lookups.get(key) !== lookup) return this.lookUp(key);
        this.lookups.delete(key);
        const now = this.clock.now();
        if (!stored || stored.revokedAt !== null || Date.parse(stored.expiresAt) <= now) {
          this.refuse(key, now);
          return null;
        }
        this.add(stored);
        return this.unexpired(key, this.byHash.get(key), now);
      },
      (error: unknown) => {
        if (this.lookups.get(key) === lookup) this.lookups.delete(key);
        throw error;
      },
    );
    this.lookups.set(key, lookup);
    return lookup;
  }

  private refuse(key: string, now: number): void {
    this.byHash.delete(key);
    if (this.unknown.size >= MAX_UNKNOWN_TOKENS && !this.unknown.has(key)) {
      this.unknown.delete(this.unknown.keys().next().value as string);
    }
    this.unknown.set(key, now + UNKNOWN_TOKEN_TTL_MS);
  }

  private changedElsewhere({ tokenHash, announcement }: TokenChanged, from: string): void {
    if (from === this.bus.replicaId) return;
    this.forget(tokenHash);
    this.bus.publish(TOKEN_FORGOTTEN, { announcement, to: from }).catch((error: Error) => {
      this.logger.warn(`Could not answer ${from}'s token announcement: ${error.message}`);
    });
  }

  private forget(key: string): void {
    this.byHash.delete(key);
    this.unknown.delete(key);
    this.lookups.delete(key);
  }

  private forgetAll(): void {
    this.byHash.clear();
    this.unknown.clear();
    this.lookups.clear();
  }
}
