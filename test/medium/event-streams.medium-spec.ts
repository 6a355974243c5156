import { connect, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LIVE_BUFFER_BYTES } from '../../src/executions/execution-events';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { assistantMessage } from '../support/fake-run-executor';
import { outline, readSse } from '../support/sse-client';
import { waitUntil } from '../support/wait';
import { executionsApps, TOKEN } from './executions-app';

// Apart from the run lifecycle (executions.medium-spec.ts): these push tens of MiB of events
// through real sockets, and take seconds where the lifecycle takes milliseconds.
jest.setTimeout(20_000);

describe('bounded event streams: the real wiring and store around a fake runner', () => {
  const boot = executionsApps();

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
  }, 180_000);

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
      new Promise<void>((opened) => open.push(readSse(url, { headers, onEvent: () => opened() })));
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

  it('frees the slot of a client that goes away while the stream reads the store', async () => {
    const { app, submit, listen } = await boot({ SSE_MAX_STREAMS_PER_TOKEN: '1' });
    // A run that is running and quiet: nothing but the client's leaving can end its stream.
    const id = await submit({ prompt: 'quiet' });
    const base = await listen();
    const serverSockets: Socket[] = [];
    app.getHttpServer().on('connection', (socket: Socket) => serverSockets.push(socket));

    // The stream's first read of the store waits until the client has gone.
    const repository = app.get(ExecutionsRepository);
    const read = repository.eventsAfter.bind(repository);
    let reading: () => void = () => undefined;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    let finishRead: () => void = () => undefined;
    const readMayFinish = new Promise<void>((resolve) => (finishRead = resolve));
    jest.spyOn(repository, 'eventsAfter').mockImplementationOnce(async (...args) => {
      reading();
      await readMayFinish;
      return read(...args);
    });

    const client = await stalledEventsClient(base, id);
    await client.headers;
    await readStarted;
    const [serverSide] = serverSockets;
    const serverSawClose = new Promise((resolve) => serverSide.once('close', resolve));
    client.close();
    await serverSawClose;
    // The server's own close listeners (they abort the stream) have run by the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    finishRead();

    // The next stream of that token is let in: the one left behind has ended.
    const opens = async () => {
      const abort = new AbortController();
      const response = await fetch(`${base}/api/executions/${id}/events`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: abort.signal,
      });
      abort.abort();
      return response.status === 200;
    };
    await waitUntil(opens, 'a second stream of the token to be let in', 5_000);
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
