import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaudeCodeClient, components, operations } from '../../client/src';
import { claudeProcesses, claudeProcessesOf, removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { fakeUpstreamProcessEnv, startServiceProcess } from '../support/service-process';
import { createSpecCheckedClient } from '../support/spec-checked-client';
import { readSse, SseEvent } from '../support/sse-client';
import { envParams, startAppWithFakeUpstream, TestApp, uniqueSuffix } from '../support/test-app';
import { sleep, waitUntil } from '../support/wait';

type SubmitExecution = components['schemas']['SubmitExecutionDto'];
type HistoryQuery = operations['listExecutions']['parameters']['query'];

/** A run's path parameters. */
const runParams = (id: string) => ({ params: { path: { id } } });

/** Queues a run and returns it as accepted (202). */
async function submit(client: ClaudeCodeClient, body: SubmitExecution) {
  const res = await client.POST('/api/executions', { body });
  expect(res.response.status).toBe(202);
  if (!res.data) throw new Error(`submit failed: ${JSON.stringify(res.error)}`);
  return res.data;
}

/** The run as GET /api/executions/{id} shows it. */
async function getExecution(client: ClaudeCodeClient, id: string) {
  const res = await client.GET('/api/executions/{id}', runParams(id));
  if (!res.data) throw new Error(`no execution ${id}: ${JSON.stringify(res.error)}`);
  return res.data;
}

describe('background runs: queue, events, cancel, history (real engine, real CLI)', () => {
  let fake: FakeAnthropic;
  let t: TestApp;
  const prefixes: string[] = [];

  const app = (env: Record<string, string> = {}): Promise<TestApp> =>
    startAppWithFakeUpstream(fake.url, prefixes, {
      THROTTLE_CLAUDE_LIMIT: '1000',
      ...env,
    });

  /**
   * The run once it has ended. It follows the event stream, which closes after the end is
   * recorded, rather than polling: polls of runs slowed by a busy machine run into the rate limit.
   */
  async function finished(target: TestApp, id: string) {
    const stream = await events(target, id);
    expect(stream).toMatchObject({ status: 200, closedByServer: true });
    return getExecution(target.client, id);
  }

  const events = (
    target: TestApp,
    id: string,
    headers: Record<string, string> = {},
    stopAfter?: (e: SseEvent, all: SseEvent[]) => boolean,
  ) =>
    readSse(`${target.baseUrl}/api/executions/${id}/events`, {
      headers: { authorization: `Bearer ${target.token}`, ...headers },
      stopAfter,
    });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await app({ MAX_CONCURRENT_PER_ENV: '2', SSE_HEARTBEAT_MS: '200' });
    await t.client.POST('/api/containers/{env}/start', envParams('dev'));
  });
  afterEach(() => fake.clear());
  afterAll(async () => {
    await t.close();
    await fake.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  it('accepts a run with 202 at once and streams a tool-call run in order over SSE', async () => {
    fake.replyBashTool('echo from-the-tool');
    const run = await submit(t.client, {
      env: 'dev',
      prompt: 'use the tool',
      allowedTools: ['Bash'],
    });
    expect(run).toMatchObject({
      status: expect.stringMatching(/queued|running/),
      eventsToken: expect.any(String),
    });

    const stream = await events(t, run.id);
    expect(stream.status).toBe(200);
    expect(stream.closedByServer).toBe(true);
    const types = stream.events.map((event) => {
      const data = JSON.parse(event.data) as {
        type: string;
        subtype?: string;
        message?: { content?: { type: string }[] };
      };
      const blocks = data.message?.content?.map((block) => block.type).join('+');
      return [event.event, data.subtype ?? blocks].filter(Boolean).join('/');
    });
    const core = types.filter((type) => /^(system\/init|assistant|user|result|end)/.test(type));
    expect(core).toEqual([
      'system/init',
      expect.stringMatching(/^assistant\/.*tool_use/),
      'user/tool_result',
      expect.stringMatching(/^assistant\/text/),
      'result/success',
      'end',
    ]);
    const ids = stream.events
      .filter((event) => event.event !== 'end')
      .map((event) => Number(event.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    expect(JSON.parse(stream.events[stream.events.length - 1].data)).toMatchObject({
      id: run.id,
      status: 'succeeded',
    });
    expect(await finished(t, run.id)).toMatchObject({
      status: 'succeeded',
      result: 'tool_result: from-the-tool',
    });
  });

  it('resumes a dropped stream from Last-Event-ID with no event lost or repeated, and replays a finished run', async () => {
    fake.replySlow('x'.repeat(3000), { delayMs: 200, chunkDelayMs: 40, chunkSize: 100 });
    const run = await submit(t.client, {
      env: 'dev',
      prompt: 'stream slowly',
      includePartialMessages: true,
    });
    const first = await events(t, run.id, {}, (_event, all) => all.length >= 8);
    expect(first.closedByServer).toBe(false);
    const lastId = first.events[first.events.length - 1].id ?? '';
    const rest = await events(t, run.id, { 'last-event-id': lastId });
    const joined = [...first.events, ...rest.events].filter((event) => event.event !== 'end');
    const replay = await events(t, run.id);
    expect(replay.closedByServer).toBe(true);
    const replayed = replay.events.filter((event) => event.event !== 'end');
    expect(joined.map((event) => event.id)).toEqual(replayed.map((event) => event.id));
    expect(joined.map((event) => event.data)).toEqual(replayed.map((event) => event.data));
    expect(replayed.some((event) => event.event === 'stream_event')).toBe(true);
    expect(rest.events[rest.events.length - 1].event).toBe('end');
    // Beyond the opening comment, heartbeats kept the slow stream alive.
    expect(first.comments + rest.comments).toBeGreaterThanOrEqual(3);
    expect(replay.events[replay.events.length - 1].event).toBe('end');
  });

  it('cancels a running run: the CLI is gone from the container and the session resumes', async () => {
    const session = (await submit(t.client, { env: 'dev', prompt: 'remember the cancelled run' }))
      .sessionId;
    await waitUntil(async () => {
      const succeeded = await t.client.GET('/api/executions', {
        params: { query: { sessionId: session, status: 'succeeded' } },
      });
      return (succeeded.data?.items.length ?? 0) > 0;
    }, 'first turn');
    fake.replySlow('never', { delayMs: 60_000 });
    const calls = fake.mainRequests.length;
    const slow = await submit(t.client, { env: 'dev', prompt: 'take forever', sessionId: session });
    await fake.waitForMainRequests(calls + 1, 30_000);

    const cancel = await t.client.POST('/api/executions/{id}/cancel', runParams(slow.id));
    expect(cancel.response.status).toBe(200);
    expect(cancel.data).toMatchObject({ id: slow.id, status: 'cancelled', errorCode: 'CANCELLED' });
    expect(claudeProcessesOf(`${t.config.agent.containerPrefix}dev`, session)).toEqual([]);

    const again = await t.client.POST('/api/executions/{id}/cancel', runParams(slow.id));
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ code: 'EXECUTION_FINISHED' });

    const resumed = await t.client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'still there?', sessionId: session },
    });
    expect(resumed.data).toMatchObject({
      success: true,
      sessionId: session,
      output: 'echo: still there?',
    });
    const history = JSON.stringify(fake.mainRequests[fake.mainRequests.length - 1].body.messages);
    expect(history).toContain('remember the cancelled run');
  });

  it('runs FIFO per environment within the concurrency limit, serializes a session, and cancels a queued run', async () => {
    const serial = await app({ MAX_CONCURRENT_PER_ENV: '1', MAX_QUEUE_PER_ENV: '3' });
    // A stays busy until the queue has been checked, however slow the machine.
    const releaseA = fake.replyHeld('A done');
    try {
      const a = await submit(serial.client, { env: 'dev', prompt: 'A' });
      await fake.waitForMainRequests(1, 60_000);
      const b = await submit(serial.client, { env: 'dev', prompt: 'B' });
      const c = await submit(serial.client, { env: 'dev', prompt: 'C' });
      const d = await submit(serial.client, { env: 'dev', prompt: 'D' });
      const full = await serial.client.POST('/api/executions', {
        body: { env: 'dev', prompt: 'E' },
      });
      expect(full.response.status).toBe(429);
      expect(full.error).toMatchObject({ code: 'QUEUE_FULL' });

      const cancelled = await serial.client.POST('/api/executions/{id}/cancel', runParams(c.id));
      expect(cancelled.data).toMatchObject({ status: 'cancelled' });
      releaseA();
      const results = await Promise.all([a, b, d].map((run) => finished(serial, run.id)));
      expect(results.map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(
        fake.mainRequests.map(
          (request) => JSON.stringify(request.body.messages).match(/\b([ABCD])\b/)?.[1],
        ),
      ).toEqual(['A', 'B', 'D']);
      // Never two at once: each started after the previous one finished.
      for (let i = 1; i < results.length; i += 1) {
        expect(Date.parse(results[i].startedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(results[i - 1].finishedAt ?? ''),
        );
      }
      expect(await finished(serial, c.id)).toMatchObject({ status: 'cancelled', startedAt: null });
    } finally {
      releaseA();
      await serial.close();
    }
  });

  it('lets a second run on a busy session wait for its turn instead of refusing it', async () => {
    const first = await submit(t.client, { env: 'staging', prompt: 'open a session' });
    const { sessionId } = await finished(t, first.id);
    fake.replySlow('one', { delayMs: 1500 });
    const one = await submit(t.client, { env: 'staging', prompt: 'turn one', sessionId });
    const two = await submit(t.client, { env: 'staging', prompt: 'turn two', sessionId });
    const [doneOne, doneTwo] = [await finished(t, one.id), await finished(t, two.id)];
    expect([doneOne.status, doneTwo.status]).toEqual(['succeeded', 'succeeded']);
    expect(Date.parse(doneTwo.startedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(doneOne.finishedAt ?? ''),
    );
  });

  it('records a synchronous execute in the history, newest first, with filters and pages', async () => {
    const res = await t.client.POST('/api/execute', {
      body: { env: 'staging', prompt: 'in the history' },
    });
    const sessionId = res.data?.sessionId;
    const history = (query: HistoryQuery) => t.client.GET('/api/executions', { params: { query } });
    const list = await history({ env: 'staging', sessionId });
    expect(list.data?.items).toEqual([
      expect.objectContaining({ sessionId, status: 'succeeded', result: 'echo: in the history' }),
    ]);
    const page1 = (await history({ limit: 2 })).data;
    const page2 = (await history({ limit: 2, cursor: page1?.nextCursor ?? undefined })).data;
    expect(page1?.items).toHaveLength(2);
    expect(page2?.items.map((run) => run.id)).not.toContain(page1?.items[0].id);
    expect((await history({ status: 'bogus' as never })).response.status).toBe(400);
    expect((await history({ cursor: 'garbage' })).response.status).toBe(400);
    const missing = await t.client.GET('/api/executions/{id}', runParams(randomUUID()));
    expect(missing.error).toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    const notUuid = await t.client.GET('/api/executions/{id}', runParams('not-a-uuid'));
    expect(notUuid.response.status).toBe(400);
    const badResume = await t.client.GET('/api/executions/{id}/events', {
      ...runParams(page1?.items[0].id ?? ''),
      headers: { 'last-event-id': 'yesterday' },
    });
    expect(badResume.response.status).toBe(400);
    expect(badResume.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    const noStream = await t.client.GET('/api/executions/{id}/events', runParams(randomUUID()));
    expect(noStream.error).toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    const badCancel = await t.client.POST('/api/executions/{id}/cancel', runParams('not-a-uuid'));
    expect(badCancel.response.status).toBe(400);
  });

  it("opens the stream with a run-scoped access_token, never another run's, never the main token, and not once expired", async () => {
    // Long enough for the first opens on a loaded machine; the test then waits for the expiry.
    const short = await app({ EVENTS_TOKEN_TTL_MS: '10000' });
    try {
      const one = await submit(short.client, { env: 'dev', prompt: 'token one' });
      const two = await submit(short.client, { env: 'dev', prompt: 'token two' });
      const open = (id: string, token: string) =>
        readSse(
          `${short.baseUrl}/api/executions/${id}/events?access_token=${encodeURIComponent(token)}`,
        );
      const ok = await open(one.id, one.eventsToken);
      expect(ok.status).toBe(200);
      expect(ok.events[ok.events.length - 1].event).toBe('end');
      expect((await open(two.id, one.eventsToken)).status).toBe(401);
      expect((await open(one.id, short.token)).status).toBe(401);
      const elsewhere = await short.request(
        'GET',
        `/api/executions/${one.id}?access_token=${one.eventsToken}`,
        { auth: false },
      );
      expect(elsewhere.status).toBe(401);
      await sleep(Date.parse(one.eventsTokenExpiresAt) - Date.now() + 100);
      expect((await open(one.id, one.eventsToken)).status).toBe(401);
    } finally {
      await short.close();
    }
  });
});

describe('the service process: SIGTERM drain and crash recovery', () => {
  let fake: FakeAnthropic;
  const prefix = `cca-e2e-${uniqueSuffix()}-`;
  const token = `process-token-${randomUUID()}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cca-proc-data-'));
  const env = () => ({
    ...fakeUpstreamProcessEnv({ token, prefix, dataDir, fakeUrl: fake.url }),
    // The quick run, and a request that must be refused, both come within it on a loaded machine.
    SHUTDOWN_GRACE_MS: '5000',
  });
  const clientOf = (baseUrl: string) => createSpecCheckedClient({ baseUrl, token });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(async () => {
    await fake.close();
    removeDockerObjects(prefix);
  });

  it('on SIGTERM refuses new runs, lets a short run finish, and stops a long one as interrupted', async () => {
    const service = await startServiceProcess(env());
    const client = clientOf(service.baseUrl);
    fake.replySlow('quick', { delayMs: 500 });
    const quick = await submit(client, { env: 'dev', prompt: 'quick' });
    await fake.waitForMainRequests(1, 60_000);
    fake.replySlow('too long', { delayMs: 60_000 });
    const long = await submit(client, { env: 'dev', prompt: 'long' });
    await fake.waitForMainRequests(2, 60_000);

    service.child.kill('SIGTERM');
    await sleep(200);
    const refused = await client.POST('/api/executions', { body: { env: 'dev', prompt: 'late' } });
    expect(refused.response.status).toBe(503);
    expect(refused.error).toMatchObject({ code: 'SHUTTING_DOWN' });
    // Nest re-raises the signal once its shutdown hooks are done.
    expect(await service.exited).toBe('SIGTERM');
    expect(claudeProcesses(`${prefix}dev`)).toEqual([]);

    const after = await startServiceProcess(env());
    try {
      const restarted = clientOf(after.baseUrl);
      expect(await getExecution(restarted, quick.id)).toMatchObject({
        status: 'succeeded',
        result: 'quick',
      });
      expect(await getExecution(restarted, long.id)).toMatchObject({
        status: 'interrupted',
        errorCode: 'INTERRUPTED',
      });
      // The stored events outlive the process: the finished run replays after the restart.
      const replay = await readSse(`${after.baseUrl}/api/executions/${quick.id}/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(replay.events.map((event) => event.event)).toEqual(
        expect.arrayContaining(['system', 'assistant', 'result', 'end']),
      );
    } finally {
      after.child.kill('SIGTERM');
      await after.exited;
    }
  });

  it('after a SIGKILL, the next boot kills the orphaned CLI and marks the run interrupted', async () => {
    fake.clear();
    const service = await startServiceProcess(env());
    fake.replySlow('orphan', { delayMs: 60_000 });
    const run = await submit(clientOf(service.baseUrl), { env: 'dev', prompt: 'crash me' });
    await fake.waitForMainRequests(1, 60_000);
    service.child.kill('SIGKILL');
    await service.exited;
    expect(claudeProcessesOf(`${prefix}dev`, run.sessionId)).not.toEqual([]);

    const after = await startServiceProcess(env());
    try {
      expect(await getExecution(clientOf(after.baseUrl), run.id)).toMatchObject({
        status: 'interrupted',
        errorCode: 'INTERRUPTED',
      });
      // Only the orphan: the new service starts spares of its own.
      await waitUntil(
        () => Promise.resolve(claudeProcessesOf(`${prefix}dev`, run.sessionId).length === 0),
        'the orphaned CLI killed',
      );
    } finally {
      after.child.kill('SIGTERM');
      await after.exited;
    }
  });
});
