import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunExecutor } from '../../src/agent/run-executor';
import { loadConfig } from '../../src/common/config/load-config';
import { ContainerIdleStopped, ServiceEvents } from '../../src/common/events/service-events';
import { ContainersService } from '../../src/containers/containers.service';
import { DockerService } from '../../src/docker/docker.service';
import { ContainerInfo, DockerEvent } from '../../src/docker/docker.types';
import { ExecutionEvents } from '../../src/executions/execution-events';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { appWithOverrides } from '../support/app-with-mocked-docker';
import { trackApps } from '../support/app-tracker';
import { runningContainer } from '../support/container-fixtures';
import { FakeRunExecutor } from '../support/fake-run-executor';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { strictMock } from '../support/strict-mock';
import { testRedisSettings } from '../support/test-redis';
import { waitUntil } from '../support/wait';
import { executionsApps } from './executions-app';

const TOKEN = 'i'.repeat(32);
const NAME = 'claude-agent-dev';
const IDLE_MS = 8000;

/**
 * A Docker with one container, `claude-agent-dev`, that starts and stops as told and reports it
 * on its event stream. A stop can be held open (`holdStops`) to race something against it.
 */
function fakeDocker() {
  let current: ContainerInfo = { ...runningContainer, name: NAME };
  let emit: (event: DockerEvent) => void = () => undefined;
  let stopGate: Promise<void> | null = null;
  let openGate: () => void = () => undefined;
  const set = (running: boolean, action: string) => {
    current = running
      ? { ...current, running, state: 'running', startedAt: new Date().toISOString() }
      : { ...current, running, state: 'exited' };
    emit({ type: 'container', action, id: current.id, attributes: { name: NAME } });
  };
  const docker = strictMock<DockerService>('DockerService', {
    inspectContainer: jest.fn((name: string) => Promise.resolve(name === NAME ? current : null)),
    watchEvents: jest.fn(
      (
        _host: string,
        _filters: Record<string, string[]>,
        onEvent: (event: DockerEvent) => void,
      ) => {
        emit = onEvent;
        return Promise.resolve({ stop: () => undefined, ended: new Promise<void>(() => {}) });
      },
    ),
    statPath: jest.fn().mockResolvedValue(null),
    // No image: a start starts the container as it is (no re-creation on drift).
    imageId: jest.fn().mockResolvedValue(null),
    startContainer: jest.fn((_name: string) => {
      set(true, 'start');
      return Promise.resolve();
    }),
    stopContainer: jest.fn(async (_name: string, _graceSeconds: number) => {
      if (stopGate) await stopGate;
      set(false, 'die');
    }),
  });
  return {
    docker,
    get current(): ContainerInfo {
      return current;
    },
    /** Stops wait until `releaseStops`. */
    holdStops: () => {
      stopGate = new Promise((resolve) => (openGate = resolve));
    },
    releaseStops: () => {
      stopGate = null;
      openGate();
    },
  };
}

interface StatusBody {
  running: boolean;
  idleSince: string | null;
  idleStopAt: string | null;
}

describe('idle stop: a container nothing uses is stopped, and started again by the next run', () => {
  const track = trackApps();
  const dataDirs: string[] = [];
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  async function boot(
    idleStopMs: number,
    {
      holdStops = false,
      settings = {},
    }: { holdStops?: boolean; settings?: Record<string, string> } = {},
  ) {
    const dataDir = mkdtempSync(join(tmpdir(), 'cca-medium-idle-'));
    dataDirs.push(dataDir);
    const config = loadConfig({
      API_TOKEN: TOKEN,
      ENVIRONMENTS: 'dev',
      DOCS_ENABLED: 'false',
      SHUTDOWN_GRACE_MS: '0',
      IDLE_STOP_MS: String(idleStopMs),
      DATA_DIR: dataDir,
      ...settings,
    });
    const fake = fakeDocker();
    if (holdStops) fake.holdStops();
    const runner = new FakeRunExecutor();
    const app: NestFastifyApplication = track(
      await appWithOverrides(config, [
        { provide: DockerService, useValue: fake.docker },
        { provide: RunExecutor, useValue: runner },
      ]),
      () => {
        fake.releaseStops();
        runner.endAll();
      },
    );
    await app.init();
    const stopped: ContainerIdleStopped[] = [];
    app.get(ServiceEvents).on('container.idle_stopped', (event) => stopped.push(event));
    const request = (method: 'GET' | 'POST', url: string, body?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, payload: body });
    const status = async () =>
      (await request('GET', '/api/containers/dev')).json<StatusBody & Record<string, unknown>>();
    const submit = async (prompt: string) => {
      const reply = await request('POST', '/api/executions', { env: 'dev', prompt });
      if (reply.statusCode !== 202) throw new Error(`submit answered ${reply.body}`);
      return reply.json<{ id: string }>().id;
    };
    return {
      app,
      fake,
      runner,
      stopped,
      status,
      submit,
      containers: app.get(ContainersService),
      ended: (id: string) => app.get(ExecutionEvents).waitForEnd(id),
    };
  }

  it('stops a container nothing uses once IDLE_STOP_MS has passed, says when beforehand, and tells it once', async () => {
    // The idle clock starts during the boot, and the status checks below must come before the
    // stop: a loaded machine may take seconds for both.
    const t = await boot(IDLE_MS);
    await waitUntil(async () => (await t.status()).idleSince !== null, 'the state read');
    const idle = await t.status();
    expect(idle).toMatchObject({ running: true, idleSince: expect.any(String) });
    expect(Date.parse(idle.idleStopAt ?? '')).toBe(Date.parse(idle.idleSince ?? '') + IDLE_MS);

    await waitUntil(() => Promise.resolve(t.stopped.length > 0), 'the idle stop');
    expect(t.fake.docker.stopContainer).toHaveBeenCalledWith(NAME, expect.any(Number));
    expect(t.stopped).toEqual([
      { env: 'dev', idleSince: idle.idleSince, stoppedAt: expect.any(String) },
    ]);
    expect(Date.parse(t.stopped[0].stoppedAt)).toBeGreaterThanOrEqual(
      Date.parse(idle.idleStopAt ?? ''),
    );
    await waitUntil(async () => !(await t.status()).running, 'the stop seen');
    expect(await t.status()).toMatchObject({ running: false, idleSince: null, idleStopAt: null });

    // Told once: looking again finds nothing to stop.
    expect(await t.containers.stopIfIdle('dev')).toBeNull();
    expect(t.stopped).toHaveLength(1);
    expect(t.fake.docker.stopContainer).toHaveBeenCalledTimes(1);
  });

  it('starts the container again for the next run, and stops it once the run is over', async () => {
    const t = await boot(1);
    await waitUntil(() => Promise.resolve(t.stopped.length === 1), 'the first idle stop');

    const id = await t.submit('wake up');
    const run = await t.runner.runOf(id);
    expect(t.fake.current.running).toBe(true);
    run.succeed('awake');
    const record = await t.ended(id);
    expect(record.status).toBe('succeeded');
    await waitUntil(() => Promise.resolve(t.stopped.length === 2), 'the idle stop after the run');
    // The idle clock starts again when the run lets go, not before.
    expect(Date.parse(t.stopped[1].idleSince)).toBeGreaterThanOrEqual(
      Date.parse(record.finishedAt ?? ''),
    );
  });

  it('never stops a container a run holds, however long it has been idle before', async () => {
    const t = await boot(1);
    await waitUntil(() => Promise.resolve(t.stopped.length === 1), 'the first idle stop');
    const id = await t.submit('a long task');
    const run = await t.runner.runOf(id);
    const stops = t.fake.docker.stopContainer.mock.calls.length;

    expect(await t.status()).toMatchObject({ running: true, idleSince: null, idleStopAt: null });
    expect(await t.containers.stopIfIdle('dev')).toBeNull();
    expect(t.fake.docker.stopContainer).toHaveBeenCalledTimes(stops);
    expect(t.fake.current.running).toBe(true);
    run.succeed('done');
    await t.ended(id);
  });

  it('has a run that comes while the idle stop is stopping the container wait, then start it again', async () => {
    const t = await boot(1, { holdStops: true });
    await waitUntil(
      () => Promise.resolve(t.fake.docker.stopContainer.mock.calls.length === 1),
      'the idle stop to begin',
    );
    const ensureRunning = jest.spyOn(t.containers, 'ensureRunning');
    const submitted = t.submit('just in time');
    await waitUntil(() => Promise.resolve(ensureRunning.mock.calls.length > 0), 'the admission');
    // Everything the request can do without Docker's answer is done: it waits for the stop.
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(t.runner.runs).toHaveLength(0);

    t.fake.releaseStops();
    const run = await t.runner.runOf(await submitted);
    expect(t.fake.current.running).toBe(true);
    const [stopOrder] = t.fake.docker.stopContainer.mock.invocationCallOrder;
    const [startOrder] = t.fake.docker.startContainer.mock.invocationCallOrder;
    expect(startOrder).toBeGreaterThan(stopOrder);
    run.succeed('done');
  });

  describe('with replicas on one store and one Redis', () => {
    const bootReplica = executionsApps();
    const databases: TestDatabase[] = [];
    afterAll(() => Promise.all(databases.map((database) => database.drop())));

    it("never stops a container while another replica's run uses it, and stops it once that run is over", async () => {
      const database = await createTestDatabase();
      databases.push(database);
      const shared = { ...testRedisSettings(), DATABASE_URL: database.url };
      const other = await bootReplica({ ...shared, REPLICA_ID: 'b' });
      const id = await other.submit({ prompt: 'a long task' });
      const run = await other.runner.runOf(id);

      const t = await boot(100, { settings: { ...shared, REPLICA_ID: 'a' } });
      const asked = jest.spyOn(t.app.get(ExecutionsRepository), 'hasRunInFlight');
      const stops = t.fake.docker.stopContainer.mock.calls;
      await waitUntil(
        () => Promise.resolve(asked.mock.calls.length >= 3 || stops.length > 0),
        'three idle checks',
      );
      expect(t.fake.docker.stopContainer).not.toHaveBeenCalled();
      expect(t.fake.current.running).toBe(true);

      run.succeed('done');
      await other.ended(id);
      await waitUntil(() => Promise.resolve(t.stopped.length === 1), 'the idle stop');
      expect(t.fake.docker.stopContainer).toHaveBeenCalledTimes(1);
    });
  });

  it('shows when the container went idle but never stops it when IDLE_STOP_MS is 0', async () => {
    const t = await boot(0);
    await waitUntil(async () => (await t.status()).idleSince !== null, 'the state read');
    expect(await t.status()).toMatchObject({ running: true, idleStopAt: null });
    expect(await t.containers.stopIfIdle('dev')).toBeNull();
    expect(t.fake.docker.stopContainer).not.toHaveBeenCalled();
  });
});

describe('what holds an environment’s container', () => {
  const boot = executionsApps();

  it('a run, and an event stream for as long as it is open; each hold is let go once', async () => {
    const { runner, submit, readEvents, containers } = await boot();
    const letGos: jest.Mock[] = [];
    containers.hold.mockImplementation(() => {
      const letGo = jest.fn();
      letGos.push(letGo);
      return letGo;
    });
    const held = () => letGos.filter((letGo) => letGo.mock.calls.length === 0).length;
    const id = await submit({ prompt: 'watch me' });
    const run = await runner.runOf(id);
    // The admission's hold has passed to the run's.
    expect(held()).toBe(1);

    const events = readEvents(id);
    await waitUntil(() => Promise.resolve(letGos.length === 3), 'the stream to open');
    expect(containers.hold).toHaveBeenLastCalledWith('dev');
    expect(held()).toBe(2);
    run.succeed('seen');
    await events;
    expect(letGos.map((letGo) => letGo.mock.calls.length)).toEqual([1, 1, 1]);
  });
});
