import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DockerOperationError } from '../../src/docker/docker.errors';
import { DockerService } from '../../src/docker/docker.service';
import { ContainerInfo, ContainerSpec } from '../../src/docker/docker.types';
import { appWithMockedDocker } from '../support/app-with-mocked-docker';
import { runningContainer } from '../support/container-fixtures';
import { strictMock } from '../support/strict-mock';
import { trackApps } from '../support/app-tracker';

const TOKEN = 'c'.repeat(32);

const running = runningContainer;
const IMAGE_ID = 'sha256:1111';

const track = trackApps();

async function appWith(
  docker: jest.Mocked<DockerService>,
  env: Record<string, string> = {},
): Promise<NestFastifyApplication> {
  return track(await appWithMockedDocker(docker, { API_TOKEN: TOKEN, ...env }));
}

function post(app: NestFastifyApplication, url: string) {
  return app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${TOKEN}` } });
}

describe('ContainersController (through the real pipe, guards and filter)', () => {
  it('creates a missing container with its network and volumes, then starts it', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      inspectContainer: jest.fn().mockResolvedValueOnce(null).mockResolvedValue(running),
      statPath: jest.fn().mockResolvedValue(null),
      imageId: jest.fn().mockResolvedValue(IMAGE_ID),
      ensureNetwork: jest.fn().mockResolvedValue(undefined),
      ensureVolume: jest.fn().mockResolvedValue(undefined),
      createContainer: jest.fn().mockResolvedValue(true),
      startContainer: jest.fn().mockResolvedValue(undefined),
    });
    const app = await appWith(docker);
    const res = await post(app, '/api/containers/dev/start');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ env: 'dev', exists: true, running: true });
    expect(docker.ensureNetwork).toHaveBeenCalledWith(
      'local',
      'claude-network',
      expect.any(Object),
    );
    expect(docker.ensureVolume.mock.calls.map(([host, volume]) => `${host}:${volume}`)).toEqual([
      'local:claude-credentials',
      'local:claude-config-dev',
      'local:claude-sessions-dev',
      'local:claude-workspace-dev',
    ]);
    expect(docker.createContainer).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'claude-agent-dev', user: 'node', workdir: '/workspace' }),
    );
    const spec = docker.createContainer.mock.calls[0][0];
    expect(spec.labels['com.claudecode-api.settings-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(docker.startContainer).toHaveBeenCalledWith('claude-agent-dev');
    await app.close();
  });

  it('does nothing but report when the container already runs', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      inspectContainer: jest.fn().mockResolvedValue(running),
      statPath: jest.fn().mockResolvedValue(null),
    });
    const app = await appWith(docker);
    const res = await post(app, '/api/containers/dev/start');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ auth: { method: 'none' } });
    await app.close();
  });

  it('serializes concurrent starts of one environment so it is created once', async () => {
    let exists = false;
    const docker = strictMock<DockerService>('DockerService', {
      inspectContainer: jest.fn((_name: string) => Promise.resolve(exists ? running : null)),
      statPath: jest.fn().mockResolvedValue(null),
      imageId: jest.fn().mockResolvedValue(IMAGE_ID),
      ensureNetwork: jest.fn().mockResolvedValue(undefined),
      ensureVolume: jest.fn().mockResolvedValue(undefined),
      createContainer: jest.fn((_spec: ContainerSpec) => {
        exists = true;
        return Promise.resolve(true);
      }),
      startContainer: jest.fn().mockResolvedValue(undefined),
    });
    const app = await appWith(docker);
    const results = await Promise.all([1, 2, 3].map(() => post(app, '/api/containers/dev/start')));
    expect(results.map((res) => res.statusCode)).toEqual([200, 200, 200]);
    expect(docker.createContainer).toHaveBeenCalledTimes(1);
    await app.close();
  });

  it('answers 503 AGENT_IMAGE_MISSING when the agent image is not built', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      inspectContainer: jest.fn().mockResolvedValue(null),
      imageId: jest.fn().mockResolvedValue(null),
    });
    const app = await appWith(docker);
    const res = await post(app, '/api/containers/dev/start');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'AGENT_IMAGE_MISSING' });
    await app.close();
  });

  it('answers 503 CONTAINER_UNAVAILABLE when Docker cannot start the container', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      inspectContainer: jest
        .fn()
        .mockResolvedValue({ ...running, running: false, state: 'exited' }),
      // Without the image the container cannot be re-created: it is started as it is.
      imageId: jest.fn().mockResolvedValue(null),
      startContainer: jest.fn().mockRejectedValue(new DockerOperationError('start the container')),
    });
    const app = await appWith(docker);
    const res = await post(app, '/api/containers/dev/start');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'CONTAINER_UNAVAILABLE' });
    expect(res.body).not.toContain('stack');
    await app.close();
  });

  it('turns an unexpected error into a generic 500 without internals', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      inspectContainer: jest
        .fn()
        .mockRejectedValue(new Error('socket /var/run/docker.sock exploded')),
    });
    const app = await appWith(docker);
    const res = await app.inject({
      method: 'GET',
      url: '/api/containers/dev',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      statusCode: 500,
      code: 'INTERNAL_ERROR',
      message: 'Internal server error',
      requestId: res.headers['x-request-id'],
    });
    await app.close();
  });

  it.each([
    [
      {
        AGENT_ENV_ANTHROPIC_API_KEY: 'sk-secret',
        AGENT_ENV_CLAUDE_CODE_OAUTH_TOKEN: 'oauth-secret',
      },
      'api_key',
    ],
    [{ AGENT_ENV_CLAUDE_CODE_OAUTH_TOKEN: 'oauth-secret' }, 'oauth_token'],
    [{}, 'credentials_file'],
  ])(
    'reports how the agent authenticates without echoing a secret (%#)',
    async (agentEnv, method) => {
      const docker = strictMock<DockerService>('DockerService', {
        inspectContainer: jest.fn().mockResolvedValue(running),
        statPath: jest.fn().mockResolvedValue({
          name: '.credentials.json',
          size: 400,
          mode: 0o600,
          mtime: new Date(),
          isDirectory: false,
        }),
      });
      const app = await appWith(docker, agentEnv);
      const res = await app.inject({
        method: 'GET',
        url: '/api/containers/dev',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.json()).toMatchObject({ auth: { method } });
      expect(res.body).not.toMatch(/secret/);
      await app.close();
    },
  );

  describe('drift', () => {
    /** The hash label a container made now from these settings carries. */
    async function currentHash(
      env: Record<string, string> = {},
      imageId = IMAGE_ID,
    ): Promise<string> {
      let made: ContainerSpec | undefined;
      const docker = strictMock<DockerService>('DockerService', {
        inspectContainer: jest.fn().mockResolvedValue(null),
        statPath: jest.fn().mockResolvedValue(null),
        imageId: jest.fn().mockResolvedValue(imageId),
        ensureNetwork: jest.fn().mockResolvedValue(undefined),
        ensureVolume: jest.fn().mockResolvedValue(undefined),
        createContainer: jest.fn((spec: ContainerSpec) => {
          made = spec;
          return Promise.resolve(true);
        }),
        startContainer: jest.fn().mockResolvedValue(undefined),
      });
      const app = await appWith(docker, env);
      await post(app, '/api/containers/dev/start');
      await app.close();
      return made?.labels['com.claudecode-api.settings-hash'] ?? '';
    }

    function stoppedWith(hash: string): ContainerInfo {
      const stopped: ContainerInfo = { ...running, running: false, state: 'exited' };
      return {
        ...stopped,
        labels: { ...running.labels, 'com.claudecode-api.settings-hash': hash },
      };
    }

    it('hashes the limits and the image: each change gives another hash', async () => {
      const base = await currentHash();
      expect(base).toMatch(/^[0-9a-f]{64}$/);
      expect(await currentHash()).toBe(base);
      expect(await currentHash({ AGENT_LIMITS_DEV: 'pids=300' })).not.toBe(base);
      expect(await currentHash({ AGENT_LIMITS: 'memory=1g' })).not.toBe(base);
      // The same tag rebuilt is another image.
      expect(await currentHash({}, 'sha256:2222')).not.toBe(base);
      // Another environment's override leaves dev's container alone.
      expect(await currentHash({ AGENT_LIMITS_STAGING: 'pids=300' })).toBe(base);
    });

    it('re-creates a stopped container made from other settings, then starts it', async () => {
      const current = await currentHash({ AGENT_LIMITS_DEV: 'pids=300' });
      let info = stoppedWith('0'.repeat(64));
      const docker = strictMock<DockerService>('DockerService', {
        inspectContainer: jest.fn((_name: string) => Promise.resolve(info)),
        statPath: jest.fn().mockResolvedValue(null),
        imageId: jest.fn().mockResolvedValue(IMAGE_ID),
        removeContainer: jest.fn().mockResolvedValue(undefined),
        ensureNetwork: jest.fn().mockResolvedValue(undefined),
        ensureVolume: jest.fn().mockResolvedValue(undefined),
        createContainer: jest.fn().mockResolvedValue(true),
        startContainer: jest.fn((_name: string) => {
          info = {
            ...running,
            labels: { ...running.labels, 'com.claudecode-api.settings-hash': current },
          };
          return Promise.resolve();
        }),
      });
      const app = await appWith(docker, { AGENT_LIMITS_DEV: 'pids=300' });
      const before = await app.inject({
        method: 'GET',
        url: '/api/containers/dev',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(before.json()).toMatchObject({ matchesSettings: false, limits: { pids: 300 } });
      const res = await post(app, '/api/containers/dev/start');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ running: true, matchesSettings: true });
      expect(docker.removeContainer).toHaveBeenCalledWith('claude-agent-dev');
      expect(docker.createContainer).toHaveBeenCalledTimes(1);
      expect(docker.removeContainer.mock.invocationCallOrder[0]).toBeLessThan(
        docker.createContainer.mock.invocationCallOrder[0],
      );
    });

    it('reads the image once for all status reads, even when it is missing', async () => {
      const docker = strictMock<DockerService>('DockerService', {
        inspectContainer: jest.fn().mockResolvedValue(stoppedWith('0'.repeat(64))),
        statPath: jest.fn().mockResolvedValue(null),
        imageId: jest.fn().mockResolvedValue(null),
      });
      const app = await appWith(docker);
      for (let read = 0; read < 3; read += 1) {
        const res = await app.inject({
          method: 'GET',
          url: '/api/containers/dev',
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(res.json()).toMatchObject({ exists: true, matchesSettings: null });
      }
      expect(docker.imageId).toHaveBeenCalledTimes(1);
    });

    it('starts a stopped container made from the current settings as it is', async () => {
      const current = await currentHash();
      const docker = strictMock<DockerService>('DockerService', {
        inspectContainer: jest.fn().mockResolvedValue(stoppedWith(current)),
        statPath: jest.fn().mockResolvedValue(null),
        imageId: jest.fn().mockResolvedValue(IMAGE_ID),
        startContainer: jest.fn().mockResolvedValue(undefined),
      });
      const app = await appWith(docker);
      expect((await post(app, '/api/containers/dev/start')).json()).toMatchObject({
        matchesSettings: true,
      });
      expect(docker.startContainer).toHaveBeenCalledWith('claude-agent-dev');
    });
  });

  it('rejects an unknown environment before touching Docker', async () => {
    const app = await appWith(strictMock<DockerService>('DockerService'));
    const res = await post(app, '/api/containers/qa/start');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ENV_NOT_FOUND' });
    await app.close();
  });
});
