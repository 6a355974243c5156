import { WindowCounterStorage } from '../../../../src/common/throttling/window-counter.storage';

const TTL = 60_000;
const LIMIT = 4;

describe('WindowCounterStorage', () => {
  let storage: WindowCounterStorage;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-12-01T00:00:00Z') });
    storage = new WindowCounterStorage({ sweepIntervalMs: TTL });
  });
  afterEach(() => {
    storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  /** `count` hits on `key`; which of them were blocked. */
  const hits = (count: number, key = 'ip:a') =>
    Array.from({ length: count }, () => storage.hit(key, TTL, LIMIT, TTL).isBlocked);

  it('lets the limit through, blocks the next hit for the block duration, and counts per key', async () => {
    expect(hits(LIMIT)).toEqual([false, false, false, false]);
    const over = storage.hit('ip:a', TTL, LIMIT, TTL);
    expect(over).toMatchObject({ isBlocked: true, timeToBlockExpire: 60 });
    expect(hits(1, 'ip:b')).toEqual([false]);
    // The promise form the guard calls says the same.
    await expect(storage.increment('ip:a', TTL, LIMIT, TTL)).resolves.toMatchObject({
      isBlocked: true,
    });
  });

  it('keeps refusing during the block, with a Retry-After that counts down, then starts afresh', () => {
    hits(LIMIT + 1);
    jest.advanceTimersByTime(45_500);
    expect(storage.hit('ip:a', TTL, LIMIT, TTL)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 15,
    });
    jest.advanceTimersByTime(14_500);
    expect(hits(LIMIT + 1)).toEqual([false, false, false, false, true]);
  });

  it('counts the share of the previous window that still overlaps the last ttl', () => {
    expect(hits(LIMIT)).toEqual([false, false, false, false]);
    // Half of the previous window (4 hits) still counts: 2 more are allowed.
    jest.advanceTimersByTime(TTL + TTL / 2);
    expect(hits(3)).toEqual([false, false, true]);
  });

  it('forgets a window two ttls old', () => {
    // Off the sweep's beat, so the sweep does not drop the key first.
    jest.advanceTimersByTime(TTL / 2);
    hits(LIMIT);
    jest.advanceTimersByTime(2 * TTL);
    expect(hits(LIMIT + 1)).toEqual([false, false, false, false, true]);
  });

  it('reports the seconds left in the window', () => {
    hits(1);
    jest.advanceTimersByTime(20_000);
    expect(storage.hit('ip:a', TTL, LIMIT, TTL).timeToExpire).toBe(40);
  });

  it('keeps at most maxKeys, dropping the key whose window started first', () => {
    const small = new WindowCounterStorage({ maxKeys: 2 });
    try {
      for (const key of ['a', 'b', 'c']) small.hit(key, TTL, 1, TTL);
      expect(small.size).toBe(2);
      expect(small.hit('b', TTL, 1, TTL).isBlocked).toBe(true);
      expect(small.hit('a', TTL, 1, TTL).isBlocked).toBe(false);
    } finally {
      small.onApplicationShutdown();
    }
  });

  it('sweeps idle keys on its timer but keeps the blocked ones', () => {
    hits(1, 'idle');
    for (let i = 0; i <= LIMIT; i += 1) storage.hit('blocked', TTL, LIMIT, 3 * TTL);
    jest.advanceTimersByTime(2 * TTL);
    expect(storage.size).toBe(1);
    expect(storage.hit('blocked', TTL, LIMIT, 3 * TTL)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 60,
    });
  });
});
