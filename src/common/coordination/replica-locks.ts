import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

/** Deletes the lock only while it still holds this holder's token: once expired, another may hold it. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Named locks across replicas: a Redis key (`<REDIS_KEY_PREFIX>lock:<name>`) set only if absent
 * (SET NX PX), with an expiry, so a replica that dies holding one holds it no longer than that.
 * Without Redis there is no other replica, and the work just runs.
 */
export class ReplicaLocks {
  constructor(
    private readonly redis: Redis | null,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Runs `work` while this replica holds the lock `name`, and answers what it answers; answers
   * null, without running it, when another replica holds the lock. The lock expires after `ttlMs`
   * even if `work` has not finished. Rejects when Redis does not answer.
   */
  async exclusively<T extends object>(
    name: string,
    ttlMs: number,
    work: () => Promise<T>,
  ): Promise<T | null> {
    if (!this.redis) return work();
    const key = `${this.keyPrefix}lock:${name}`;
    const token = randomBytes(16).toString('hex');
    if ((await this.redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
    try {
      return await work();
    } finally {
      // A failed release only leaves the lock to expire.
      await this.redis.eval(RELEASE_SCRIPT, 1, key, token).catch(() => undefined);
    }
  }
}
