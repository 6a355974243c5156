import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * How replicas show they are alive, and how soon the runs of one that is not are ended. An
 * abstract class to serve as its own injection token (tests give shorter timings).
 */
export abstract class LivenessTimings {
  /** How long a replica's key outlives its last refresh: it counts as gone that long after it stops. */
  abstract readonly ttlMs: number;
  /** How often a replica refreshes its key: a few refreshes fit in the TTL, so one slow one is no death. */
  abstract readonly refreshMs: number;
  /** How often a replica looks for runs whose owner is gone (one replica at a time). */
  abstract readonly reapEveryMs: number;
}

/**
 * A dead replica's key is gone at most TTL after its last refresh, and a pass of the reaper comes
 * at most one period later: its runs end `interrupted` within 10 s + 5 s = 15 s.
 */
export const DEFAULT_LIVENESS_TIMINGS: LivenessTimings = {
  ttlMs: 10_000,
  refreshMs: 3_000,
  reapEveryMs: 5_000,
};

/**
 * This replica's key in Redis (`<REDIS_KEY_PREFIX>replica:<REPLICA_ID>`), set at boot, refreshed
 * every `refreshMs` with a TTL of `ttlMs`, and deleted on a clean shutdown once the runs are
 * drained: a replica whose key is gone owns nothing that still runs. A refresh that fails is
 * logged and tried again at the next period. Without Redis there is no other replica: nothing.
 */
export class ReplicaLiveness implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReplicaLiveness.name);
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly redis: Redis | null,
    private readonly keyPrefix: string,
    readonly replicaId: string,
    private readonly timings: LivenessTimings,
  ) {}

  /** Before the history's recovery and before any request: the boot stops if the key cannot be set. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis) return;
    const previous = await this.setKey();
    // A crash less than a TTL ago leaves the key too; two live processes must not share an id.
    if (previous !== null) {
      this.logger.warn(
        `The key of replica ${this.replicaId} was still set at boot: a restart within ${this.timings.ttlMs} ms, or another live process with this REPLICA_ID (each replica needs its own)`,
      );
    }
    this.timer = setInterval(() => this.refresh(), this.timings.refreshMs).unref();
  }

  /** Runs after the executions' drain (this global module's hooks run last at shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.redis || this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.refreshing;
    try {
      await this.redis.del(this.keyOf(this.replicaId));
    } catch (error) {
      this.logger.warn(
        `Could not delete the key of replica ${this.replicaId} (it expires within ${this.timings.ttlMs} ms): ${(error as Error).message}`,
      );
    }
  }

  /** Which of `replicaIds` have their key now. Rejects when Redis does not answer. */
  async aliveAmong(replicaIds: readonly string[]): Promise<Set<string>> {
    if (!this.redis) throw new Error('Replica liveness needs Redis (REDIS_URL)');
    if (replicaIds.length === 0) return new Set();
    const values = await this.redis.mget(replicaIds.map((id) => this.keyOf(id)));
    return new Set(replicaIds.filter((_id, index) => values[index] !== null));
  }

  private refresh(): void {
    if (this.refreshing || this.stopped) return;
    this.refreshing = this.setKey()
      .then((previous) => {
        if (previous !== null) return;
        this.logger.error(
          `The key of replica ${this.replicaId} had expired (Redis unreachable or this process stalled for ${this.timings.ttlMs} ms): other replicas may have ended its runs as interrupted`,
        );
      })
      .catch((error: unknown) =>
        this.logger.warn(
          `Could not refresh the key of replica ${this.replicaId}: ${(error as Error).message}; trying again in ${this.timings.refreshMs} ms`,
        ),
      )
      .finally(() => (this.refreshing = null));
  }

  /** Sets the key for another TTL; answers its previous value (null: it was not set). */
  private setKey(): Promise<string | null> {
    const redis = this.redis as Redis;
    const now = new Date().toISOString();
    return redis.set(this.keyOf(this.replicaId), now, 'PX', this.timings.ttlMs, 'GET');
  }

  private keyOf(replicaId: string): string {
    return `${this.keyPrefix}replica:${replicaId}`;
  }
}
