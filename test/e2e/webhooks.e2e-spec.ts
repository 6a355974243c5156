import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaudeCodeClient, components } from '../../client/src';
import { signedHeaders } from '../../src/webhooks/webhook-signature';
import { removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import {
  fakeUpstreamProcessEnv,
  ServiceProcess,
  startServiceProcess,
} from '../support/service-process';
import { createSpecCheckedClient } from '../support/spec-checked-client';
import { uniqueSuffix } from '../support/test-app';
import {
  deliveryLogged,
  newWebhookSecret,
  startWebhookReceiver,
  WebhookReceiver,
} from '../support/webhook-receiver';

type WebhookDelivery = components['schemas']['WebhookDeliveryDto'];

// The built service as a process, real CLI runs against the fake upstream, and LifeOS's example
// receiver on a loopback port: what an operator sets up, down to a receiver that goes away.
jest.setTimeout(300_000);

describe('webhooks: the service process tells a receiver each run end, across its restarts', () => {
  let fake: FakeAnthropic;
  const prefix = `cca-e2e-${uniqueSuffix()}-`;
  const token = `hooks-token-${randomUUID()}`;
  const secret = newWebhookSecret();
  const dataDir = mkdtempSync(join(tmpdir(), 'cca-hooks-data-'));
  const services: ServiceProcess[] = [];
  const receivers: WebhookReceiver[] = [];

  const start = async (webhookUrl: string) => {
    const service = await startServiceProcess({
      ...fakeUpstreamProcessEnv({ token, prefix, dataDir, fakeUrl: fake.url }),
      SHUTDOWN_GRACE_MS: '1000',
      WEBHOOK_URL: webhookUrl,
      WEBHOOK_SECRET: secret,
      WEBHOOK_RETRY_DELAYS: '500ms',
      WEBHOOK_MAX_ATTEMPTS: '100',
    });
    services.push(service);
    return { service, client: createSpecCheckedClient({ baseUrl: service.baseUrl, token }) };
  };
  const receiver = async (port?: number) => {
    const started = await startWebhookReceiver(secret, port);
    receivers.push(started);
    return started;
  };

  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(async () => {
    for (const service of services) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await Promise.all(receivers.map((r) => r.close()));
    await fake.close();
    removeDockerObjects(prefix);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function submit(client: ClaudeCodeClient, prompt: string, timeoutMs?: number) {
    const res = await client.POST('/api/executions', { body: { env: 'dev', prompt, timeoutMs } });
    if (!res.data) throw new Error(`submit failed: ${JSON.stringify(res.error)}`);
    return res.data.id;
  }

  const logShows = (client: ClaudeCodeClient, matches: (d: WebhookDelivery) => boolean) =>
    deliveryLogged(async () => {
      const { data } = await client.GET('/api/webhooks/deliveries', {
        params: { query: { limit: 100 } },
      });
      return data?.items ?? [];
    }, matches);

  it('delivers each kind of run end signed, refuses a forgery, and survives the receiver and the service going down', async () => {
    const lifeos = await receiver();
    const first = await start(lifeos.url);

    fake.replyText('all done');
    const succeeded = await submit(first.client, 'say it');
    expect(await lifeos.runStored(succeeded)).toMatchObject({
      status: 'succeeded',
      result: 'all done',
    });

    fake.replyError({ status: 400, errorType: 'invalid_request_error', times: -1 });
    const failed = await submit(first.client, 'break it');
    expect(await lifeos.runStored(failed)).toMatchObject({ status: 'failed' });
    fake.clear();

    // Long enough for the CLI to make its model call (and take the hang) on a loaded machine:
    // the calls are counted below.
    fake.enqueue({ kind: 'hang' });
    const timedOut = await submit(first.client, 'take forever', 10_000);
    expect(await lifeos.runStored(timedOut)).toMatchObject({ status: 'timed_out' });

    fake.enqueue({ kind: 'hang' });
    const cancelled = await submit(first.client, 'wait for me');
    await fake.waitForMainRequests(2, 60_000);
    await first.client.POST('/api/executions/{id}/cancel', { params: { path: { id: cancelled } } });
    expect(await lifeos.runStored(cancelled)).toMatchObject({ status: 'cancelled' });

    // Signed with another secret: refused, and stored nowhere.
    const forgedBody = JSON.stringify({
      type: 'run.ended',
      timestamp: new Date().toISOString(),
      data: { id: 'forged', status: 'succeeded' },
    });
    const forged = await fetch(lifeos.url, {
      method: 'POST',
      headers: signedHeaders(newWebhookSecret(), 'msg_forged', forgedBody, new Date()),
      body: forgedBody,
    });
    expect(forged.status).toBe(401);
    expect(lifeos.runs.has('forged')).toBe(false);

    // The receiver goes away: a run's end is retried, then the service stops mid-run.
    const port = Number(new URL(lifeos.url).port);
    await lifeos.close();
    fake.replyText('told later');
    const missed = await submit(first.client, 'while the receiver is down');
    const waiting = await logShows(first.client, (d) => d.attempts > 0 && d.status === 'pending');
    expect(waiting.lastError).toContain('ECONNREFUSED');
    fake.replySlow('too late', { delayMs: 60_000 });
    const interrupted = await submit(first.client, 'cut by the shutdown');
    await fake.waitForMainRequests(4, 60_000);
    first.service.child.kill('SIGTERM');
    expect(await first.service.exited).toBe('SIGTERM');

    // Both ends wait in the outbox; the receiver comes back, then the service.
    const back = await receiver(port);
    const second = await start(back.url);
    expect(await back.runStored(missed)).toMatchObject({
      status: 'succeeded',
      result: 'told later',
    });
    expect(await back.runStored(interrupted)).toMatchObject({ status: 'interrupted' });
    const delivered = await logShows(
      second.client,
      (d) => d.id === waiting.id && d.status === 'delivered',
    );
    expect(delivered.attempts).toBeGreaterThan(1);
    const ids = back.requests.filter((r) => r.status === 204).map((r) => r.webhookId);
    expect(ids).toContain(waiting.id);
  });
});
