import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { Metrics } from '../../../../src/common/metrics/metrics';
import { DockerService } from '../../../../src/docker/docker.service';
import { appWithMockedDocker } from '../../../support/app-with-mocked-docker';
import { strictMock } from '../../../support/strict-mock';

const API_TOKEN = 'a'.repeat(32);
const METRICS_TOKEN = 'm'.repeat(32);

/** The real module, guards and filter; none of these requests may reach Docker. */
function appWith(env: Record<string, string> = {}): Promise<NestFastifyApplication> {
  return appWithMockedDocker(strictMock<DockerService>('DockerService'), {
    API_TOKEN,
    METRICS_TOKEN,
    ...env,
  });
}

function scrape(app: NestFastifyApplication, token?: string) {
  return app.inject({
    method: 'GET',
    url: '/metrics',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

describe('GET /metrics', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(() => app?.close());

  it('answers only METRICS_TOKEN: 401 without a token, with a wrong one, and with the API token', async () => {
    app = await appWith();
    for (const token of [undefined, 'w'.repeat(32), API_TOKEN]) {
      const res = await scrape(app, token);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect(res.body).not.toContain('claudecode_');
    }
    const ok = await scrape(app, METRICS_TOKEN);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toContain('text/plain; version=0.0.4');
    expect(ok.body).toContain('# TYPE claudecode_http_request_duration_seconds histogram');
  });

  it('does not exist without METRICS_TOKEN, so no token can open it', async () => {
    app = await appWith({ METRICS_TOKEN: '' });
    for (const token of [undefined, METRICS_TOKEN, API_TOKEN]) {
      const res = await scrape(app, token);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it("counts in the client IP's bucket, so its token is no faster to guess than the API's", async () => {
    app = await appWith({ THROTTLE_IP_LIMIT: '2' });
    expect((await scrape(app, 'w'.repeat(32))).statusCode).toBe(401);
    expect((await scrape(app, 'w'.repeat(32))).statusCode).toBe(401);
    const limited = await scrape(app, METRICS_TOKEN);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('METRICS_TOKEN opens no API route', async () => {
    app = await appWith();
    const res = await app.inject({
      method: 'GET',
      url: '/api/executions',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('HTTP request metrics', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(() => app?.close());

  it('counts requests under their route pattern and status, never their URL', async () => {
    app = await appWith();
    const headers = { authorization: `Bearer ${API_TOKEN}` };
    const runIds = [randomUUID(), randomUUID()];
    for (const id of runIds) {
      expect(
        (await app.inject({ method: 'GET', url: `/api/executions/${id}`, headers })).statusCode,
      ).toBe(404);
    }
    await app.inject({ method: 'GET', url: '/health' });
    await app.inject({ method: 'GET', url: `/no/such/${randomUUID()}?q=1`, headers });
    await app.inject({ method: 'GET', url: `/no/such/${randomUUID()}`, headers });

    const text = await app.get(Metrics).scrape();
    expect(text).toContain(
      'claudecode_http_request_duration_seconds_count{method="GET",route="/api/executions/:id",status="404"} 2\n',
    );
    expect(text).toContain(
      'claudecode_http_request_duration_seconds_count{method="GET",route="/health",status="200"} 1\n',
    );
    expect(text).toContain(
      'claudecode_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 2\n',
    );
    for (const id of runIds) expect(text).not.toContain(id);
    expect(text).not.toContain('/no/such');
  });
});
