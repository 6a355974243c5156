import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DockerOperationError } from '../../src/docker/docker.errors';
import { DockerService } from '../../src/docker/docker.service';
import { ContainerSpec } from '../../src/docker/docker.types';
import { appWithMockedDocker } from '../support/app-with-mocked-docker';
import { runningContainer } from '../support/container-fixtures';
import { strictMock } from '../support/strict-mock';
import { trackApps } from '../support/app-tracker';

const TOKEN = 'c'.repeat(32);

const running = runningContainer;

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
      imageExists: jest.fn().mockResolvedValue(true),
      ensureNetwork: jest.fn().mockResolvedValue(undefined),
      ensureVolume: jest.fn().mockResolvedValue(undefined),
      createContainer: jest.fn().mockResolvedValue(true),
      startContainer: jest.fn().mockResolvedValue(undefined),
    });
    const app = await appWith(docker);
    const res = await post(app, '/api/containers/dev/start');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ env: 'dev', exists: true, running: true });
    expect(docker.ensureNetwork).toHaveBeenCalledWith('claude-network', expect.any(Object));
    expect(docker.ensureVolume.mock.calls.map(([volume]) => volume)).toEqual([
      'claude-credentials',
      'claude-config',
      'claude-sessions-dev',
    ]);
    expect(docker.createContainer).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'claude-agent-dev', user: 'node', workdir: '/workspace' }),
    );
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
      imageExists: jest.fn().mockResolvedValue(true),
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
      imageExists: jest.fn().mockResolvedValue(false),
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

  it('rejects an unknown environment before touching Docker', async () => {
    const app = await appWith(strictMock<DockerService>('DockerService'));
    const res = await post(app, '/api/containers/qa/start');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ENV_NOT_FOUND' });
    await app.close();
  });
});
