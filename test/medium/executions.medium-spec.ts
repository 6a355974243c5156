import { HttpStatus } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ApiError } from '../../src/common/errors/api-error';
import { ErrorCode } from '../../src/common/errors/error-codes';
import { LIVE_BUFFER_BYTES } from '../../src/executions/execution-events';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { assistantMessage, resultMessage } from '../support/fake-run-executor';
import { SseEvent } from '../support/sse-client';
import { readSse } from '../support/sse-client';
import { waitUntil } from '../support/wait';
import { executionsApps, TOKEN } from './executions-app';

// One file for the tier: each spec file pays for loading the whole app again. Nothing here
// waits on the clock, so a run that never ends fails its test in seconds, not after 120 s.
jest.setTimeout(10_000);

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

  describe('bounded streams', () => {
    it('holds a bounded buffer for a client that stops reading, then replays the stored events and the newest', async () => {
      // 600 events of 64 KiB (about 38 MiB): the first 300 fill the store (16 MiB, 255 events)
      // before the client connects, the rest come while it reads nothing. With the writer waiting
      // for the socket to drain, the service holds per stream at most the socket's high-water
      // mark (16 KiB) and one frame, the live buffer (256 KiB and one event) and one replay page
      // (256 KiB and one event), about 0.7 MiB; the bound below leaves room for the heap's noise.
      // The kernel's socket buffers take a few MiB more, outside the service.
      const EVENTS = 600;
      const PAYLOAD = 'x'.repeat(64 * 1024);
      const HEAP_BOUND = 8 * 1024 * 1024;
      const { app, runner, submit, listen } = await boot();
      const id = await submit({ prompt: 'chatty' });
      const run = await runner.runOf(id);
      const serverSockets: Socket[] = [];
      app.getHttpServer().on('connection', (socket: Socket) => serverSockets.push(socket));
      let socketBuffered = 0;
      const emit = async (from: number, to: number) => {
        for (let seq = from; seq <= to; seq += 1) {
          run.emit(assistantMessage(`${seq} ${PAYLOAD}`));
          if (seq % 20 !== 0) continue;
          // Lets the stream write what the socket takes.
          await new Promise((resolve) => setImmediate(resolve));
          for (const socket of serverSockets) {
            socketBuffered = Math.max(socketBuffered, socket.writableLength);
          }
        }
      };
      await emit(1, EVENTS / 2);
      const heap = heapAfterGc();
      const heapBefore = heap();

      const client = await stalledEventsClient(await listen(), id);
      let ids: number[];
      try {
        await client.headers;
        await emit(EVENTS / 2 + 1, EVENTS);
        const heapGrowth = heap() - heapBefore;
        // One frame is the event's JSON (64 KiB and a few bytes) with its SSE framing.
        expect(socketBuffered).toBeLessThanOrEqual(16 * 1024 + 66 * 1024);
        expect(heapGrowth).toBeLessThan(HEAP_BOUND);

        run.succeed('done');
        ids = await client.readToEnd();
      } finally {
        // A stream stalled on a socket nobody reads would hold the app's close open.
        client.close();
      }
      // Every stored event, then (past the store's 16 MiB) the newest ones the buffer kept.
      const stored = ids.findIndex((seq, index) => seq !== index + 1);
      expect(stored).toBeGreaterThan(200);
      expect(ids.slice(0, stored)).toEqual(Array.from({ length: stored }, (_, i) => i + 1));
      // The last event and the result message were still in the live buffer.
      expect(ids.slice(-2)).toEqual([EVENTS, EVENTS + 1]);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    }, 60_000);

    it('relays a live event larger than the live buffer to a reader that keeps up, even when it is not stored', async () => {
      const { runner, submit, readEvents } = await boot({ EVENTS_MAX_BYTES_PER_RUN: '1024' });
      const id = await submit({ prompt: 'big' });
      const run = await runner.runOf(id);
      run.emit(assistantMessage('small'));
      const big = 'y'.repeat(LIVE_BUFFER_BYTES + 1024);

      const events = await readEvents(id, {
        onEvent: (event) => {
          if (event.id !== '1') return;
          run.emit(assistantMessage(big));
          setImmediate(() => run.succeed('done'));
        },
      });
      expect(outline(events)).toEqual({
        events: ['1 assistant', '2 assistant', '3 result'],
        end: expect.objectContaining({ eventsDropped: 2 }),
      });
      expect(JSON.parse(events[1].data)).toEqual(assistantMessage(big));
    });

    it('caps open streams per token and in all with 429 TOO_MANY_STREAMS, and frees a slot when a stream ends', async () => {
      const { app, runner, request, listen, readEvents } = await boot({
        SSE_MAX_STREAMS_PER_TOKEN: '2',
        SSE_MAX_STREAMS: '3',
      });
      const submitted = async (prompt: string) =>
        (await request('POST', '/api/executions', { env: 'dev', prompt })).json<{
          id: string;
          eventsToken: string;
        }>();
      const one = await submitted('one');
      const two = await submitted('two');
      const run = await runner.runOf(one.id);
      run.emit(assistantMessage('first'));
      const base = await listen();
      const withToken = (run: { id: string; eventsToken: string }) =>
        `${base}/api/executions/${run.id}/events?access_token=${encodeURIComponent(run.eventsToken)}`;
      const bearer = { authorization: `Bearer ${TOKEN}` };

      // Each stream counts as open once it has replayed the run's first event.
      const open: Promise<unknown>[] = [];
      const openStream = (url: string, headers?: Record<string, string>) =>
        new Promise<void>((opened) =>
          open.push(readSse(url, { headers, onEvent: () => opened() })),
        );
      await openStream(`${base}/api/executions/${one.id}/events`, bearer);
      await openStream(`${base}/api/executions/${one.id}/events`, bearer);

      const overToken = await readSse(`${base}/api/executions/${one.id}/events`, {
        headers: bearer,
      });
      expect(overToken.status).toBe(429);
      const refused = await request('GET', `/api/executions/${one.id}/events`);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.json()).toEqual({
        statusCode: 429,
        code: 'TOO_MANY_STREAMS',
        message: 'This token has 2 event streams open (SSE_MAX_STREAMS_PER_TOKEN); close one first',
        requestId: refused.headers['x-request-id'],
      });

      // A run's events token is a token of its own, but the total still counts it.
      await openStream(withToken(one));
      const overTotal = await app.inject({ method: 'GET', url: withToken(two).slice(base.length) });
      expect(overTotal.statusCode).toBe(429);
      expect(overTotal.json()).toMatchObject({
        code: 'TOO_MANY_STREAMS',
        message: 'The service has 3 event streams open (SSE_MAX_STREAMS); retry shortly',
      });

      run.succeed('done');
      await Promise.all(open);
      const replayed = await readEvents(one.id);
      expect(replayed.at(-1)?.event).toBe('end');
    });

    it("refuses a run's events token once its run has ended EVENTS_TOKEN_GRACE_MS ago; a stream open at the end gets the end", async () => {
      const { runner, request, listen } = await boot({ EVENTS_TOKEN_GRACE_MS: '0' });
      const submitted = (
        await request('POST', '/api/executions', { env: 'dev', prompt: 'hi' })
      ).json<{ id: string; eventsToken: string }>();
      const run = await runner.runOf(submitted.id);
      run.emit(assistantMessage('working'));
      const url = `${await listen()}/api/executions/${submitted.id}/events?access_token=${encodeURIComponent(submitted.eventsToken)}`;

      const open = await readSse(url, {
        onEvent: (event) => {
          if (event.id === '1') run.succeed('done');
        },
      });
      expect(open.status).toBe(200);
      expect(open.events.map((event) => event.event)).toEqual(['assistant', 'result', 'end']);

      const late = await readSse(url);
      expect(late.status).toBe(401);
    });

    it("keeps a run's events token working for a replay within EVENTS_TOKEN_GRACE_MS of its end", async () => {
      const { runner, request, listen, ended } = await boot({ EVENTS_TOKEN_GRACE_MS: '600000' });
      const submitted = (
        await request('POST', '/api/executions', { env: 'dev', prompt: 'hi' })
      ).json<{ id: string; eventsToken: string }>();
      (await runner.runOf(submitted.id)).succeed('done');
      await ended(submitted.id);
      const replay = await readSse(
        `${await listen()}/api/executions/${submitted.id}/events?access_token=${encodeURIComponent(submitted.eventsToken)}`,
      );
      expect(replay.status).toBe(200);
      expect(replay.events.map((event) => event.event)).toEqual(['result', 'end']);
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
        store.insert({ id, env, sessionId: randomUUID(), request: { env, prompt: id }, createdAt });
      }
      store.markRunning(runningId, new Date().toISOString());
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

/** The events' ids and types, and the fields of the final `end` frame. */
function outline(events: SseEvent[]) {
  const end = events.at(-1);
  return {
    events: events.slice(0, -1).map((event) => `${event.id} ${event.event}`),
    end: end?.event === 'end' ? (JSON.parse(end.data) as Record<string, unknown>) : end,
  };
}

/** The event ids 1..n, as the stream writes them. */
function seqs(n: number): string[] {
  return Array.from({ length: n }, (_, index) => String(index + 1));
}

/**
 * A client of the event stream that reads nothing (its socket is paused) until `readToEnd`, then
 * reads the rest up to the `end` event and answers the event ids it got.
 */
async function stalledEventsClient(baseUrl: string, id: string) {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET /api/executions/${id}/events HTTP/1.1\r\nHost: ${hostname}\r\n` +
      `Authorization: Bearer ${TOKEN}\r\n\r\n`,
  );
  let text = '';
  let sawHeaders: () => void = () => undefined;
  const headers = new Promise<void>((resolve) => (sawHeaders = resolve));
  // Just the status line and headers (one small read), then nothing.
  socket.once('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    socket.pause();
    sawHeaders();
  });
  return {
    headers,
    close: () => socket.destroy(),
    readToEnd: () =>
      new Promise<number[]>((resolve, reject) => {
        socket.on('error', reject);
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          // The `end` event, then the last chunk of the chunked answer.
          if (!/event: end\n[^]*\r\n0\r\n\r\n$/.test(text)) return;
          socket.destroy();
          resolve([...text.matchAll(/(?:^|\n)id: (\d+)\n/g)].map((match) => Number(match[1])));
        });
        socket.resume();
      }),
  };
}

/** A function that runs a full garbage collection and answers the heap in use after it, in bytes. */
function heapAfterGc(): () => number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
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
