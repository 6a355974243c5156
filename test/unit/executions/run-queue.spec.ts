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
    for (const id of ['a', 'b', 'c', 'd']) void queue.submit(run(id, 'dev'));
    expect(started).toEqual(['a', 'b']);
    expect(registry.runningCount('dev')).toBe(2);
    await finish('b');
    expect(started).toEqual(['a', 'b', 'c']);
    await finish('a');
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(registry.runningCount('dev')).toBe(2);
  });

  it('starts a run that waited for a session held outside the queue once the hold ends', async () => {
    const { queue, registry, started, run } = harness({ MAX_CONCURRENT_PER_ENV: '2' });
    const release = registry.holdSession('dev', 'deleting');
    void queue.submit(run('a', 'dev', 'deleting'));
    expect(started).toEqual([]);
    release();
    expect(started).toEqual(['a']);
    await expect(queue.isSessionBusy('dev', 'deleting')).resolves.toBe(true);
  });

  it('keeps environments independent', () => {
    const { queue, started, run } = harness({ MAX_CONCURRENT_PER_ENV: '1' });
    void queue.submit(run('a', 'dev'));
    void queue.submit(run('b', 'dev'));
    void queue.submit(run('c', 'staging'));
    expect(started).toEqual(['a', 'c']);
  });

  it('holds a run whose session is busy and lets later runs of other sessions pass it', async () => {
    const { queue, started, run, finish } = harness({ MAX_CONCURRENT_PER_ENV: '3' });
    void queue.submit(run('a', 'dev', 'shared'));
    void queue.submit(run('b', 'dev', 'shared'));
    void queue.submit(run('c', 'dev', 'other'));
    expect(started).toEqual(['a', 'c']);
    await expect(queue.isSessionBusy('dev', 'shared')).resolves.toBe(true);
    await finish('a');
    expect(started).toEqual(['a', 'c', 'b']);
    await expect(queue.isSessionBusy('dev', 'shared')).resolves.toBe(true);
    await finish('b');
    await expect(queue.isSessionBusy('dev', 'shared')).resolves.toBe(false);
  });

  it('puts a run submitted first ahead of the waiting ones, behind those put first before it', async () => {
    const { queue, started, run, finish } = harness({ MAX_CONCURRENT_PER_ENV: '1' });
    void queue.submit(run('a', 'dev', 'shared'));
    void queue.submit(run('b', 'dev'));
    void queue.submit(run('steer-1', 'dev', 'shared'), { first: true });
    void queue.submit(run('steer-2', 'dev', 'shared'), { first: true });
    await expect(queue.placeOf('steer-1')).resolves.toEqual({ position: 1, behind: 'a' });
    await expect(queue.placeOf('steer-2')).resolves.toEqual({ position: 2, behind: 'steer-1' });
    await expect(queue.placeOf('b')).resolves.toEqual({ position: 3, behind: null });
    for (const id of ['a', 'steer-1', 'steer-2']) await finish(id);
    expect(started).toEqual(['a', 'steer-1', 'steer-2', 'b']);
  });

  it('refuses beyond MAX_QUEUE_PER_ENV with 429 QUEUE_FULL, and a removed run never starts', async () => {
    const { queue, started, run, finish } = harness({
      MAX_CONCURRENT_PER_ENV: '1',
      MAX_QUEUE_PER_ENV: '1',
    });
    void queue.submit(run('a', 'dev'));
    void queue.submit(run('b', 'dev'));
    const refusal = queue.submit(run('c', 'dev'));
    await expect(refusal).rejects.toBeInstanceOf(ApiError);
    await expect(refusal).rejects.toMatchObject({ statusCode: 429, code: 'QUEUE_FULL' });
    await expect(queue.remove('b')).resolves.toBe(true);
    await expect(queue.remove('b')).resolves.toBe(false);
    await finish('a');
    expect(started).toEqual(['a']);
    expect(queue.waiting()).toEqual([]);
  });

  it('with no queue at all, still starts a run that can start at once', async () => {
    const { queue, started, run } = harness({
      MAX_CONCURRENT_PER_ENV: '1',
      MAX_QUEUE_PER_ENV: '0',
    });
    void queue.submit(run('a', 'dev'));
    expect(started).toEqual(['a']);
    await expect(queue.submit(run('b', 'dev'))).rejects.toBeInstanceOf(ApiError);
  });
});
