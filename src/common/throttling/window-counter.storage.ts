import { OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';

export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface WindowRecord {
  ttl: number;
  /** Start of the current window (ms since the epoch). */
  start: number;
  current: number;
  previous: number;
  /** While in the future, every hit is refused; 0 when not blocked. */
  blockedUntil: number;
}

export interface WindowCounterOptions {
  /** Keys kept at most; past it the key whose window started first is dropped. */
  maxKeys?: number;
  sweepIntervalMs?: number;
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);

/** Hits in the last `ttl`: the previous window's, in the share of it still inside, and the current. */
const estimate = (record: WindowRecord, now: number): number =>
  Math.floor(record.previous * (1 - (now - record.start) / record.ttl)) + record.current;

/**
 * A ThrottlerStorage with two counters per key, a sliding-window estimate (the previous window's
 * count, weighted by how much of it still overlaps the last `ttl`, plus the current one), where
 * the library's default keeps one timestamp per hit and filters them on every request. O(1) per
 * hit; memory bounded by `maxKeys`, and idle keys are swept by an unref'd timer.
 *
 * As the default storage does, a hit over the limit blocks the key for `blockDuration`, blocked
 * hits are not counted, and the count starts afresh when the block ends.
 */
export class WindowCounterStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly records = new Map<string, WindowRecord>();
  private readonly maxKeys: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: WindowCounterOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.records.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.hit(key, ttl, limit, blockDuration));
  }

  /** `increment` without the promise. */
  hit(key: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord {
    const now = Date.now();
    const record = this.current(key, ttl, now);
    const timeToExpire = seconds(record.start + ttl - now);
    if (record.blockedUntil > now) {
      return {
        totalHits: estimate(record, now),
        timeToExpire,
        isBlocked: true,
        timeToBlockExpire: seconds(record.blockedUntil - now),
      };
    }
    record.current += 1;
    const totalHits = estimate(record, now);
    const isBlocked = totalHits > limit;
    if (isBlocked) record.blockedUntil = now + blockDuration;
    return {
      totalHits,
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? seconds(blockDuration) : 0,
    };
  }

  /** Drops the keys whose windows no longer count and that are not blocked. */
  sweep(now = Date.now()): void {
    for (const [key, record] of this.records) {
      if (record.blockedUntil <= now && now - record.start >= 2 * record.ttl) {
        this.records.delete(key);
      }
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.records.clear();
  }

  /** The key's record with its windows moved up to `now`; a new or renewed one goes last. */
  private current(key: string, ttl: number, now: number): WindowRecord {
    let record = this.records.get(key);
    if (record && record.blockedUntil !== 0 && record.blockedUntil <= now) {
      this.records.delete(key);
      record = undefined;
    }
    if (!record) {
      if (this.records.size >= this.maxKeys) {
        this.records.delete(this.records.keys().next().value as string);
      }
      record = { ttl, start: now, current: 0, previous: 0, blockedUntil: 0 };
      this.records.set(key, record);
      return record;
    }
    const elapsed = Math.floor((now - record.start) / ttl);
    if (elapsed > 0) {
      record.previous = elapsed === 1 ? record.current : 0;
      record.current = 0;
      record.start += elapsed * ttl;
      // Keeps the map in window order, so the oldest window is the first key.
      this.records.delete(key);
      this.records.set(key, record);
    }
    return record;
  }
}
