import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DockerService } from '../../../../src/docker/docker.service';
import { appWithMockedDocker } from '../../../support/app-with-mocked-docker';
import { strictMock } from '../../../support/strict-mock';

const TOKEN = 't'.repeat(32);
const OTHER = 'o'.repeat(32);

/** The real module, guards and filter; none of these requests may reach Docker. */
function appWith(env: Record<string, string>): Promise<NestFastifyApplication> {
  return appWithMockedDocker(strictMock<DockerService>('DockerService'), {
    API_TOKEN: TOKEN,
    API_TOKENS: OTHER,
    ...env,
  });
}

function send(
  app: NestFastifyApplication,
  method: 'GET' | 'POST',
  url: string,
  token: string | null = TOKEN,
  remoteAddress = '127.0.0.1',
) {
  return app.inject({
    method,
    url,
    remoteAddress,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    ...(method === 'POST' ? { payload: {} } : {}),
  });
}

describe('throttling (through the real guards and filter)', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(() => app?.close());

  it('counts failed logins per IP, then refuses that IP even a good token, with 429 and Retry-After', async () => {
    app = await appWith({ THROTTLE_IP_LIMIT: '3', THROTTLE_IP_TTL_MS: '60000' });
    for (let i = 0; i < 3; i += 1) {
      const res = await send(app, 'GET', '/api/containers/nope', 'wrong'.repeat(8));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    const limited = await send(app, 'GET', '/api/containers/nope');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(limited.json()).toEqual({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: 'Too many requests; retry in 60 s',
      requestId: limited.headers['x-request-id'],
    });
    expect((await send(app, 'GET', '/health', null)).statusCode).toBe(200);
    const otherIp = await send(app, 'GET', '/api/containers/nope', TOKEN, '198.51.100.7');
    expect(otherIp.statusCode).toBe(404);
  });

  it('keeps one bucket per token across routes', async () => {
    app = await appWith({ THROTTLE_TOKEN_LIMIT: '2' });
    const first = await send(app, 'GET', '/api/containers/nope');
    expect(first.statusCode).toBe(404);
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-token': '2',
      'x-ratelimit-remaining-token': '1',
      'x-ratelimit-reset-token': '60',
    });
    expect((await send(app, 'POST', '/api/sessions')).statusCode).toBe(400);
    expect((await send(app, 'GET', '/api/containers/nope')).statusCode).toBe(429);
    expect((await send(app, 'GET', '/api/containers/nope', OTHER)).statusCode).toBe(404);
  });

  it('counts the claude bucket on the routes that run Claude only', async () => {
    app = await appWith({ THROTTLE_CLAUDE_LIMIT: '1' });
    expect((await send(app, 'POST', '/api/execute')).statusCode).toBe(400);
    expect((await send(app, 'POST', '/api/executions')).statusCode).toBe(429);
    expect((await send(app, 'GET', '/api/containers/nope')).statusCode).toBe(404);
  });

  it('never counts or limits the public routes', async () => {
    app = await appWith({ THROTTLE_IP_LIMIT: '1' });
    for (let i = 0; i < 3; i += 1) {
      const res = await send(app, 'GET', '/health', null);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit-ip']).toBeUndefined();
    }
    expect((await send(app, 'GET', '/api/containers/nope')).statusCode).toBe(404);
    expect((await send(app, 'GET', '/api/containers/nope')).statusCode).toBe(429);
  });
});
