import { retryDelayMs } from '../../../src/webhooks/webhook-delivery';

describe('retryDelayMs: the backoff schedule', () => {
  const schedule = { maxAttempts: 5, retryDelaysMs: [5_000, 300_000, 1_800_000] };

  it('waits the n-th delay after the n-th failed attempt, then repeats the last', () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, schedule))).toEqual([
      5_000, 300_000, 1_800_000, 1_800_000,
    ]);
  });

  it('leaves no attempt once WEBHOOK_MAX_ATTEMPTS have failed', () => {
    expect(retryDelayMs(5, schedule)).toBeNull();
    expect(retryDelayMs(1, { maxAttempts: 1, retryDelaysMs: [5_000] })).toBeNull();
  });
});
