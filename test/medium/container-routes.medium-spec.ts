import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunExecutor } from '../../src/agent/run-executor';
import { loadConfig } from '../../src/common/config/load-config';
import { DockerService } from '../../src/docker/docker.service';
import { ContainerInfo, ContainerSpec } from '../../src/docker/docker.types';
import { trackApps } from '../support/app-tracker';
import { appWithOverrides } from '../support/app-with-mocked-docker';
import { runningContainer as running } from '../support/container-fixtures';
import { FakeRunExecutor } from '../support/fake-run-executor';
import { strictMock } from '../support/strict-mock';

const TOKEN = 'c'.repeat(32);
const IMAGE_ID = 'sha256:1111';
const stopped: ContainerInfo = { ...running, running: false, state: 'exited' };
/** A container named like dev's that the service did not make (no managed label). */
const foreign: ContainerInfo = { ...running, labels: { 'com.example.owner': 'someone' } };

const track = trackApps();

async function appWith(docker: jest.Mocked<DockerService>, runner = new FakeRunExecutor()) {
  const config = loadConfig({
    API_TOKEN: TOKEN,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-unit-data-')),
  });
  const app = await appWithOverrides(config, [
    { provide: DockerService, useValue: docker },
    { provide: RunExecutor, useValue: runner },
  ]);
  return track(app);
}

function call(app: NestFastifyApplication, method: 'GET' | 'POST' | 'DELETE', url: string) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` } });
}

/** A Docker whose dev container is `info` until the service creates or removes it. */
function dockerWith(initial: ContainerInfo | null) {
  let info = initial;
  return strictMock<DockerService>('DockerService', {
    inspectContainer: jest.fn((_name: string) => Promise.resolve(info)),
    statPath: jest.fn().mockResolvedValue(null),
    imageId: jest.fn().mockResolvedValue(IMAGE_ID),
    ensureNetwork: jest.fn().mockResolvedValue(undefined),
    ensureVolume: jest.fn().mockResolvedValue(undefined),
    createContainer: jest.fn((_spec: ContainerSpec) => {
      info = stopped;
      return Promise.resolve(true);
    }),
    startContainer: jest.fn((_name: string) => {
      info = running;
      return Promise.resolve();
    }),
    stopContainer: jest.fn((_name: string, _graceSeconds: number) => {
      if (info) info = { ...info, running: false, state: 'exited' };
      return Promise.resolve();
    }),
    removeContainer: jest.fn((_name: string) => {
      info = null;
      return Promise.resolve();
    }),
    removeVolume: jest.fn().mockResolvedValue(undefined),
  });
}

describe('POST and DELETE /api/containers/:env', () => {
  it('creates and starts a missing container (201), then refuses a second create (409)', async () => {
    const docker = dockerWith(null);
    const app = await appWith(docker);
    const created = await call(app, 'POST', '/api/containers/dev');
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ exists: true, running: true, managed: true });
    expect(docker.createContainer).toHaveBeenCalledTimes(1);
    const again = await call(app, 'POST', '/api/containers/dev');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: 'CONTAINER_EXISTS',
      message: 'The container claude-agent-dev already exists: start it, or remove it first',
    });
    expect(docker.createContainer).toHaveBeenCalledTimes(1);
  });

  it('stops and removes the container but keeps its volumes; 404 when there is none', async () => {
    const docker = dockerWith(running);
    const app = await appWith(docker);
    const removed = await call(app, 'DELETE', '/api/containers/dev');
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({ exists: false, running: false, state: 'missing' });
    expect(docker.stopContainer).toHaveBeenCalledWith('claude-agent-dev', expect.any(Number));
    expect(docker.removeContainer).toHaveBeenCalledWith('claude-agent-dev');
    expect(docker.removeVolume).not.toHaveBeenCalled();
    const again = await call(app, 'DELETE', '/api/containers/dev');
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });
});

describe('a container named like ours that the service did not make', () => {
  it('is reported as not managed by the status read', async () => {
    const app = await appWith(dockerWith(foreign));
    const status = await call(app, 'GET', '/api/containers/dev');
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ exists: true, managed: false });
  });

  it.each([
    ['POST', '/api/containers/dev/start'],
    ['POST', '/api/containers/dev/stop'],
    ['POST', '/api/containers/dev'],
    ['DELETE', '/api/containers/dev'],
    ['GET', '/api/containers/dev/mcp'],
  ] as const)(
    'is neither adopted, re-created, stopped nor removed: %s %s is a 409',
    async (method, url) => {
      // Stopped and made from other settings: a start would have re-created it before.
      const docker = dockerWith({ ...foreign, running: false, state: 'exited' });
      const app = await appWith(docker);
      const res = await call(app, method, url);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        code: 'CONTAINER_NOT_MANAGED',
        message:
          'The container claude-agent-dev was not created by this service (it lacks the label com.claudecode-api.managed=true), which will not adopt it: remove or rename it',
      });
      for (const change of [
        'createContainer',
        'startContainer',
        'stopContainer',
        'removeContainer',
      ] as const) {
        expect(docker[change]).not.toHaveBeenCalled();
      }
    },
  );

  it('takes no run: POST /api/execute is a 409 and no CLI is started in it', async () => {
    const runner = new FakeRunExecutor();
    const app = await appWith(dockerWith(foreign), runner);
    const res = await app.inject({
      method: 'POST',
      url: '/api/execute',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { env: 'dev', prompt: 'hello' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CONTAINER_NOT_MANAGED' });
    expect(runner.runs).toHaveLength(0);
  });
});

describe('GET /api/containers/:env/mcp', () => {
  it("answers the runner's report of the running container, without the CLI's own servers", async () => {
    const runner = new FakeRunExecutor();
    runner.mcpServers = [
      {
        name: 'notes',
        transport: 'stdio',
        status: 'connected',
        tools: [{ name: 'add_note', description: 'Adds a note' }, { name: 'list' }],
      },
      { name: 'remote', transport: 'http', status: 'failed', error: 'HTTP 401', tools: [] },
      { name: 'host', transport: 'sdk', status: 'connected', tools: [] },
    ];
    const app = await appWith(dockerWith(running), runner);
    const res = await call(app, 'GET', '/api/containers/dev/mcp');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      env: 'dev',
      servers: [
        {
          name: 'notes',
          type: 'stdio',
          status: 'connected',
          tools: [{ name: 'add_note', description: 'Adds a note' }, { name: 'list' }],
        },
        { name: 'remote', type: 'http', status: 'failed', error: 'HTTP 401', tools: [] },
      ],
    });
    expect(runner.mcpStatusReads).toEqual(['claude-agent-dev']);
  });

  it('never starts the container: 409 CONTAINER_NOT_RUNNING when it does not run', async () => {
    const runner = new FakeRunExecutor();
    const docker = dockerWith(stopped);
    const app = await appWith(docker, runner);
    const res = await call(app, 'GET', '/api/containers/dev/mcp');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CONTAINER_NOT_RUNNING' });
    expect(docker.startContainer).not.toHaveBeenCalled();
    expect(runner.mcpStatusReads).toEqual([]);
  });
});
