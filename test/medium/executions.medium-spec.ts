import { HttpStatus } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ApiError } from '../../src/common/errors/api-error';
import { ErrorCode } from '../../src/common/errors/error-codes';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { assistantMessage, resultMessage } from '../support/fake-run-executor';
import { outline } from '../support/sse-client';
import { waitUntil } from '../support/wait';
import { executionsApps, TOKEN } from './executions-app';

// The run lifecycle in one file: each spec file pays for loading the whole app again (the
// bounded-stream tests, which push tens of MiB through sockets, are in event-streams.medium-spec.ts).
// Nothing here waits on the clock, so a run that never ends fails its test in seconds, not after 120 s.
jest.setTimeout(30_000);

describe('executions: the real wiring and store around a fake runner', () => {
  const boot = executionsApps();

  describe('the queue', () => {
    it('starts runs in FIFO order per environment, at most MAX_CONCURRENT_PER_ENV at once', async () => {
      const { runner, submit, status } = await boot({ MAX_CONCURRENT_PER_ENV: '2' });
      const a = await submit({ prompt: 'a' });
      const b = await submit({ prompt: 'b' });
      const c = await submit({ prompt: 'c' });
      const d = await submit({ prompt: 'd' });
      const e = await submit({ prompt: 'e', env: 'staging' });
      await runner.runOf(e);
      expect(runner.runIds).toEqual([a, b, e]);
      expect([await status(c), await status(d)]).toEqual(['queued', 'queued']);

      (await runner.runOf(b)).succeed('b done');
      expect((await runner.runAt(3)).request.runId).toBe(c);
      expect(await status(d)).toBe('queued');

      (await runner.runOf(a)).succeed('a done');
      expect((await runner.runAt(4)).request.runId).toBe(d);
    });

    it('never runs two prompts of one session at once, and lets other sessions pass', async () => {
      const { runner, submit, status } = await boot({ MAX_CONCURRENT_PER_ENV: '3' });
      const session = randomUUID();
      const first = await submit({ prompt: 'first', sessionId: session });
      const second = await submit({ prompt: 'second', sessionId: session });
      const other = await submit({ prompt: 'other' });
      await runner.runOf(other);
      expect(runner.runIds).toEqual([first, other]);
      expect(await status(second)).toBe('queued');

      (await runner.runOf(first)).succeed('done');
      const next = await runner.runAt(2);
      expect(next.request).toMatchObject({ runId: second, sessionId: session });
      expect(await status(first)).toBe('succeeded');
    });

    it('refuses a run beyond MAX_QUEUE_PER_ENV with 429 QUEUE_FULL and records nothing of it', async () => {
      const { runner, submit, request } = await boot({
        MAX_CONCURRENT_PER_ENV: '1',
        MAX_QUEUE_PER_ENV: '1',
      });
      const running = await submit({ prompt: 'running' });
      const waiting = await submit({ prompt: 'waiting' });

      const refused = await request('POST', '/api/executions', { env: 'dev', prompt: 'refused' });
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'QUEUE_FULL' });
      expect(refused.headers['retry-after']).toBe('10');

      const history = await request('GET', '/api/executions');
      expect(history.json<{ items: { id: string }[] }>().items.map((run) => run.id)).toEqual([
        waiting,
        running,
      ]);
      (await runner.runOf(running)).succeed('done');
      expect((await runner.runAt(1)).request.runId).toBe(waiting);
    });
  });

  describe('POST /api/execute', () => {
    it('answers in the desktop shape once the run succeeds', async () => {
      const { runner, request } = await boot();
      const reply = request('POST', '/api/execute', { env: 'dev', prompt: 'hi', jsonOutput: true });
      const run = await runner.runAt(0);
      run.emit(assistantMessage('hel'));
      run.succeed('hello');

      const response = await reply;
      expect(response.statusCode).toBe(200);
      const body = response.json<Record<string, unknown>>();
      expect(body).toEqual({
        success: true,
        sessionId: run.request.sessionId,
        exitCode: 0,
        durationMs: expect.any(Number),
        truncated: false,
        output: 'hello',
        json_output: expect.any(String),
      });
      expect(JSON.parse(body.json_output as string)).toMatchObject({ result: 'hello' });
    });

    it('answers 200 with success false, the error and its code when the run fails', async () => {
      const { runner, request } = await boot();
      const reply = request('POST', '/api/execute', { env: 'dev', prompt: 'hi' });
      (await runner.runAt(0)).finish({ end: 'exited', exitCode: 1, stderrTail: 'Invalid API key' });

      const response = await reply;
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        success: false,
        exitCode: 1,
        error: 'Invalid API key',
        code: 'CLI_EXITED',
      });
    });

    it('refuses a second prompt on a session that runs with 409 SESSION_BUSY', async () => {
      const { runner, request } = await boot();
      const sessionId = randomUUID();
      const first = request('POST', '/api/execute', { env: 'dev', prompt: 'one', sessionId });
      const run = await runner.runAt(0);

      const second = await request('POST', '/api/execute', {
        env: 'dev',
        prompt: 'two',
        sessionId,
      });
      expect(second.statusCode).toBe(409);
      expect(second.json()).toMatchObject({ code: 'SESSION_BUSY' });

      run.succeed('one done');
      expect((await first).json()).toMatchObject({ success: true, sessionId });
      expect(runner.runs).toHaveLength(1);
    });

    it('cancels the run and frees its session when the client disconnects before the answer', async () => {
      const { runner, request, listen, ended } = await boot();
      const sessionId = randomUUID();
      const gone = postAndHangUp(await listen(), { env: 'dev', prompt: 'long', sessionId });
      const run = await runner.runAt(0);

      gone.hangUp();
      await run.aborted;
      expect(await ended(run.request.runId)).toMatchObject({
        status: 'cancelled',
        errorCode: 'CANCELLED',
      });
      const next = request('POST', '/api/execute', { env: 'dev', prompt: 'again', sessionId });
      (await runner.runAt(1)).succeed('again');
      expect((await next).json()).toMatchObject({ success: true, sessionId });
    });

    it('takes a waiting run out of the queue when its client disconnects', async () => {
      const { runner, submit, request, listen } = await boot({ MAX_CONCURRENT_PER_ENV: '1' });
      const running = await submit({ prompt: 'running' });
      await runner.runOf(running);
      const gone = postAndHangUp(await listen(), { env: 'dev', prompt: 'waiting' });
      const waiting = async () =>
        (await request('GET', '/api/executions?status=queued')).json<{ items: unknown[] }>().items;
      await waitUntil(async () => (await waiting()).length === 1, 'the run to be queued');

      gone.hangUp();
      await waitUntil(async () => (await waiting()).length === 0, 'the run to leave the queue');
      const history = await request('GET', '/api/executions?status=cancelled');
      expect(history.json()).toMatchObject({ items: [{ prompt: 'waiting', startedAt: null }] });
      (await runner.runOf(running)).succeed('done');
      const later = await submit({ prompt: 'later' });
      expect((await runner.runAt(1)).request.runId).toBe(later);
    });

    it('ends the run failed with SETUP_FAILED when its container cannot be started', async () => {
      const { runner, containers, request } = await boot();
      containers.ensureRunning
        .mockResolvedValueOnce('claude-agent-dev') // at admission
        .mockRejectedValueOnce(
          new ApiError(
            HttpStatus.SERVICE_UNAVAILABLE,
            ErrorCode.CONTAINER_UNAVAILABLE,
            'The container of dev did not start',
          ),
        );

      const response = await request('POST', '/api/execute', { env: 'dev', prompt: 'hi' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        success: false,
        code: 'SETUP_FAILED',
        error: 'The run could not start: The container of dev did not start',
      });
      expect(containers.ensureRunning).toHaveBeenCalledTimes(2);
      expect(runner.runs).toHaveLength(0);
    });
  });

  describe('a run that hits a limit', () => {
    it('fails it, and restarts the container before its end is told; other runs are not held', async () => {
      const { runner, containers, submit, status, ended } = await boot();
      let restarted: () => void = () => undefined;
      containers.restart.mockImplementation(
        () => new Promise<void>((resolve) => (restarted = resolve)),
      );
      const bomb = await submit({ prompt: 'fork bomb' });
      const neighbour = await submit({ prompt: 'meanwhile' });
      (await runner.runAt(0)).finish({ end: 'timeout', limit: 'pids' });
      (await runner.runAt(1)).succeed('done');

      expect(await ended(neighbour)).toMatchObject({ status: 'succeeded' });
      // Held until the container is fit again, so a client's next run does not meet the bomb.
      expect(await status(bomb)).toBe('running');
      expect(containers.restart).toHaveBeenCalledWith('dev');
      restarted();
      expect(await ended(bomb)).toMatchObject({ status: 'failed', errorCode: 'PIDS_LIMIT' });
    });

    it('joins one restart when two runs hit the limit together', async () => {
      const { runner, containers, submit, status, ended } = await boot();
      let restarted: () => void = () => undefined;
      containers.restart.mockImplementation(
        () => new Promise<void>((resolve) => (restarted = resolve)),
      );
      const first = await submit({ prompt: 'fill /tmp' });
      const second = await submit({ prompt: 'also writes to /tmp' });
      (await runner.runAt(0)).finish({ limit: 'tmp' });
      (await runner.runAt(1)).finish({ limit: 'tmp' });
      expect(await status(second)).toBe('running');
      restarted();
      for (const id of [first, second]) {
        expect(await ended(id)).toMatchObject({ status: 'failed', errorCode: 'TMP_FULL' });
      }
      expect(containers.restart).toHaveBeenCalledTimes(1);
    });

    it('leaves the container as it is after an OOM kill: the kernel has ended the process', async () => {
      const { runner, containers, submit, ended } = await boot();
      const hog = await submit({ prompt: 'memory hog' });
      // The CLI carried on past its killed tool; the runner reports the limit beside its result.
      const run = await runner.runAt(0);
      run.finish({
        result: resultMessage('tool_result: Killed'),
        output: 'tool_result: Killed',
        limit: 'memory',
      });
      expect(await ended(hog)).toMatchObject({ status: 'failed', errorCode: 'MEMORY_LIMIT' });
      expect(containers.restart).not.toHaveBeenCalled();
    });
  });

  describe('cancel', () => {
    it('takes a queued run out of the queue: it ends cancelled and never reaches the runner', async () => {
      const { runner, submit, request } = await boot({ MAX_CONCURRENT_PER_ENV: '1' });
      const running = await submit({ prompt: 'running' });
      const queued = await submit({ prompt: 'queued' });

      const cancelled = await request('POST', `/api/executions/${queued}/cancel`);
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({
        status: 'cancelled',
        errorCode: 'CANCELLED',
        startedAt: null,
      });

      (await runner.runOf(running)).succeed('done');
      const later = await submit({ prompt: 'later' });
      expect((await runner.runAt(1)).request.runId).toBe(later);
    });

    it('aborts a running run through its signal: it ends cancelled', async () => {
      const { runner, submit, request } = await boot();
      const id = await submit({ prompt: 'long' });
      const run = await runner.runOf(id);

      const cancelled = await request('POST', `/api/executions/${id}/cancel`);
      expect(run.isAborted).toBe(true);
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({ status: 'cancelled', errorCode: 'CANCELLED' });
    });

    it('refuses to cancel a finished run with 409 EXECUTION_FINISHED', async () => {
      const { runner, submit, request, ended } = await boot();
      const id = await submit({ prompt: 'short' });
      (await runner.runOf(id)).succeed('done');
      await ended(id);

      const refused = await request('POST', `/api/executions/${id}/cancel`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'EXECUTION_FINISHED' });
    });
  });

  describe('events', () => {
    it('streams the stored events, then the live ones, then end; Last-Event-ID resumes', async () => {
      const { runner, submit, readEvents } = await boot();
      const id = await submit({ prompt: 'hi' });
      const run = await runner.runOf(id);
      run.emit(assistantMessage('one'));
      run.emit(assistantMessage('two'));

      // The reader joins after two events; the rest of the run happens while it listens.
      const events = await readEvents(id, {
        onEvent: (event) => {
          if (event.id !== '2') return;
          run.emit(assistantMessage('three'));
          run.succeed('four');
        },
      });
      expect(outline(events)).toEqual({
        events: ['1 assistant', '2 assistant', '3 assistant', '4 result'],
        end: expect.objectContaining({ id, status: 'succeeded', eventCount: 4, eventsDropped: 0 }),
      });
      expect(JSON.parse(events[2].data)).toEqual(assistantMessage('three'));

      const resumed = await readEvents(id, { lastEventId: '2' });
      expect(outline(resumed)).toEqual({
        events: ['3 assistant', '4 result'],
        end: expect.objectContaining({ status: 'succeeded' }),
      });
    });

    it('resolves waitForEnd when the run ends, not before', async () => {
      const { runner, submit, status, ended } = await boot();
      const id = await submit({ prompt: 'hi' });
      const run = await runner.runOf(id);
      let hasEnded = false;
      const end = ended(id).then((record) => {
        hasEnded = true;
        return record;
      });

      run.emit(assistantMessage('working'));
      expect(await status(id)).toBe('running');
      expect(hasEnded).toBe(false);

      run.succeed('done');
      expect(await end).toMatchObject({ id, status: 'succeeded', result: 'done', eventCount: 2 });
    });

    it('relays every event but stores at most EVENTS_MAX_PER_RUN, counting the dropped ones', async () => {
      const { runner, submit, readEvents, request } = await boot({ EVENTS_MAX_PER_RUN: '10' });
      const id = await submit({ prompt: 'hi' });
      const run = await runner.runOf(id);
      run.emit(assistantMessage('1'));

      const live = await readEvents(id, {
        onEvent: (event) => {
          if (event.id !== '1') return;
          for (let n = 2; n <= 11; n += 1) run.emit(assistantMessage(String(n)));
          run.succeed('12');
        },
      });
      expect(live.map((event) => event.id)).toEqual([...seqs(12), undefined]);
      expect(outline(live).end).toMatchObject({ eventCount: 12, eventsDropped: 2 });

      const replayed = await readEvents(id);
      expect(replayed.map((event) => event.id)).toEqual([...seqs(10), undefined]);
      const record = await request('GET', `/api/executions/${id}`);
      expect(record.json()).toMatchObject({ eventCount: 12, eventsDropped: 2 });
    });
  });

  describe('shutdown and restart', () => {
    afterEach(() => jest.useRealTimers());

    it('ends waiting runs, stops running ones after SHUTDOWN_GRACE_MS, refuses new ones meanwhile', async () => {
      const grace = 5000;
      const { app, runner, submit, request, ended } = await boot({
        MAX_CONCURRENT_PER_ENV: '1',
        SHUTDOWN_GRACE_MS: String(grace),
      });
      const running = await submit({ prompt: 'running' });
      const queued = await submit({ prompt: 'queued' });
      const run = await runner.runOf(running);
      const runningEnd = ended(running);
      const queuedEnd = ended(queued);

      // Only timeouts are faked: the test says when the grace period is over.
      jest.useFakeTimers(TIMEOUTS_ONLY);
      const closing = app.close();
      try {
        expect(await queuedEnd).toMatchObject({
          status: 'interrupted',
          errorCode: 'INTERRUPTED',
          startedAt: null,
        });
        const refused = await request('POST', '/api/executions', { env: 'dev', prompt: 'late' });
        expect(refused.statusCode).toBe(503);
        expect(refused.json()).toMatchObject({ code: 'SHUTTING_DOWN' });

        jest.advanceTimersByTime(grace - 1);
        await new Promise((resolve) => setImmediate(resolve));
        expect(run.isAborted).toBe(false);
        jest.advanceTimersByTime(1);
        await run.aborted;
        expect(await runningEnd).toMatchObject({ status: 'interrupted', errorCode: 'INTERRUPTED' });
      } finally {
        // Even after a failed expectation the grace ends, so the close completes.
        jest.advanceTimersByTime(grace);
        jest.useRealTimers();
        await closing;
      }
      expect(runner.runIds).toEqual([running]);
    });

    it('refuses with 503 SHUTTING_DOWN a run whose admission was under way when the drain began', async () => {
      const { app, runner, containers, submit, request, ended } = await boot({
        MAX_CONCURRENT_PER_ENV: '1',
        SHUTDOWN_GRACE_MS: '60000',
      });
      const running = await submit({ prompt: 'running' });
      const queued = await submit({ prompt: 'queued' });
      const run = await runner.runOf(running);
      let admit: (containerName: string) => void = () => undefined;
      const admitting = new Promise<void>((started) =>
        containers.ensureRunning.mockImplementationOnce(() => {
          started();
          return new Promise((resolve) => (admit = resolve));
        }),
      );
      const late = request('POST', '/api/executions', { env: 'dev', prompt: 'late' });
      await admitting;

      // The drain has begun once it has ended the waiting run; the running one holds it open.
      const queuedEnd = ended(queued);
      const closing = app.close();
      await queuedEnd;
      admit('claude-agent-dev');
      const refused = await late;
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'SHUTTING_DOWN' });
      const history = await request('GET', '/api/executions');
      expect(history.json<{ items: { id: string }[] }>().items.map((item) => item.id)).toEqual([
        queued,
        running,
      ]);

      run.succeed('done');
      await closing;
      expect(runner.runIds).toEqual([running]);
    });

    it('at boot, ends the runs a crash left queued or running and kills the running CLI', async () => {
      const previous = await boot();
      const store = previous.app.get(ExecutionsRepository);
      const [runningId, queuedId] = [randomUUID(), randomUUID()];
      for (const [id, env] of [
        [runningId, 'dev'],
        [queuedId, 'staging'],
      ]) {
        const createdAt = new Date().toISOString();
        await store.insert(
          {
            ...{ id, env, sessionId: randomUUID(), request: { env, prompt: id }, createdAt },
            ownerReplica: 'a-replica-that-crashed',
          },
          'a-token',
        );
      }
      await store.markRunning(runningId, new Date().toISOString());
      await previous.app.close();

      const { runner, status, request } = await boot({ DATA_DIR: previous.config.dataDir });
      expect([await status(runningId), await status(queuedId)]).toEqual([
        'interrupted',
        'interrupted',
      ]);
      expect((await request('GET', `/api/executions/${queuedId}`)).json()).toMatchObject({
        errorCode: 'INTERRUPTED',
        error: 'The service stopped while the run was in flight',
      });
      expect(runner.kills).toEqual([{ containerName: 'claude-agent-dev', runId: runningId }]);
    });
  });
});

/** Fakes setTimeout and clearTimeout only; I/O and the rest of the app's clocks stay real. */
const TIMEOUTS_ONLY: Parameters<typeof jest.useFakeTimers>[0] = {
  doNotFake: [
    'Date',
    'hrtime',
    'nextTick',
    'performance',
    'queueMicrotask',
    'setImmediate',
    'clearImmediate',
    'setInterval',
    'clearInterval',
  ],
};

/** The event ids 1..n, as the stream writes them. */
function seqs(n: number): string[] {
  return Array.from({ length: n }, (_, index) => String(index + 1));
}

/** POST /api/execute over a real socket, from a client that can hang up before the answer. */
function postAndHangUp(baseUrl: string, body: object): { hangUp: () => void } {
  const { hostname, port } = new URL(baseUrl);
  const payload = JSON.stringify(body);
  const request = httpRequest({
    host: hostname,
    port: Number(port),
    method: 'POST',
    path: '/api/execute',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    },
  });
  request.on('error', () => undefined); // the hang-up itself
  request.end(payload);
  return { hangUp: () => request.destroy() };
}
