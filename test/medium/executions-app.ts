import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'light-my-request';
import { RunExecutor } from '../../src/agent/run-executor';
import { AppConfig } from '../../src/common/config/app-config';
import { loadConfig } from '../../src/common/config/load-config';
import { ContainersService } from '../../src/containers/containers.service';
import { EnvironmentPipe } from '../../src/containers/environment.pipe';
import { DockerService } from '../../src/docker/docker.service';
import { ExecutionStatus } from '../../src/executions/execution-status';
import { ExecutionEvents } from '../../src/executions/execution-events';
import { ExecutionRecord } from '../../src/executions/executions.repository';
import { ServiceEvents } from '../../src/common/events/service-events';
import { SessionsService } from '../../src/sessions/sessions.service';
import { appWithOverrides, ProviderOverride } from '../support/app-with-mocked-docker';
import { trackApps } from '../support/app-tracker';
import { FakeRunExecutor } from '../support/fake-run-executor';
import { readSse, SseEvent } from '../support/sse-client';
import { strictMock } from '../support/strict-mock';

export const TOKEN = 'm'.repeat(32);

/** The executions feature for real (queue, lifecycle, store, HTTP), around a fake runner. */
export interface ExecutionsApp {
  app: NestFastifyApplication;
  config: AppConfig;
  runner: FakeRunExecutor;
  /** Stubbed: `ensureRunning`, `containerName`, `restart` and `hold` answer for any environment. */
  containers: jest.Mocked<ContainersService>;
  /** An authenticated request through Fastify's inject. */
  request(method: 'GET' | 'POST', url: string, body?: object): Promise<Response>;
  /** POST /api/executions; answers the submitted run's id (fails on anything but 202). */
  submit(body: {
    prompt: string;
    sessionId?: string;
    env?: string;
    approvals?: boolean;
    whenSessionBusy?: 'queue' | 'steer' | 'reject';
    maxBudgetUsd?: number;
    outputSchema?: Record<string, unknown>;
    permissionMode?: string;
  }): Promise<string>;
  /** GET /api/executions/:id, its status. */
  status(id: string): Promise<ExecutionStatus>;
  /** Resolves with the run's final record once it has ended. */
  ended(id: string): Promise<ExecutionRecord>;
  /** The app's base URL on a loopback port (it listens from the first call on). */
  listen(): Promise<string>;
  /**
   * The requestId of the run's next ask, as the service announces it. Call it before the ask:
   * unlike a GET of the run, it cannot miss an ask that a short APPROVAL_TIMEOUT_MS has ended.
   */
  nextAskOf(id: string): Promise<string>;
  /** Reads GET /api/executions/:id/events over a real socket, as a client would. */
  readEvents(
    id: string,
    options?: { lastEventId?: string; onEvent?: (event: SseEvent) => void },
  ): Promise<SseEvent[]>;
}

/**
 * Boots apps for the medium specs: each one with its own store in a temp folder (or `DATA_DIR`
 * when given), closed after each test, whatever its outcome. SHUTDOWN_GRACE_MS is 0 unless set,
 * so a close stops whatever still runs at once. `overrides` replace more providers.
 */
export function executionsApps(): (
  settings?: Record<string, string>,
  overrides?: ProviderOverride[],
) => Promise<ExecutionsApp> {
  const track = trackApps();
  const dataDirs: string[] = [];
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  return async (settings = {}, overrides = []) => {
    let dataDir = settings.DATA_DIR;
    if (!dataDir) {
      dataDir = mkdtempSync(join(tmpdir(), 'cca-medium-'));
      dataDirs.push(dataDir);
    }
    const config = loadConfig({
      API_TOKEN: TOKEN,
      ENVIRONMENTS: 'dev,staging',
      DOCS_ENABLED: 'false',
      SHUTDOWN_GRACE_MS: '0',
      ...settings,
      DATA_DIR: dataDir,
    });
    const runner = new FakeRunExecutor();
    const containers = strictMock<ContainersService>('ContainersService', {
      ensureRunning: jest.fn((env: string) => Promise.resolve(`claude-agent-${env}`)),
      checkEnvironment: jest.fn((env: string) => {
        new EnvironmentPipe(config).transform(env);
      }),
      containerName: jest.fn((env: string) => `claude-agent-${env}`),
      restart: jest.fn((_env: string) => Promise.resolve()),
      hold: jest.fn((_env: string) => () => undefined),
    });
    // Every session is found, without a transcript.
    const sessions = strictMock<SessionsService>('SessionsService', {
      prepareRun: jest.fn((_env: string, sessionId?: string) =>
        Promise.resolve({ sessionId: sessionId ?? 'new-session', resume: false }),
      ),
    });
    const app = track(
      await appWithOverrides(config, [
        { provide: RunExecutor, useValue: runner },
        { provide: ContainersService, useValue: containers },
        { provide: SessionsService, useValue: sessions },
        // Nothing below those two may reach Docker: any call fails the test.
        { provide: DockerService, useValue: strictMock<DockerService>('DockerService') },
        ...overrides,
      ]),
      () => runner.endAll(),
    );

    // Listens on a loopback port the first time a test reads an event stream.
    let listening: Promise<string> | undefined;
    const baseUrl = () => (listening ??= app.listen(0, '127.0.0.1').then(() => app.getUrl()));
    const request = (method: 'GET' | 'POST', url: string, body?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, payload: body });
    return {
      app,
      config,
      runner,
      containers,
      request,
      submit: async (body) => {
        const reply = await request('POST', '/api/executions', { env: 'dev', ...body });
        if (reply.statusCode !== 202) throw new Error(`submit answered ${reply.body}`);
        return reply.json<{ id: string }>().id;
      },
      status: async (id) =>
        (await request('GET', `/api/executions/${id}`)).json<{ status: ExecutionStatus }>().status,
      ended: (id) => app.get(ExecutionEvents).waitForEnd(id),
      listen: baseUrl,
      nextAskOf: (id) =>
        new Promise((resolve) => {
          const stop = app.get(ServiceEvents).on('ask.requested', ({ runId, request }) => {
            if (runId !== id) return;
            stop();
            resolve(request.requestId);
          });
        }),
      readEvents: async (id, { lastEventId, onEvent } = {}) => {
        const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
        const stream = await readSse(`${await baseUrl()}/api/executions/${id}/events`, {
          headers,
          onEvent,
        });
        if (stream.status !== 200 || !stream.closedByServer) {
          throw new Error(`the event stream answered ${stream.status}, or was cut`);
        }
        return stream.events;
      },
    };
  };
}
