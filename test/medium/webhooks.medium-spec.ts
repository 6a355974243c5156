import { HttpStatus } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceEvents } from '../../src/common/events/service-events';
import { WebhookDeliveryDto } from '../../src/webhooks/dto/webhook-delivery.dto';
import { WebhookDeliveriesRepository } from '../../src/webhooks/webhook-deliveries.repository';
import { signedHeaders } from '../../src/webhooks/webhook-signature';
import { waitUntil } from '../support/wait';
import {
  deliveryLogged,
  newWebhookSecret,
  startWebhookReceiver,
  WebhookReceiver,
} from '../support/webhook-receiver';
import { ExecutionsApp, executionsApps } from './executions-app';

// The webhooks for real (bus, outbox, worker, log route) around a fake runner, delivering to
// LifeOS's example receiver on a loopback port.
jest.setTimeout(20_000);

describe('webhooks: signed deliveries of the service events, from the outbox', () => {
  const boot = executionsApps();
  const secret = newWebhookSecret();
  const receivers: WebhookReceiver[] = [];
  const dataDirs: string[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  async function receiver(port?: number): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(secret, port);
    receivers.push(started);
    return started;
  }

  function bootTo(url: string, settings: Record<string, string> = {}): Promise<ExecutionsApp> {
    return boot({
      WEBHOOK_URL: url,
      WEBHOOK_SECRET: secret,
      WEBHOOK_RETRY_DELAYS: '100ms',
      ...settings,
    });
  }

  async function deliveries(app: ExecutionsApp, query = ''): Promise<WebhookDeliveryDto[]> {
    const reply = await app.request('GET', `/api/webhooks/deliveries${query}`);
    expect(reply.statusCode).toBe(HttpStatus.OK);
    return reply.json<{ items: WebhookDeliveryDto[] }>().items;
  }

  const logShows = (app: ExecutionsApp, matches: (d: WebhookDeliveryDto) => boolean) =>
    deliveryLogged(() => deliveries(app), matches);

  it('delivers each run end, signed, to a receiver that verifies and stores it', async () => {
    const lifeos = await receiver();
    const app = await bootTo(lifeos.url);
    const { runner, submit, request } = app;

    const succeeded = await submit({ prompt: 'a secret plan' });
    (await runner.runOf(succeeded)).succeed('done');
    const failed = await submit({ prompt: 'b', env: 'staging' });
    (await runner.runOf(failed)).finish({ end: 'exited', exitCode: 1, stderrTail: 'boom' });
    const timedOut = await submit({ prompt: 'c', env: 'staging' });
    (await runner.runOf(timedOut)).finish({ end: 'timeout', exitCode: null });
    const cancelled = await submit({ prompt: 'd' });
    await runner.runOf(cancelled);
    expect((await request('POST', `/api/executions/${cancelled}/cancel`)).statusCode).toBe(200);

    expect(await lifeos.runStored(succeeded)).toMatchObject({
      status: 'succeeded',
      result: 'done',
    });
    expect(await lifeos.runStored(failed)).toMatchObject({ status: 'failed', env: 'staging' });
    expect(await lifeos.runStored(timedOut)).toMatchObject({ status: 'timed_out' });
    expect(await lifeos.runStored(cancelled)).toMatchObject({ status: 'cancelled' });
    expect(JSON.stringify([...lifeos.runs.values()])).not.toContain('a secret plan');
    expect(lifeos.requests.map((r) => r.status)).toEqual([204, 204, 204, 204]);
    let log: WebhookDeliveryDto[] = [];
    await waitUntil(async () => {
      log = await deliveries(app, '?status=delivered');
      return log.length === 4;
    }, 'four deliveries recorded');
    expect(log.map((d) => d.attempts)).toEqual([1, 1, 1, 1]);
    expect(log.map((d) => d.id).sort()).toEqual(lifeos.requests.map((r) => r.webhookId).sort());
  });

  it('is refused by the receiver when forged: another secret, or a body changed after signing', async () => {
    const lifeos = await receiver();
    const body = JSON.stringify({
      type: 'run.ended',
      timestamp: new Date().toISOString(),
      data: { id: 'forged-run', status: 'succeeded' },
    });
    const post = (headers: Record<string, string>, sent = body) =>
      fetch(lifeos.url, { method: 'POST', headers, body: sent });
    const forged = await post(signedHeaders(newWebhookSecret(), 'msg_forged', body, new Date()));
    expect(forged.status).toBe(401);
    const tampered = await post(
      signedHeaders(secret, 'msg_tampered', body, new Date()),
      body.replace('succeeded', 'failed'),
    );
    expect(tampered.status).toBe(401);
    expect(lifeos.runs.size).toBe(0);
    // The same receiver takes what the secret signed.
    expect((await post(signedHeaders(secret, 'msg_genuine', body, new Date()))).status).toBe(204);
    expect(lifeos.runs.has('forged-run')).toBe(true);
  });

  it('retries a failed attempt under the same webhook-id until the receiver takes it', async () => {
    const lifeos = await receiver();
    lifeos.failNext(2, 500);
    const app = await bootTo(lifeos.url);
    const id = await app.submit({ prompt: 'retry me' });
    (await app.runner.runOf(id)).succeed('ok');

    await lifeos.runStored(id);
    const delivery = await logShows(app, (d) => d.status === 'delivered');
    expect(delivery).toMatchObject({
      eventType: 'run.ended',
      attempts: 3,
      lastResponseStatus: 204,
      lastError: null,
      nextAttemptAt: null,
    });
    expect(lifeos.requests).toEqual([
      { webhookId: delivery.id, status: 500 },
      { webhookId: delivery.id, status: 500 },
      { webhookId: delivery.id, status: 204 },
    ]);
  });

  /** A run's end sent to a receiver that answers `status` to each of `maxAttempts` attempts. */
  async function failedDelivery(status: number, maxAttempts: number) {
    const lifeos = await receiver();
    lifeos.failNext(maxAttempts + 5, status);
    const app = await bootTo(lifeos.url, { WEBHOOK_MAX_ATTEMPTS: String(maxAttempts) });
    const id = await app.submit({ prompt: 'doomed' });
    (await app.runner.runOf(id)).succeed('ok');
    return { lifeos, delivery: await logShows(app, (d) => d.status === 'failed') };
  }

  it('follows no redirect: a 3xx is a failed attempt', async () => {
    const { lifeos, delivery } = await failedDelivery(307, 1);
    expect(delivery).toMatchObject({ attempts: 1, lastResponseStatus: 307, lastError: 'HTTP 307' });
    expect(lifeos.runs.size).toBe(0);
  });

  it('marks a delivery failed after WEBHOOK_MAX_ATTEMPTS, and keeps it in the log', async () => {
    const { lifeos, delivery } = await failedDelivery(503, 2);
    expect(delivery).toMatchObject({
      attempts: 2,
      lastResponseStatus: 503,
      lastError: 'HTTP 503',
      nextAttemptAt: null,
      deliveredAt: null,
    });
    expect(lifeos.requests.map((r) => r.status)).toEqual([503, 503]);
  });

  it('gives up an attempt that gets no answer within WEBHOOK_TIMEOUT_MS', async () => {
    const lifeos = await receiver();
    lifeos.failNext(1, 'hang');
    // Long enough for the second attempt's answer on a loaded machine; the first never gets one.
    const app = await bootTo(lifeos.url, { WEBHOOK_TIMEOUT_MS: '2000' });
    const id = await app.submit({ prompt: 'slow receiver' });
    (await app.runner.runOf(id)).succeed('ok');
    await lifeos.runStored(id);
    const delivered = await logShows(app, (d) => d.status === 'delivered');
    expect(delivered.attempts).toBe(2);
    expect(lifeos.requests).toEqual([{ webhookId: delivered.id, status: 204 }]);
  });

  it('at shutdown, cuts the attempt in flight short and leaves it pending, uncounted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cca-medium-hooks-'));
    dataDirs.push(dataDir);
    const lifeos = await receiver();
    lifeos.failNext(1, 'hang');
    // Far longer than the test may take: the close must not wait for the attempt's deadline.
    const app = await bootTo(lifeos.url, { DATA_DIR: dataDir, WEBHOOK_TIMEOUT_MS: '300000' });
    const id = await app.submit({ prompt: 'cut short' });
    (await app.runner.runOf(id)).succeed('ok');
    await logShows(app, (d) => d.status === 'delivering');
    await app.app.close();

    const after = await boot({ DATA_DIR: dataDir });
    expect(await deliveries(after)).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 0, lastError: null }),
    ]);
  });

  it('keeps what the receiver missed while down, and delivers it after a restart of the service', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cca-medium-hooks-'));
    dataDirs.push(dataDir);
    const down = await receiver();
    const port = Number(new URL(down.url).port);
    await down.close();
    const settings = {
      DATA_DIR: dataDir,
      WEBHOOK_MAX_ATTEMPTS: '100',
      WEBHOOK_RETRY_DELAYS: '300ms',
    };
    const first = await bootTo(down.url, settings);
    const missed = await first.submit({ prompt: 'while down' });
    (await first.runner.runOf(missed)).succeed('kept');
    const pending = await logShows(first, (d) => d.attempts > 0 && d.status === 'pending');
    expect(pending.lastResponseStatus).toBeNull();
    expect(pending.lastError).toContain('ECONNREFUSED');
    expect(pending.nextAttemptAt).not.toBeNull();
    // A run still running at shutdown ends interrupted, and its end waits in the outbox too.
    const cut = await first.submit({ prompt: 'cut by the shutdown' });
    await first.runner.runOf(cut);
    await first.app.close();

    const lifeos = await receiver(port);
    const second = await bootTo(lifeos.url, settings);
    expect(await lifeos.runStored(cut)).toMatchObject({ status: 'interrupted' });
    expect(await lifeos.runStored(missed)).toMatchObject({ status: 'succeeded', result: 'kept' });
    const delivered = await logShows(
      second,
      (d) => d.id === pending.id && d.status === 'delivered',
    );
    expect(delivered.lastResponseStatus).toBe(204);
    expect(delivered.attempts).toBeGreaterThan(1);
  });

  it('at boot, retries a delivery a crash left in flight', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cca-medium-hooks-'));
    dataDirs.push(dataDir);
    const before = await boot({ DATA_DIR: dataDir });
    const outbox = before.app.get(WebhookDeliveriesRepository);
    const payload = JSON.stringify({ type: 'container.idle_stopped', timestamp: 'x', data: {} });
    const createdAt = new Date().toISOString();
    await outbox.enqueue({
      id: 'msg_inflight',
      eventType: 'container.idle_stopped',
      payload,
      createdAt,
    });
    expect(await outbox.claimDue(new Date().toISOString())).toMatchObject({ status: 'delivering' });
    await before.app.close();

    const lifeos = await receiver();
    const after = await bootTo(lifeos.url, { DATA_DIR: dataDir });
    await logShows(after, (d) => d.id === 'msg_inflight' && d.status === 'delivered');
    expect(lifeos.events).toEqual([{ type: 'container.idle_stopped', timestamp: 'x', data: {} }]);
  });

  it('delivers any event type of the bus, as { type, timestamp, data }, within WEBHOOK_EVENTS', async () => {
    const lifeos = await receiver();
    const app = await bootTo(lifeos.url, { WEBHOOK_EVENTS: 'run.ended,container.idle_stopped' });
    const bus = app.app.get(ServiceEvents);
    const idle = {
      env: 'dev',
      idleSince: '2026-01-01T00:00:00.000Z',
      stoppedAt: new Date().toISOString(),
    };
    bus.emit('ask.requested', { runId: 'r', kind: 'approval', request: { requestId: 'q' } });
    bus.emit('container.idle_stopped', idle);
    await waitUntil(() => Promise.resolve(lifeos.events.length > 0), 'the idle stop delivered');
    expect(lifeos.events).toEqual([
      { type: 'container.idle_stopped', timestamp: expect.any(String), data: idle },
    ]);
    expect((await deliveries(app)).map((d) => d.eventType)).toEqual(['container.idle_stopped']);
  });

  it('tells an approval a run waits on', async () => {
    const lifeos = await receiver();
    const app = await bootTo(lifeos.url);
    const id = await app.submit({ prompt: 'rm things', approvals: true });
    const run = await app.runner.runOf(id);
    void run.askApproval('Bash', { command: 'rm -rf build' });
    await waitUntil(() => Promise.resolve(lifeos.events.length > 0), 'the ask delivered');
    expect(lifeos.events[0]).toMatchObject({
      type: 'ask.requested',
      data: { runId: id, kind: 'approval', request: { tool: 'Bash' } },
    });
    run.succeed('done');
    await lifeos.runStored(id);
  });

  it('lists the log newest first, by page and filter, behind the bearer token', async () => {
    const lifeos = await receiver();
    const app = await bootTo(lifeos.url);
    for (const prompt of ['one', 'two', 'three']) {
      const id = await app.submit({ prompt });
      (await app.runner.runOf(id)).succeed(prompt);
      await lifeos.runStored(id);
    }
    const first = await app.request('GET', '/api/webhooks/deliveries?limit=2');
    const page = first.json<{ items: WebhookDeliveryDto[]; nextCursor: string | null }>();
    expect(page.items).toHaveLength(2);
    const next = await app.request(
      'GET',
      `/api/webhooks/deliveries?limit=2&cursor=${page.nextCursor}`,
    );
    const rest = next.json<{ items: WebhookDeliveryDto[]; nextCursor: string | null }>();
    expect(rest).toMatchObject({ nextCursor: null, items: [expect.anything()] });
    const all = [...page.items, ...rest.items];
    expect(all.map((d) => d.createdAt)).toEqual(
      all
        .map((d) => d.createdAt)
        .sort()
        .reverse(),
    );
    expect(Object.keys(all[0])).not.toContain('payload');
    expect(await deliveries(app, '?status=failed')).toEqual([]);
    expect(await deliveries(app, '?eventType=run.ended')).toHaveLength(3);
    const unknownType = await app.request('GET', '/api/webhooks/deliveries?eventType=run.started');
    expect(unknownType.statusCode).toBe(400);
    expect(unknownType.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const anonymous = await app.app.inject({ method: 'GET', url: '/api/webhooks/deliveries' });
    expect(anonymous.statusCode).toBe(401);
  });
});
