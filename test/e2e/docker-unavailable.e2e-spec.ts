import { SocketRelay } from '../support/socket-relay';
import { envParams, startTestApp, withoutToken } from '../support/test-app';
import { waitUntil } from '../support/wait';

const dev = envParams('dev');

describe('when Docker is unavailable', () => {
  it('answers 503 DOCKER_UNAVAILABLE without leaking Docker messages, and /health stays up', async () => {
    const t = await startTestApp({ DOCKER_SOCKET: '/nonexistent/docker.sock' });
    try {
      expect((await t.client.GET('/health', withoutToken)).response.status).toBe(200);
      for (const { response, error } of [
        await t.client.GET('/health/ready'),
        await t.client.GET('/api/containers/{env}', dev),
        await t.client.POST('/api/containers/{env}/start', dev),
        await t.client.POST('/api/containers/{env}/stop', dev),
        await t.client.POST('/api/execute', { body: { env: 'dev', prompt: 'hello' } }),
      ]) {
        expect(response.status).toBe(503);
        expect(error).toEqual({
          statusCode: 503,
          code: 'DOCKER_UNAVAILABLE',
          message: 'The Docker engine is not reachable; try again shortly',
          requestId: response.headers.get('x-request-id'),
        });
        expect(JSON.stringify(error)).not.toMatch(/ENOENT|nonexistent|at \w+ \(/);
      }
    } finally {
      await t.close();
    }
  });

  it('recovers by itself when Docker comes back', async () => {
    const relay = new SocketRelay();
    const t = await startTestApp({ DOCKER_SOCKET: relay.path });
    try {
      const status = async () => (await t.client.GET('/api/containers/{env}', dev)).response.status;
      expect((await t.client.GET('/health/ready')).response.status).toBe(503);
      await relay.up();
      expect(await status()).toBe(200);
      await relay.down();
      expect(await status()).toBe(503);
      await relay.up();
      expect(await status()).toBe(200);
      // Readiness too: its answer is reused for a second, so the 503 above may be served again.
      const readiness = () => t.client.GET('/health/ready');
      await waitUntil(async () => (await readiness()).response.ok, 'readiness to see Docker');
      expect((await readiness()).data).toEqual({
        status: 'ok',
        docker: 'ok',
        hosts: [{ name: 'local', reachable: true }],
      });
    } finally {
      await t.close();
      await relay.down();
    }
  });
});
