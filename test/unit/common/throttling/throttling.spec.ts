import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DockerService } from '../../../../src/docker/docker.service';
import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../../../../src/common/errors/api-error';
import { ErrorCode } from '../../../../src/common/errors/error-codes';
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

  it("trusts X-Forwarded-For from Traefik's network only (TRUST_PROXY as a CIDR): one bucket per client", async () => {
    // As the README sets it behind Dokploy: the subnet of the network Traefik reaches the API on.
    app = await appWith({ THROTTLE_IP_LIMIT: '1', TRUST_PROXY: '10.0.1.0/24' });
    const through = (traefik: string, client: string) =>
      app!.inject({
        method: 'GET',
        url: '/api/containers/nope',
        remoteAddress: traefik,
        headers: { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': client },
      });
    expect((await through('10.0.1.3', '198.51.100.1')).statusCode).toBe(404);
    expect((await through('10.0.1.3', '198.51.100.1')).statusCode).toBe(429);
    expect((await through('10.0.1.3', '198.51.100.2')).statusCode).toBe(404);
    // A neighbour outside that network (an agent container) forging the header is itself.
    expect((await through('172.20.0.5', '198.51.100.3')).statusCode).toBe(404);
    expect((await through('172.20.0.5', '198.51.100.4')).statusCode).toBe(429);
  });
});

describe('readiness (open, but cached and counted per IP)', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(() => {
    jest.useRealTimers();
    return app?.close();
  });

  const ready = (remoteAddress = '127.0.0.1') =>
    app!.inject({ method: 'GET', url: '/health/ready', remoteAddress });

  it('pings Docker at most once a second, whatever the number of probes, failures included', async () => {
    const ping = jest.fn((_host: string) => Promise.resolve());
    app = await appWithMockedDocker(strictMock<DockerService>('DockerService', { ping }), {
      API_TOKEN: TOKEN,
    });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const answers = await Promise.all([ready(), ready(), ready()]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    expect((await ready()).json()).toEqual({
      status: 'ok',
      docker: 'ok',
      hosts: [{ name: 'local', reachable: true }],
    });
    expect(ping).toHaveBeenCalledTimes(1);

    ping.mockRejectedValue(
      new ApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.DOCKER_UNAVAILABLE, 'down'),
    );
    jest.advanceTimersByTime(999);
    expect((await ready()).statusCode).toBe(200);
    expect(ping).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1);
    expect((await ready()).json()).toMatchObject({ code: 'DOCKER_UNAVAILABLE' });
    expect((await ready()).statusCode).toBe(503);
    expect(ping).toHaveBeenCalledTimes(2);
  });

  it('counts each probe in the client IP bucket (429 past it), and leaves /health unlimited', async () => {
    const ping = jest.fn((_host: string) => Promise.resolve());
    app = await appWithMockedDocker(strictMock<DockerService>('DockerService', { ping }), {
      API_TOKEN: TOKEN,
      THROTTLE_IP_LIMIT: '2',
    });
    expect((await ready()).statusCode).toBe(200);
    expect((await ready()).headers['x-ratelimit-remaining-ip']).toBe('0');
    const limited = await ready();
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect((await ready('198.51.100.9')).statusCode).toBe(200);
    for (let i = 0; i < 3; i += 1) {
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    }
  });
});
