import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ThrottlerStorageRecord, WindowCounterStorage } from './window-counter.storage';

/**
 * `WindowCounterStorage`'s window and block in one Lua script, so a hit is one atomic round trip
 * whichever replica makes it, on Redis's clock (replicas' clocks may differ). A key is a hash
 * {start, current, previous, blockedUntil}, expiring once neither its window nor its block counts.
 * Returns {totalHits, ms to the window's end, blocked 0/1, ms to the block's end}.
 */
const HIT_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl, limit, block = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local saved = redis.call('HMGET', KEYS[1], 'start', 'current', 'previous', 'blockedUntil')
local start = tonumber(saved[1])
local current, previous = tonumber(saved[2]) or 0, tonumber(saved[3]) or 0
local blockedUntil = tonumber(saved[4]) or 0
if start == nil or (blockedUntil ~= 0 and blockedUntil <= now) then
  start, current, previous, blockedUntil = now, 0, 0, 0
else
  local elapsed = math.floor((now - start) / ttl)
  if elapsed > 0 then
    if elapsed == 1 then previous = current else previous = 0 end
    current = 0
    start = start + elapsed * ttl
  end
end
if blockedUntil > now then
  local total = math.floor(previous * (1 - (now - start) / ttl)) + current
  return {total, start + ttl - now, 1, blockedUntil - now}
end
current = current + 1
local total = math.floor(previous * (1 - (now - start) / ttl)) + current
local blocked = 0
if total > limit then
  blocked = 1
  blockedUntil = now + block
end
redis.call('HSET', KEYS[1], 'start', string.format('%.0f', start), 'current', current,
  'previous', previous, 'blockedUntil', string.format('%.0f', blockedUntil))
redis.call('PEXPIRE', KEYS[1], math.max(start + 2 * ttl - now, blockedUntil - now, 1))
return {total, start + ttl - now, blocked, blocked * block}
`;
const HIT_SCRIPT_SHA = createHash('sha1').update(HIT_SCRIPT).digest('hex');

const seconds = (ms: number): number => Math.ceil(ms / 1000);

/**
 * The throttling counters in Redis (REDIS_URL), so a limit counts the requests of every replica
 * together, with `WindowCounterStorage`'s semantics. When Redis fails or is slower than
 * REDIS_TIMEOUT_MS, a hit is counted in this replica's own `WindowCounterStorage` instead (a
 * limit then holds per replica, not across them), rather than refusing every request or letting
 * them all through; one warning per outage says so.
 */
export class RedisWindowCounterStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('Throttling');
  private readonly fallback = new WindowCounterStorage();
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /** The library's name for `hit`. */
  increment(...hit: Parameters<RedisWindowCounterStorage['hit']>): Promise<ThrottlerStorageRecord> {
    return this.hit(...hit);
  }

  async hit(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    let reply: number[];
    try {
      reply = await this.run(`${this.keyPrefix}throttle:${key}`, ttl, limit, blockDuration);
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          `Redis failed (${(error as Error).message}): counting in this replica until it answers`,
        );
      }
      return this.fallback.hit(key, ttl, limit, blockDuration);
    }
    if (this.degraded) {
      this.degraded = false;
      this.logger.log('Redis answers again: counting across the replicas');
    }
    const [totalHits, msToExpire, blocked, msToBlockExpire] = reply;
    return {
      totalHits,
      timeToExpire: seconds(msToExpire),
      isBlocked: blocked === 1,
      timeToBlockExpire: seconds(msToBlockExpire),
    };
  }

  onApplicationShutdown(): void {
    this.fallback.onApplicationShutdown();
  }

  private async run(key: string, ...args: number[]): Promise<number[]> {
    try {
      return (await this.redis.evalsha(HIT_SCRIPT_SHA, 1, key, ...args)) as number[];
    } catch (error) {
      // Loaded once per Redis (and again after its restart).
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return (await this.redis.eval(HIT_SCRIPT, 1, key, ...args)) as number[];
    }
  }
}
