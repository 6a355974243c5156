import { loadConfig } from '../../src/common/config/load-config';
import { Coordination } from '../../src/common/coordination/coordination.module';
import { RedisReplicaBus } from '../../src/common/coordination/redis-replica-bus';
import { ApiError } from '../../src/common/errors/api-error';
import { ExecutionStatus } from '../../src/executions/execution-status';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { QueuedRun } from '../../src/executions/run-queue';
import { SharedRunQueue } from '../../src/executions/shared-run-queue';
import { RunRegistry } from '../../src/sessions/run-registry';
import { PostgresStore } from '../../src/store/postgres-store';
import { makePostgresStore } from '../support/postgres';
import { END } from '../support/store-contract';
import { connectTestRedis, testRedisSettings } from '../support/test-redis';
import { waitUntil } from '../support/wait';

// Two replicas' queues on one PostgreSQL database and one Redis, as two API processes have them.
// Needs both servers (scripts/ensure-postgres.sh, scripts/ensure-redis.sh).
jest.setTimeout(60_000);

interface Replica {
  queue: SharedRunQueue;
  registry: RunRegistry;
  coordination: Coordination;
}

describe('SharedRunQueue: one queue for several replicas', () => {
  let store: PostgresStore;
  let closeStore: () => Promise<void>;
  let repository: ExecutionsRepository;
  const replicas: Replica[] = [];
  /** Runs started, in order, over every replica: `${replica}:${id}`. */
  let started: string[];
  let runningNow: number;
  let mostAtOnce: number;
  const finishers = new Map<string, () => void>();

  beforeEach(async () => {
    ({ store, close: closeStore } = await makePostgresStore());
    repository = new ExecutionsRepository(store);
    started = [];
    runningNow = 0;
    mostAtOnce = 0;
  });

  afterEach(async () => {
    for (const finish of finishers.values()) finish();
    finishers.clear();
    for (const { queue, coordination } of replicas.splice(0)) {
      await queue.onApplicationShutdown();
      await coordination.onApplicationShutdown();
    }
    await closeStore();
  });

  async function twoReplicas(settings: Record<string, string>): Promise<[Replica, Replica]> {
    const redis = testRedisSettings();
    const made: Replica[] = [];
    for (const id of ['a', 'b']) {
      const config = loadConfig({ API_TOKEN: 'q'.repeat(32), ...redis, ...settings });
      const coordination = await connectTestRedis(id, redis);
      if (!coordination.redis) throw new Error('no Redis connections');
      const bus = new RedisReplicaBus(coordination.redis, id, redis.REDIS_KEY_PREFIX);
      const registry = new RunRegistry();
      const queue = new SharedRunQueue(config, store, bus, registry);
      await queue.onApplicationBootstrap();
      made.push({ queue, registry, coordination });
    }
    replicas.push(...made);
    return [made[0], made[1]];
  }

  /** Records a run owned by `owner` (as a submit does), then queues it there. */
  async function submit(
    owner: Replica,
    id: string,
    sessionId = `session-${id}`,
    options: { first?: boolean } = {},
  ): Promise<void> {
    const ownerId = owner === replicas[0] ? 'a' : 'b';
    await repository.insert(
      {
        id,
        env: 'dev',
        sessionId,
        request: { env: 'dev', prompt: id },
        createdAt: new Date().toISOString(),
        ownerReplica: ownerId,
      },
      'a-token',
    );
    const run: QueuedRun = {
      id,
      env: 'dev',
      sessionId,
      start: () =>
        new Promise<void>((resolve) => {
          started.push(`${ownerId}:${id}`);
          runningNow += 1;
          mostAtOnce = Math.max(mostAtOnce, runningNow);
          finishers.set(id, () => {
            runningNow -= 1;
            resolve();
          });
        }),
    };
    await owner.queue.submit(run, options);
  }

  /** Ends a running run as the lifecycle does (its row first), and lets it go. */
  async function finish(id: string): Promise<void> {
    const end = { ...END, status: ExecutionStatus.succeeded };
    await repository.finish(id, end, new Date().toISOString());
    const finishRun = finishers.get(id);
    if (!finishRun) throw new Error(`${id} is not running`);
    finishers.delete(id);
    finishRun();
  }

  const startedCount = (count: number) =>
    waitUntil(() => Promise.resolve(started.length >= count), `${count} runs started`);

  it('starts runs submitted through both replicas in FIFO order, never more than the limit', async () => {
    const [a, b] = await twoReplicas({ MAX_CONCURRENT_PER_ENV: '2' });
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const [index, id] of ids.entries()) await submit(index % 2 === 0 ? a : b, id);
    expect(started).toEqual(['a:r1', 'b:r2']);
    await expect(b.queue.placeOf('r3')).resolves.toEqual({ position: 1, behind: null });
    await expect(a.queue.placeOf('r6')).resolves.toEqual({ position: 4, behind: null });

    // Each end frees one slot, which goes to the head of the queue, whichever replica owns it.
    for (const [index, id] of ids.entries()) {
      await finish(id);
      if (index + 2 < ids.length) await startedCount(index + 3);
    }
    expect(started).toEqual(['a:r1', 'b:r2', 'a:r3', 'b:r4', 'a:r5', 'b:r6']);
    expect(mostAtOnce).toBe(2);
  });

  it('runs one turn of a session at a time across replicas, in order, letting other sessions pass', async () => {
    const [a, b] = await twoReplicas({ MAX_CONCURRENT_PER_ENV: '3' });
    await submit(a, 's1', 'shared');
    await submit(b, 's2', 'shared');
    await submit(a, 's3', 'shared');
    await submit(b, 'other', 'another-session');
    expect(started).toEqual(['a:s1', 'b:other']);
    await expect(a.queue.hasRunInFlight('dev', 'shared')).resolves.toBe(true);
    await expect(a.queue.runningOf('dev', 'shared')).resolves.toBe('s1');
    await expect(b.queue.placeOf('s3')).resolves.toEqual({ position: 2, behind: 's2' });

    await finish('s1');
    await startedCount(3);
    expect(started[2]).toBe('b:s2');
    await expect(a.queue.runningOf('dev', 'shared')).resolves.toBe('s2');
    await finish('s2');
    await startedCount(4);
    expect(started[3]).toBe('a:s3');
    await finish('s3');
    await waitUntil(async () => !(await b.queue.isSessionBusy('dev', 'shared')), 'session free');
  });

  it('puts a steer ahead of the waiting runs of every replica', async () => {
    const [a, b] = await twoReplicas({ MAX_CONCURRENT_PER_ENV: '1' });
    await submit(a, 'running', 'steered');
    await submit(b, 'waiting');
    await submit(b, 'steer', 'steered', { first: true });
    await expect(a.queue.placeOf('steer')).resolves.toEqual({ position: 1, behind: 'running' });
    await expect(a.queue.placeOf('waiting')).resolves.toEqual({ position: 2, behind: null });
    await finish('running');
    await startedCount(2);
    expect(started).toEqual(['a:running', 'b:steer']);
  });

  it('lets any replica take a waiting run out of the queue; its owner never starts it', async () => {
    const [a, b] = await twoReplicas({ MAX_CONCURRENT_PER_ENV: '1' });
    await submit(a, 'first');
    await submit(a, 'removed');
    await submit(b, 'last');
    await expect(b.queue.remove('removed')).resolves.toBe(true);
    await expect(a.queue.remove('removed')).resolves.toBe(false);
    await expect(b.queue.remove('first')).resolves.toBe(false);
    await finish('first');
    await startedCount(2);
    expect(started).toEqual(['a:first', 'b:last']);
    await waitUntil(() => Promise.resolve(a.queue.waiting().length === 0), 'a to let it go');
  });

  it("refuses another replica's delete or fork of a session while one runs it, and lets it go once the run ends", async () => {
    const [a, b] = await twoReplicas({ MAX_CONCURRENT_PER_ENV: '2' });
    await submit(b, 'turn', 'shared-session');
    await startedCount(1);
    // What a delete or a fork on replica a asks before it touches the transcript.
    const busy = a.registry.checkNotRunningElsewhere('dev', 'shared-session');
    await expect(busy).rejects.toMatchObject({ statusCode: 409, code: 'SESSION_BUSY' });
    await expect(a.registry.checkNotRunningElsewhere('dev', 'other-session')).resolves.toBe(
      undefined,
    );
    await finish('turn');
    await expect(a.registry.checkNotRunningElsewhere('dev', 'shared-session')).resolves.toBe(
      undefined,
    );
  });

  it('bounds the waiting runs of all replicas together by MAX_QUEUE_PER_ENV', async () => {
    const [a, b] = await twoReplicas({ MAX_CONCURRENT_PER_ENV: '1', MAX_QUEUE_PER_ENV: '2' });
    await submit(a, 'running');
    await submit(a, 'w1');
    await submit(b, 'w2');
    const refused = submit(b, 'w3');
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    await expect(refused).rejects.toMatchObject({ statusCode: 429, code: 'QUEUE_FULL' });
  });
});
