import { loadConfig } from '../../../src/common/config/load-config';
import { ApiError } from '../../../src/common/errors/api-error';
import { InProcessRunQueue, QueuedRun } from '../../../src/executions/run-queue';
import { RunRegistry } from '../../../src/sessions/run-registry';

/** Runs that finish only when the test says so, recording the order they started in. */
function harness(settings: Record<string, string>) {
  const config = loadConfig({ API_TOKEN: 'q'.repeat(32), ...settings });
  const registry = new RunRegistry();
  const queue = new InProcessRunQueue(config, registry);
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const run = (id: string, env: string, sessionId = `session-${id}`): QueuedRun => ({
    id,
    env,
    sessionId,
    start: () =>
      new Promise<void>((resolve) => {
        started.push(id);
        finishers.set(id, resolve);
      }),
  });
  const finish = async (id: string) => {
    finishers.get(id)?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { queue, registry, started, run, finish };
}

describe('InProcessRunQueue', () => {
  it('starts runs in FIFO order per environment, never more than the limit at once', async () => {
    const { queue, registry, started, run, finish } = harness({ MAX_CONCURRENT_PER_ENV: '2' });
    for (const id of ['a', 'b', 'c', 'd']) queue.submit(run(id, 'dev'));
    expect(started).toEqual(['a', 'b']);
    expect(registry.runningCount('dev')).toBe(2);
    await finish('b');
    expect(started).toEqual(['a', 'b', 'c']);
    await finish('a');
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(registry.runningCount('dev')).toBe(2);
  });

  it('starts a run that waited for a session held outside the queue once the hold ends', () => {
    const { queue, registry, started, run } = harness({ MAX_CONCURRENT_PER_ENV: '2' });
    const release = registry.holdSession('dev', 'deleting');
    queue.submit(run('a', 'dev', 'deleting'));
    expect(started).toEqual([]);
    release();
    expect(started).toEqual(['a']);
    expect(queue.isSessionBusy('dev', 'deleting')).toBe(true);
  });

  it('keeps environments independent', () => {
    const { queue, started, run } = harness({ MAX_CONCURRENT_PER_ENV: '1' });
    queue.submit(run('a', 'dev'));
    queue.submit(run('b', 'dev'));
    queue.submit(run('c', 'staging'));
    expect(started).toEqual(['a', 'c']);
  });

  it('holds a run whose session is busy and lets later runs of other sessions pass it', async () => {
    const { queue, started, run, finish } = harness({ MAX_CONCURRENT_PER_ENV: '3' });
    queue.submit(run('a', 'dev', 'shared'));
    queue.submit(run('b', 'dev', 'shared'));
    queue.submit(run('c', 'dev', 'other'));
    expect(started).toEqual(['a', 'c']);
    expect(queue.isSessionBusy('dev', 'shared')).toBe(true);
    await finish('a');
    expect(started).toEqual(['a', 'c', 'b']);
    expect(queue.isSessionBusy('dev', 'shared')).toBe(true);
    await finish('b');
    expect(queue.isSessionBusy('dev', 'shared')).toBe(false);
  });

  it('puts a run submitted first ahead of the waiting ones, behind those put first before it', async () => {
    const { queue, started, run, finish } = harness({ MAX_CONCURRENT_PER_ENV: '1' });
    queue.submit(run('a', 'dev', 'shared'));
    queue.submit(run('b', 'dev'));
    queue.submit(run('steer-1', 'dev', 'shared'), { first: true });
    queue.submit(run('steer-2', 'dev', 'shared'), { first: true });
    expect(queue.placeOf('steer-1')).toEqual({ position: 1, behind: 'a' });
    expect(queue.placeOf('steer-2')).toEqual({ position: 2, behind: 'steer-1' });
    expect(queue.placeOf('b')).toEqual({ position: 3, behind: null });
    for (const id of ['a', 'steer-1', 'steer-2']) await finish(id);
    expect(started).toEqual(['a', 'steer-1', 'steer-2', 'b']);
  });

  it('refuses beyond MAX_QUEUE_PER_ENV with 429 QUEUE_FULL, and a removed run never starts', async () => {
    const { queue, started, run, finish } = harness({
      MAX_CONCURRENT_PER_ENV: '1',
      MAX_QUEUE_PER_ENV: '1',
    });
    queue.submit(run('a', 'dev'));
    queue.submit(run('b', 'dev'));
    let refusal: unknown;
    try {
      queue.submit(run('c', 'dev'));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ statusCode: 429, code: 'QUEUE_FULL' });
    expect(queue.remove('b')).toBe(true);
    expect(queue.remove('b')).toBe(false);
    await finish('a');
    expect(started).toEqual(['a']);
    expect(queue.waiting()).toEqual([]);
  });

  it('with no queue at all, still starts a run that can start at once', () => {
    const { queue, started, run } = harness({
      MAX_CONCURRENT_PER_ENV: '1',
      MAX_QUEUE_PER_ENV: '0',
    });
    queue.submit(run('a', 'dev'));
    expect(started).toEqual(['a']);
    expect(() => queue.submit(run('b', 'dev'))).toThrow(ApiError);
  });
});
