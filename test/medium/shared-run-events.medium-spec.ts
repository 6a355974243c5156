import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/common/config/load-config';
import { Coordination } from '../../src/common/coordination/coordination.module';
import { RedisConnections } from '../../src/common/coordination/redis-connections';
import { RedisReplicaBus } from '../../src/common/coordination/redis-replica-bus';
import { ServiceEvents } from '../../src/common/events/service-events';
import { StreamSlots } from '../../src/common/http/stream-slots';
import { ContainersService } from '../../src/containers/containers.service';
import { ExecutionEvents } from '../../src/executions/execution-events';
import { endWithoutRun } from '../../src/executions/execution-outcome';
import { ExecutionRequest } from '../../src/executions/execution-request';
import { ExecutionStatus } from '../../src/executions/execution-status';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { RunRecorder, EventTally } from '../../src/executions/run-recorder';
import { RunTelemetry } from '../../src/executions/run-telemetry';
import { RUN_NOTICES, SharedRunEventHub } from '../../src/executions/shared-run-event-hub';
import { PostgresStore } from '../../src/store/postgres-store';
import { assistantMessage } from '../support/fake-run-executor';
import { makePostgresStore } from '../support/postgres';
import { strictMock } from '../support/strict-mock';
import { connectTestRedis, killConnection, testRedisSettings } from '../support/test-redis';
import { executionsApps } from './executions-app';
import { createTestDatabase, TestDatabase } from '../support/postgres';

// Replicas of one store (a real PostgreSQL) and one Redis: a run's events, recorded on one,
// reach the listeners of the others. Needs TEST_DATABASE_URL and TEST_REDIS_URL
// (scripts/ensure-postgres.sh, scripts/ensure-redis.sh).
jest.setTimeout(30_000);

const config = loadConfig({ API_TOKEN: 'r'.repeat(32) });

/** One replica's share of the events: its bus, hub and recorder on the common store. */
interface Replica {
  id: string;
  coordination: Coordination;
  bus: RedisReplicaBus;
  repository: ExecutionsRepository;
  hub: SharedRunEventHub;
  recorder: RunRecorder;
}

/** What a listener was told, as `seq`s and 'end', with a promise for what it waits for. */
class Follower {
  readonly told: (number | 'end')[] = [];
  private waiters: (() => void)[] = [];
  readonly stop: () => void;

  constructor(hub: SharedRunEventHub, runId: string) {
    this.stop = hub.subscribe(runId, (event) => {
      this.told.push(event ? event.seq : 'end');
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }

  async until(what: number | 'end'): Promise<void> {
    while (!this.told.includes(what)) {
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }
}

const upTo = (last: number, from = 1) =>
  Array.from({ length: last - from + 1 }, (_, index) => from + index);

describe('run events shared by replicas (real Redis bus, real PostgreSQL store)', () => {
  const settings = testRedisSettings();
  let store: PostgresStore;
  let closeStore: () => Promise<void>;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    ({ store, close: closeStore } = await makePostgresStore());
  });
  afterAll(async () => {
    for (const replica of replicas) {
      await replica.hub.onModuleDestroy();
      await replica.coordination.onApplicationShutdown();
    }
    await closeStore?.();
  });
  afterEach(() => jest.restoreAllMocks());

  async function replica(id: string): Promise<Replica> {
    const coordination = await connectTestRedis(id, settings);
    const redis = coordination.redis as RedisConnections;
    const bus = new RedisReplicaBus(redis, id, settings.REDIS_KEY_PREFIX);
    const repository = new ExecutionsRepository(store);
    const hub = new SharedRunEventHub(bus, repository);
    await hub.onModuleInit();
    const telemetry = strictMock<RunTelemetry>('RunTelemetry', { started: jest.fn() });
    const recorder = new RunRecorder(config, repository, hub, new ServiceEvents(), telemetry);
    const made = { id, coordination, bus, repository, hub, recorder };
    replicas.push(made);
    return made;
  }

  let a: Replica;
  let b: Replica;
  let c: Replica;
  beforeAll(async () => {
    a = await replica('events-a');
    b = await replica('events-b');
    c = await replica('events-c');
  });

  /** A run owned by `owner`, started there. */
  async function startedRun(owner: Replica): Promise<{ id: string; tally: EventTally }> {
    const id = randomUUID();
    const request = { env: 'dev', prompt: 'p' } as ExecutionRequest;
    const createdAt = new Date().toISOString();
    await owner.repository.insert(
      { id, env: 'dev', sessionId: 's', request, createdAt, ownerReplica: owner.id },
      'master',
    );
    return { id, tally: owner.recorder.started({ id, env: 'dev', createdAt }) };
  }

  function record(on: Replica, run: { id: string; tally: EventTally }, count: number): void {
    for (let n = 0; n < count; n += 1) {
      on.recorder.message(run.id, run.tally, assistantMessage(`event ${run.tally.nextSeq}`));
    }
  }

  const cancelled = () => endWithoutRun('cancelled');

  /** Listens on `on`'s bus; `heard` resolves once it has the notice of the run's event `seq`. */
  async function noticeOf(
    on: Replica,
    runId: string,
    seq: number,
  ): Promise<{ heard: Promise<void> }> {
    let wake: () => void = () => undefined;
    const heard = new Promise<void>((resolve) => (wake = resolve));
    // Subscribed after the hub: its handlers get each message after the hub's.
    const stop = await on.bus.subscribe(RUN_NOTICES, (notice) => {
      if (notice.runId === runId && 'seq' in notice && notice.seq === seq) wake();
    });
    return { heard: heard.then(stop) };
  }

  it("tells a listener on A every event of a run recorded on B, in order, over several store pages, then its end; A's waiter gets the final run", async () => {
    const run = await startedRun(b);
    const onA = new Follower(a.hub, run.id);
    const onB = new Follower(b.hub, run.id);
    const events = new ExecutionEvents(
      config,
      a.repository,
      a.hub,
      strictMock<StreamSlots>('StreamSlots'),
      strictMock<ContainersService>('ContainersService'),
    );
    const waiter = events.waitForEnd(run.id);

    // 250 events: a catch-up reads 100 per page.
    record(b, run, 250);
    await b.recorder.ended(run.id, cancelled());
    await onA.until('end');
    expect(onA.told).toEqual([...upTo(250), 'end']);
    expect(onB.told).toEqual([...upTo(250), 'end']);
    expect((await waiter).status).toBe(ExecutionStatus.cancelled);
  });

  it('tells a listener that joins mid-run the events after those it read from the store, none twice', async () => {
    const run = await startedRun(b);
    const notice = await noticeOf(a, run.id, 5);
    record(b, run, 5);
    // A's hub has let the notices of 1 to 5 go by: it followed nothing then.
    await notice.heard;

    // As a stream does: subscribed first, then the store read.
    const onA = new Follower(a.hub, run.id);
    const read = (await a.repository.eventsAfter(run.id, 0)).map((event) => event.seq);
    record(b, run, 5);
    await b.recorder.ended(run.id, cancelled());
    await onA.until('end');
    expect(read).toEqual(upTo(5));
    expect(onA.told).toEqual([...upTo(10, 6), 'end']);
  });

  it("tells the end that a third replica records (a reaper's) to the owner's listeners and the others'", async () => {
    const run = await startedRun(b);
    const onA = new Follower(a.hub, run.id);
    const onB = new Follower(b.hub, run.id);
    record(b, run, 3);
    await onA.until(3);

    await c.recorder.ended(run.id, endWithoutRun('crash'));
    await Promise.all([onA.until('end'), onB.until('end')]);
    expect(onA.told).toEqual([1, 2, 3, 'end']);
    expect(onB.told).toEqual([1, 2, 3, 'end']);
    expect((await a.repository.get(run.id))?.status).toBe(ExecutionStatus.interrupted);
  });

  it('reads from the store what a replica missed while its link was down, and the end if it came meanwhile', async () => {
    const run = await startedRun(b);
    const onA = new Follower(a.hub, run.id);
    const onB = new Follower(b.hub, run.id);
    // A stops hearing the run's notices (as a lost link would), without a reconnect yet.
    const subscriberA = a.coordination.redis!.subscriber;
    const wire = `${settings.REDIS_KEY_PREFIX}bus:${RUN_NOTICES.name}`;
    await subscriberA.unsubscribe(wire);
    record(b, run, 4);
    await b.recorder.ended(run.id, cancelled());
    await onB.until('end');
    expect(onA.told).toEqual([]);

    // Back (ioredis resubscribes to what it holds): the reconnect reads what was missed.
    await subscriberA.subscribe(wire);
    const reconnected = new Promise<void>((resolve) => a.bus.onReconnect(resolve));
    await killConnection(a.coordination, 'claudecode-api:events-a:subscriber');
    await reconnected;
    await onA.until('end');
    expect(onA.told).toEqual([1, 2, 3, 4, 'end']);
  });

  it('sends again, once its link is back, the notices that failed to leave the recording replica', async () => {
    const run = await startedRun(b);
    const onA = new Follower(a.hub, run.id);
    const onB = new Follower(b.hub, run.id);
    const publish = jest.spyOn(b.bus, 'publish');
    for (let n = 0; n < 3; n += 1) {
      publish.mockRejectedValueOnce(new Error('Connection is closed.'));
    }
    record(b, run, 3);
    await onB.until(3);
    // The failures are handled, and nothing reached A.
    await new Promise((resolve) => setImmediate(resolve));
    expect(publish).toHaveBeenCalledTimes(3);
    expect(onA.told).toEqual([]);

    const reconnected = new Promise<void>((resolve) => b.bus.onReconnect(resolve));
    await killConnection(b.coordination, 'claudecode-api:events-b:subscriber');
    await reconnected;
    // Told again from the first that failed: A reads 1 to 3.
    await onA.until(3);
    record(b, run, 1);
    await b.recorder.ended(run.id, cancelled());
    await onA.until('end');
    expect(onA.told).toEqual([1, 2, 3, 4, 'end']);
  });
});

describe('a stream and a waiter on replica A of a run that replica B runs (two apps)', () => {
  const boot = executionsApps();
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('gets every event in order, then the end, over a real socket', async () => {
    const shared = { ...testRedisSettings(), DATABASE_URL: database.url };
    const a = await boot({ ...shared, REPLICA_ID: 'app-a' });
    const b = await boot({ ...shared, REPLICA_ID: 'app-b' });
    const id = await b.submit({ prompt: 'on b' });
    const run = await b.runner.runOf(id);
    run.emit(assistantMessage('first'));

    let firstSeen: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (firstSeen = resolve));
    const stream = a.readEvents(id, { onEvent: () => firstSeen() });
    const waiter = a.ended(id);
    await first;
    for (let n = 2; n <= 30; n += 1) run.emit(assistantMessage(`event ${n}`));
    run.succeed('done');

    const events = await stream;
    const ids = events.filter((event) => event.event !== 'end').map((event) => Number(event.id));
    expect(ids).toEqual(upTo(31));
    expect(events.at(-1)).toMatchObject({ event: 'end' });
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: 'succeeded' });
    expect((await waiter).status).toBe(ExecutionStatus.succeeded);
  });
});
