import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'light-my-request';
import { Coordination } from '../../src/common/coordination/coordination.module';
import { ReplicaBus } from '../../src/common/coordination/replica-bus';
import { ReplicaLiveness } from '../../src/common/coordination/replica-liveness';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { RunApprovals } from '../../src/executions/run-approvals';
import { RunControl } from '../../src/executions/run-control';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { COLOR_QUESTION } from '../support/questions';
import { killConnection, testRedisSettings } from '../support/test-redis';
import { ExecutionsApp, executionsApps } from './executions-app';

// Two API replicas in one process, on one PostgreSQL database and one Redis, as two processes
// behind a proxy would be. Each runs the runs submitted to it (its own queue), so a run is
// started on B through B's API, and then cancelled or answered through A. Needs the PostgreSQL
// and the Redis of scripts/ensure-postgres.sh and scripts/ensure-redis.sh.
jest.setTimeout(30_000);

describe('a run is controlled from any replica (two replicas, fake runner)', () => {
  const boot = executionsApps();
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());
  afterEach(() => jest.restoreAllMocks());

  /** Replicas `a` and `b` (or the ids given: Redis names their connections after them). */
  async function replicas(
    ids = ['a', 'b'],
    settings: Record<string, string> = {},
  ): Promise<[ExecutionsApp, ExecutionsApp]> {
    const shared = { ...testRedisSettings(), DATABASE_URL: database.url, ...settings };
    const a = await boot({ ...shared, REPLICA_ID: ids[0] });
    const b = await boot({ ...shared, REPLICA_ID: ids[1] });
    return [a, b];
  }

  /** The reply's error as a client sees it, but for the id of the request. */
  const errorOf = (reply: Response) => ({
    status: reply.statusCode,
    ...reply.json<{ statusCode: number; code: string; message: string }>(),
    requestId: undefined,
  });

  /** What the run waits on, as its owner shows it. */
  async function pendingOn(owner: ExecutionsApp, id: string) {
    const shown = await owner.request('GET', `/api/executions/${id}`);
    return shown.json<{
      pendingApprovals: { requestId: string }[];
      pendingQuestions: { requestId: string }[];
    }>();
  }

  it('cancels on A a run that runs on B: B stops it, and A answers with its end', async () => {
    const [a, b] = await replicas();
    const id = await b.submit({ prompt: 'a long task' });
    const run = await b.runner.runOf(id);

    const cancelled = await a.request('POST', `/api/executions/${id}/cancel`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id, status: 'cancelled' });
    expect(run.isAborted).toBe(true);
    expect(a.runner.runs).toHaveLength(0);
    expect(await b.status(id)).toBe('cancelled');
  });

  it('hands an approval answered on A to the run on B, and answers an unknown or answered one as B does', async () => {
    const [a, b] = await replicas();
    const id = await b.submit({ prompt: 'clean up', approvals: true });
    const run = await b.runner.runOf(id);
    const answer = run.askApproval('Bash', { command: 'rm -rf build/' });
    const [{ requestId }] = (await pendingOn(b, id)).pendingApprovals;
    // What the run waits on, read on A from B (for the resource A shows).
    const waitsOn = await a.app.get(RunControl).pending(id);
    expect(waitsOn).toEqual(b.app.get(RunApprovals).pending(id));
    expect(await pendingOn(a, id)).toEqual(await pendingOn(b, id));
    expect(waitsOn.approvals).toEqual([expect.objectContaining({ requestId, tool: 'Bash' })]);

    const unknownRoute = `/api/executions/${id}/approvals/${randomUUID()}`;
    const unknownOnA = await a.request('POST', unknownRoute, { decision: 'allow' });
    const unknownOnB = await b.request('POST', unknownRoute, { decision: 'allow' });
    expect(unknownOnA.statusCode).toBe(404);
    expect(errorOf(unknownOnA)).toEqual(errorOf(unknownOnB));
    expect(unknownOnA.json()).toMatchObject({ code: 'APPROVAL_NOT_FOUND' });

    const route = `/api/executions/${id}/approvals/${requestId}`;
    const badOnA = await a.request('POST', route, { decision: 'deny', scope: 'session' });
    expect(badOnA.statusCode).toBe(400);
    expect(errorOf(badOnA)).toMatchObject({ code: 'VALIDATION_FAILED' });

    const answered = await a.request('POST', route, { decision: 'deny', message: 'not now' });
    expect(answered.statusCode).toBe(200);
    await expect(answer).resolves.toEqual({ behavior: 'deny', message: 'not now' });

    const againOnA = await a.request('POST', route, { decision: 'allow' });
    const againOnB = await b.request('POST', route, { decision: 'allow' });
    expect(againOnA.statusCode).toBe(409);
    expect(errorOf(againOnA)).toEqual(errorOf(againOnB));
    expect(againOnA.json()).toMatchObject({ code: 'APPROVAL_ANSWERED' });
  });

  it('hands the answers to questions asked on B from A, and answers an unknown request as B does', async () => {
    const [a, b] = await replicas();
    const id = await b.submit({ prompt: 'pick for me', approvals: true });
    const run = await b.runner.runOf(id);
    const input = { questions: [COLOR_QUESTION] };
    const answer = run.askApproval('AskUserQuestion', input);
    const [{ requestId }] = (await pendingOn(b, id)).pendingQuestions;
    const body = { answers: [{ selected: ['Blue'] }] };

    const unknownRoute = `/api/executions/${id}/questions/${randomUUID()}`;
    const unknownOnA = await a.request('POST', unknownRoute, body);
    const unknownOnB = await b.request('POST', unknownRoute, body);
    expect(unknownOnA.statusCode).toBe(404);
    expect(errorOf(unknownOnA)).toEqual(errorOf(unknownOnB));
    expect(unknownOnA.json()).toMatchObject({ code: 'QUESTION_NOT_FOUND' });

    const answered = await a.request('POST', `/api/executions/${id}/questions/${requestId}`, body);
    expect(answered.statusCode).toBe(200);
    await expect(answer).resolves.toEqual({
      behavior: 'allow',
      updatedInput: { ...input, answers: { 'Which color?': 'Blue' } },
    });
  });

  it('answers 503 REPLICA_UNREACHABLE, and leaves the run be, when its replica does not answer', async () => {
    // A request to another replica waits REDIS_TIMEOUT_MS for its answer: short here.
    const [a] = await replicas(['a', 'b'], { REDIS_TIMEOUT_MS: '3000' });
    // A replica that is alive to the reaper (its key is set) but takes no request: its run is
    // running in the store, and in no replica's memory.
    const { redis, config } = a.app.get(Coordination);
    const silent = new ReplicaLiveness(
      redis?.commands ?? null,
      config.redis?.keyPrefix ?? '',
      'silent',
      { ttlMs: 60_000, refreshMs: 60_000, reapEveryMs: 60_000 },
    );
    await silent.onApplicationBootstrap();
    const repository = a.app.get(ExecutionsRepository);
    const id = randomUUID();
    const request = { env: 'dev', prompt: 'orphaned' };
    const createdAt = new Date().toISOString();
    const record = { id, env: 'dev', sessionId: randomUUID(), request, createdAt };
    await repository.insert({ ...record, ownerReplica: 'silent' }, 'master');
    await repository.markRunning(id, createdAt);

    const routes = [
      { url: `/api/executions/${id}/cancel`, body: undefined },
      { url: `/api/executions/${id}/approvals/${randomUUID()}`, body: { decision: 'allow' } },
    ];
    for (const { url, body } of routes) {
      const refused = await a.request('POST', url, body);
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('15');
      expect(refused.json()).toEqual({
        statusCode: 503,
        code: 'REPLICA_UNREACHABLE',
        message: `Execution ${id} runs on replica silent, which did not take the request within 3000 ms; if that replica is gone, its runs end interrupted within 15 s`,
        requestId: expect.any(String) as string,
      });
    }
    expect(await a.status(id)).toBe('running');
    await silent.beforeApplicationShutdown();
  });

  it("closes the other replicas' warm CLI of a session when its turn starts on one", async () => {
    const [a, b] = await replicas();
    const closedOnA = jest.spyOn(a.runner, 'closeWarmSession');
    const closedOnB = jest.spyOn(b.runner, 'closeWarmSession');
    const sessionId = randomUUID();
    const id = await b.submit({ prompt: 'next turn', sessionId });
    await b.runner.runOf(id);
    // The cancel's answer travels behind the turn's message on B's link: A has it by then.
    expect((await a.request('POST', `/api/executions/${id}/cancel`)).statusCode).toBe(200);

    expect(closedOnA).toHaveBeenCalledWith('claude-agent-dev', sessionId);
    expect(closedOnB).not.toHaveBeenCalled();
  });

  it('fails a turn, before its CLI starts, while its replica cannot tell the others', async () => {
    const [, b] = await replicas();
    jest.spyOn(b.app.get(ReplicaBus), 'connected', 'get').mockReturnValue(false);
    const id = await b.submit({ prompt: 'a turn nobody else hears of' });
    const reachedRunner = b.runner.runAt(0).then(() => 'reached the runner');
    expect(await Promise.race([b.ended(id), reachedRunner])).toMatchObject({
      status: 'failed',
      errorCode: 'SETUP_FAILED',
      error:
        "The run could not start: The other replicas could not be told that the session's turn starts here (this replica has lost its link to Redis); retry shortly",
    });
    expect(b.runner.runs).toHaveLength(0);
  });

  it('closes every idle warm CLI after a lost link to Redis: turns run elsewhere meanwhile went unheard', async () => {
    const id = `b-${randomUUID()}`;
    const [a, b] = await replicas([`a-${randomUUID()}`, id]);
    const closedAll = jest.spyOn(b.runner, 'closeWarmSessions');
    // Called after the app's own listeners, registered at its boot.
    const reconnected = new Promise<void>((resolve) => b.app.get(ReplicaBus).onReconnect(resolve));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await killConnection(a.app.get(Coordination), `claudecode-api:${id}:subscriber`);
    await reconnected;
    expect(closedAll).toHaveBeenCalledTimes(1);
  });
});
