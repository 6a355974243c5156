import { randomUUID } from 'node:crypto';
import { Coordination } from '../../src/common/coordination/coordination.module';
import { LivenessTimings } from '../../src/common/coordination/replica-liveness';
import { RunEnded, ServiceEvents } from '../../src/common/events/service-events';
import { endWithoutRun } from '../../src/executions/execution-outcome';
import { ExecutionStatus } from '../../src/executions/execution-status';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { OrphanRuns } from '../../src/executions/orphan-runs';
import { RunReaper } from '../../src/executions/run-reaper';
import { SqlStore } from '../../src/store/sql-store';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { testRedisSettings } from '../support/test-redis';
import { waitUntil } from '../support/wait';
import { ExecutionsApp, executionsApps } from './executions-app';

// Replicas in one process on one PostgreSQL database and one Redis, as processes behind a proxy
// would be. Needs both servers (scripts/ensure-postgres.sh, scripts/ensure-redis.sh).
jest.setTimeout(60_000);

/** Passes only when a test asks for one: no timer of the reaper's gets in its way. */
const REAP_ON_DEMAND: LivenessTimings = { ttlMs: 10_000, refreshMs: 3_000, reapEveryMs: 3_600_000 };
/** Short enough that a test sees a replica's death and its reaping in well under a second. */
const QUICK: LivenessTimings = { ttlMs: 600, refreshMs: 100, reapEveryMs: 150 };

const LOST = 'The replica that ran it stopped answering; another replica ended it';

describe('runs of a replica that stops answering', () => {
  const boot = executionsApps();
  const databases: TestDatabase[] = [];
  afterAll(() => Promise.all(databases.map((database) => database.drop())));

  /** Settings for replicas sharing one fresh database and one Redis prefix. */
  async function sharedSettings(): Promise<Record<string, string>> {
    const database = await createTestDatabase();
    databases.push(database);
    return { ...testRedisSettings(), DATABASE_URL: database.url };
  }

  function replica(
    settings: Record<string, string>,
    id: string,
    timings = REAP_ON_DEMAND,
  ): Promise<ExecutionsApp> {
    return boot({ ...settings, REPLICA_ID: id }, [{ provide: LivenessTimings, useValue: timings }]);
  }

  /** Records a run owned by `owner`, as its replica would have: queued, or running. */
  async function recordRun(
    on: ExecutionsApp,
    owner: string,
    status: 'queued' | 'running',
    env = 'dev',
  ): Promise<string> {
    const repository = on.app.get(ExecutionsRepository);
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    await repository.insert(
      {
        ...{ id, env, sessionId: randomUUID(), request: { env, prompt: id }, createdAt },
        ownerReplica: owner,
      },
      'a-token',
    );
    if (status === 'running') await repository.markRunning(id, new Date().toISOString());
    return id;
  }

  async function record(on: ExecutionsApp, id: string) {
    return (await on.request('GET', `/api/executions/${id}`)).json<{
      status: string;
      error: string | null;
      errorCode: string | null;
    }>();
  }

  /** A run submitted on `replica`, once its (fake) CLI runs. */
  async function runningOn(replica: ExecutionsApp) {
    const id = await replica.submit({ prompt: 'a long task' });
    return { id, run: await replica.runner.runOf(id) };
  }

  function endsTold(replicas: ExecutionsApp[]): RunEnded[] {
    const told: RunEnded[] = [];
    for (const { app } of replicas) app.get(ServiceEvents).on('run.ended', (run) => told.push(run));
    return told;
  }

  it("ends interrupted the runs of an owner whose key is gone, kills the running one's CLI, and leaves a live replica's runs alone", async () => {
    const settings = await sharedSettings();
    const a = await replica(settings, 'a');
    const b = await replica(settings, 'b');
    const live = await runningOn(b);
    const goneRunning = await recordRun(a, 'gone', 'running');
    const goneQueued = await recordRun(a, 'gone', 'queued', 'staging');
    const told = endsTold([a, b]);

    const reaped = await a.app.get(RunReaper).reapOnce();

    expect([...(reaped ?? [])].sort()).toEqual([goneRunning, goneQueued].sort());
    for (const id of [goneRunning, goneQueued]) {
      expect(await record(b, id)).toMatchObject({
        status: 'interrupted',
        errorCode: 'INTERRUPTED',
        error: LOST,
      });
    }
    expect(a.runner.kills).toEqual([{ containerName: 'claude-agent-dev', runId: goneRunning }]);
    expect(told.map((run) => run.id).sort()).toEqual([goneRunning, goneQueued].sort());

    // B's run was never touched: it runs on, and ends as its CLI says.
    expect(await a.status(live.id)).toBe('running');
    expect(b.runner.kills).toEqual([]);
    expect(live.run.isAborted).toBe(false);
    live.run.succeed('done');
    expect((await b.ended(live.id)).status).toBe('succeeded');
  });

  it('ends each run once, however many replicas reap at the same time', async () => {
    const settings = await sharedSettings();
    const replicas = [await replica(settings, 'a'), await replica(settings, 'b')];
    const [a, b] = replicas;
    const orphans = [
      await recordRun(a, 'gone', 'running'),
      await recordRun(a, 'gone', 'queued'),
      await recordRun(a, 'also-gone', 'running', 'staging'),
    ];
    const told = endsTold(replicas);

    const passes = await Promise.all([
      a.app.get(RunReaper).reapOnce(),
      b.app.get(RunReaper).reapOnce(),
      a.app.get(RunReaper).reapOnce(),
    ]);

    const reaped = passes.flatMap((ids) => ids ?? []);
    expect([...reaped].sort()).toEqual([...orphans].sort());
    expect(told.map((run) => run.id).sort()).toEqual([...orphans].sort());
    // A later pass finds nothing left to end.
    expect(await b.app.get(RunReaper).reapOnce()).toEqual([]);
    expect(told).toHaveLength(orphans.length);
  });

  it('ends a run that two replicas end at the same moment once: one records and tells it, and asks for one kill', async () => {
    const settings = await sharedSettings();
    const replicas = [await replica(settings, 'a'), await replica(settings, 'b')];
    const id = await recordRun(replicas[0], 'gone', 'running');
    const told = endsTold(replicas);
    const run = { id, env: 'dev', status: ExecutionStatus.running, ownerReplica: 'gone' };

    const ended = await Promise.all(
      replicas.map(({ app }) => app.get(OrphanRuns).end(run, endWithoutRun('owner_lost'))),
    );

    expect([...ended].sort()).toEqual([false, true]);
    expect(told.map((end) => end.id)).toEqual([id]);
    expect([...replicas[0].runner.kills, ...replicas[1].runner.kills]).toEqual([
      { containerName: 'claude-agent-dev', runId: id },
    ]);
  });

  it('reaps on one replica at a time: a pass does nothing while another holds the lock', async () => {
    const settings = await sharedSettings();
    const a = await replica(settings, 'a');
    const orphan = await recordRun(a, 'gone', 'running');
    const redis = a.app.get(Coordination).redis?.commands;
    if (!redis) throw new Error('the replica has no Redis');
    const lock = `${settings.REDIS_KEY_PREFIX}lock:run-reaper`;
    await redis.set(lock, 'another-replica', 'PX', 60_000);

    expect(await a.app.get(RunReaper).reapOnce()).toBeNull();
    expect(await a.status(orphan)).toBe('running');
    expect(a.runner.kills).toEqual([]);
    // The holder's lock is its own: the pass did not release it.
    expect(await redis.get(lock)).toBe('another-replica');

    await redis.del(lock);
    expect(await a.app.get(RunReaper).reapOnce()).toEqual([orphan]);
    expect(await a.status(orphan)).toBe('interrupted');
    // A pass lets go of the lock when it is done.
    expect(await redis.exists(lock)).toBe(0);
  });

  it('on its own, ends the run of a replica that lost Redis once its key expired, and kills its CLI', async () => {
    const settings = await sharedSettings();
    const a = await replica(settings, 'a', QUICK);
    const b = await replica(settings, 'b', QUICK);
    const { id } = await runningOn(b);
    // B stays up but can no longer refresh its key, as a replica that hangs or is cut off.
    b.app.get(Coordination).redis?.commands.disconnect();

    await waitUntil(async () => (await a.status(id)) === 'interrupted', "B's run reaped");
    expect(await record(a, id)).toMatchObject({ errorCode: 'INTERRUPTED', error: LOST });
    expect(a.runner.kills).toEqual([{ containerName: 'claude-agent-dev', runId: id }]);
  });

  it('deletes its key once a clean shutdown has drained its runs', async () => {
    const settings = await sharedSettings();
    const a = await replica(settings, 'a');
    const b = await replica(settings, 'b');
    const redis = a.app.get(Coordination).redis?.commands;
    if (!redis) throw new Error('the replica has no Redis');
    const keyOfB = `${settings.REDIS_KEY_PREFIX}replica:b`;
    expect(await redis.exists(keyOfB)).toBe(1);
    const { id } = await runningOn(b);

    await b.app.close();
    expect(await a.status(id)).toBe('interrupted');
    expect(await redis.exists(keyOfB)).toBe(0);
    expect(await redis.exists(`${settings.REDIS_KEY_PREFIX}replica:a`)).toBe(1);
  });

  it("at boot, a replica ends the runs of its own id, of owners that are gone and of none, never a live replica's", async () => {
    const settings = await sharedSettings();
    const a = await replica(settings, 'a');
    const live = await runningOn(a);
    const liveQueued = await recordRun(a, 'a', 'queued');
    const ownBefore = await recordRun(a, 'c', 'running');
    const gone = await recordRun(a, 'gone', 'queued', 'staging');
    const ownerless = await recordRun(a, 'unknown', 'running', 'staging');
    await a.app
      .get(SqlStore)
      .run('UPDATE executions SET owner_replica = NULL WHERE id = ?', [ownerless]);

    const c = await replica(settings, 'c');

    expect(await record(c, ownBefore)).toMatchObject({
      status: 'interrupted',
      error: 'The service stopped while the run was in flight',
    });
    expect(await record(c, ownerless)).toMatchObject({ status: 'interrupted' });
    expect(await record(c, gone)).toMatchObject({ status: 'interrupted', error: LOST });
    expect(c.runner.kills).toHaveLength(2);
    expect(c.runner.kills).toEqual(
      expect.arrayContaining([
        { containerName: 'claude-agent-dev', runId: ownBefore },
        { containerName: 'claude-agent-staging', runId: ownerless },
      ]),
    );
    expect(await c.status(live.id)).toBe('running');
    expect(await c.status(liveQueued)).toBe('queued');
    live.run.succeed('done');
    expect((await a.ended(live.id)).status).toBe('succeeded');
  });
});
