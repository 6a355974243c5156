import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Coordination } from '../../src/common/coordination/coordination.module';
import { RedisWindowCounterStorage } from '../../src/common/throttling/redis-window-counter.storage';
import { strictMock } from '../support/strict-mock';
import { connectTestRedis, testRedisSettings } from '../support/test-redis';

const TTL = 60_000;
const LIMIT = 4;

describe('RedisWindowCounterStorage against a real Redis', () => {
  const settings = testRedisSettings();
  let coordination: Coordination;
  let storage: RedisWindowCounterStorage;
  let redis: Redis;

  beforeAll(async () => {
    coordination = await connectTestRedis('throttle', settings);
    redis = coordination.redis!.commands;
    storage = new RedisWindowCounterStorage(redis, settings.REDIS_KEY_PREFIX);
  });
  afterAll(async () => {
    storage?.onApplicationShutdown();
    await coordination?.onApplicationShutdown();
  });

  const hits = async (count: number, key: string) => {
    const blocked: boolean[] = [];
    for (let i = 0; i < count; i++)
      blocked.push((await storage.hit(key, TTL, LIMIT, TTL)).isBlocked);
    return blocked;
  };

  it('lets the limit through, then blocks for the block duration without counting, per key', async () => {
    expect(await hits(LIMIT, 'ip:a')).toEqual([false, false, false, false]);
    const over = await storage.hit('ip:a', TTL, LIMIT, TTL);
    expect(over).toMatchObject({ totalHits: LIMIT + 1, isBlocked: true, timeToBlockExpire: 60 });
    const again = await storage.increment('ip:a', TTL, LIMIT, TTL);
    expect(again).toMatchObject({ totalHits: LIMIT + 1, isBlocked: true });
    expect(again.timeToBlockExpire).toBeLessThanOrEqual(60);
    expect(await hits(1, 'ip:b')).toEqual([false]);
  });

  it('keeps a key under the prefix only while its window or block counts', async () => {
    await storage.hit('token:t', TTL, LIMIT, TTL);
    const key = `${settings.REDIS_KEY_PREFIX}throttle:token:t`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * TTL);
    expect(await redis.hget(key, 'current')).toBe('1');
  });
});

describe('RedisWindowCounterStorage when Redis fails', () => {
  it('sends its script again when Redis has forgotten it (a restart)', async () => {
    const evalsha = jest.fn(() => Promise.reject(new Error('NOSCRIPT No matching script.')));
    const evalScript = jest.fn(() => Promise.resolve([1, 60_000, 0, 0]));
    const redis = strictMock<Redis>('Redis', { evalsha, eval: evalScript } as never);
    const storage = new RedisWindowCounterStorage(redis, 'p:');
    expect((await storage.hit('ip:a', TTL, LIMIT, TTL)).totalHits).toBe(1);
    expect(evalScript).toHaveBeenCalledWith(
      expect.stringContaining("redis.call('TIME')"),
      1,
      'p:throttle:ip:a',
      TTL,
      LIMIT,
      TTL,
    );
    storage.onApplicationShutdown();
  });

  it('counts in this replica and warns once, until Redis answers again', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const evalsha = jest.fn(() => Promise.reject(new Error("Stream isn't writeable")));
    const storage = new RedisWindowCounterStorage(
      strictMock<Redis>('Redis', { evalsha } as never),
      'p:',
    );
    const blocked: boolean[] = [];
    for (let i = 0; i < LIMIT + 1; i++)
      blocked.push((await storage.hit('ip:a', TTL, LIMIT, TTL)).isBlocked);
    expect(blocked).toEqual([false, false, false, false, true]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      "Redis failed (Stream isn't writeable): counting in this replica until it answers",
    );

    evalsha.mockImplementation(() => Promise.resolve([1, 60_000, 0, 0]) as never);
    expect(await storage.hit('ip:a', TTL, LIMIT, TTL)).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(log).toHaveBeenCalledWith('Redis answers again: counting across the replicas');
    storage.onApplicationShutdown();
    jest.restoreAllMocks();
  });
});
