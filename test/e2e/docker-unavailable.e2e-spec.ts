import { SocketRelay } from '../support/socket-relay';
import { startTestApp } from '../support/test-app';

describe('when Docker is unavailable', () => {
  it('answers 503 DOCKER_UNAVAILABLE without leaking Docker messages, and /health stays up', async () => {
    const t = await startTestApp({ DOCKER_SOCKET: '/nonexistent/docker.sock' });
    try {
      expect((await t.request('GET', '/health', { auth: false })).status).toBe(200);
      for (const [method, path, body] of [
        ['GET', '/health/ready', undefined],
        ['GET', '/api/containers/dev', undefined],
        ['POST', '/api/containers/dev/start', undefined],
        ['POST', '/api/containers/dev/stop', undefined],
        ['POST', '/api/execute', { env: 'dev', prompt: 'hello' }],
      ] as const) {
        const res = await t.request(method, path, { body });
        expect(res.status).toBe(503);
        expect(res.body).toEqual({
          statusCode: 503,
          code: 'DOCKER_UNAVAILABLE',
          message: 'The Docker engine is not reachable; try again shortly',
          requestId: res.headers.get('x-request-id'),
        });
        expect(res.text).not.toMatch(/ENOENT|nonexistent|at \w+ \(/);
      }
    } finally {
      await t.close();
    }
  });

  it('recovers by itself when Docker comes back', async () => {
    const relay = new SocketRelay();
    const t = await startTestApp({ DOCKER_SOCKET: relay.path });
    try {
      expect((await t.request('GET', '/health/ready')).status).toBe(503);
      await relay.up();
      const ready = await t.request('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ok', docker: 'ok' });
      expect((await t.request('GET', '/api/containers/dev')).status).toBe(200);
      await relay.down();
      expect((await t.request('GET', '/api/containers/dev')).status).toBe(503);
      await relay.up();
      expect((await t.request('GET', '/api/containers/dev')).status).toBe(200);
    } finally {
      await t.close();
      await relay.down();
    }
  });
});
