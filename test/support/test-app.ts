import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, CreateAppOptions } from '../../src/app.factory';
import { AppConfig } from '../../src/common/config/app-config';
import { loadConfig } from '../../src/common/config/load-config';
import { DockerService } from '../../src/docker/docker.service';
import type { ClaudeCodeClient } from '../../client/src';
import { appWithOverrides, ProviderOverride } from './app-with-mocked-docker';
import { dockerCli, removeDockerObjects } from './docker-cli';
import { FakeAnthropic, startFakeAnthropic } from './fake-anthropic';
import { createSpecCheckedClient, specCheckedFetch } from './spec-checked-client';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  token: string;
  /** The generated client with the bearer token; every answer is checked against openapi.json. */
  client: ClaudeCodeClient;
  /**
   * A raw request, for what the typed client cannot send (broken JSON, odd headers, encoded
   * paths): with the bearer token unless `auth: false` or other headers say otherwise, and its
   * answer checked against openapi.json unless `offSpec`.
   */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  docker: DockerService;
  close(): Promise<void>;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  auth?: boolean;
  /**
   * Skips the spec check, for a request that purposely goes where openapi.json says nothing (an
   * unknown route, /docs).
   */
  offSpec?: boolean;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** An environment's path parameters: `client.GET('/api/containers/{env}', envParams('dev'))`. */
export function envParams(env: string): { params: { path: { env: string } } } {
  return { params: { path: { env } } };
}

/** Per-call client options that drop the bearer token, for the open routes and the 401s. */
export const withoutToken = { headers: { authorization: null } };

/** A random name part, so parallel or leftover runs never share containers or volumes. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export interface TestAppOptions extends CreateAppOptions {
  /** Providers replaced, for what a test must control rather than wait for (the clock). */
  overrides?: ProviderOverride[];
}

/**
 * Boots the real application in-process on a random loopback port, with its own container and
 * volume prefixes. `env` overrides the settings as environment variables would.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const token = `test-token-${randomBytes(24).toString('hex')}`;
  const suffix = uniqueSuffix();
  const config = loadConfig({
    API_TOKEN: token,
    CONTAINER_PREFIX: `cca-e2e-${suffix}-`,
    VOLUME_PREFIX: `cca-e2e-${suffix}-`,
    AGENT_NETWORK: 'host',
    LOG_LEVEL: 'error',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-e2e-data-')),
    ...env,
  });
  const app = options.overrides
    ? await appWithOverrides(config, options.overrides, options.logDestination)
    : await createApp(config, options);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const baseUrl = `http://127.0.0.1:${address.port}`;

  const request = async (
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<TestResponse> => {
    const headers: Record<string, string> = {};
    if (options.auth !== false) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, options.headers);
    const send = options.offSpec ? fetch : specCheckedFetch;
    const response = await send(`${baseUrl}${path}`, {
      method,
      headers,
      body:
        options.body === undefined
          ? undefined
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, headers: response.headers, body, text };
  };

  return {
    app,
    config,
    baseUrl,
    token,
    client: createSpecCheckedClient({ baseUrl, token }),
    request,
    docker: app.get(DockerService),
    close: () => app.close(),
  };
}

/**
 * A test app whose agents reach the fake upstream (loopback, host network), with the given
 * settings; its prefix is recorded in `prefixes` for cleanup.
 */
export function startAppWithFakeUpstream(
  fakeUrl: string,
  prefixes: string[],
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  return startTestApp(
    {
      ENVIRONMENTS: 'dev,staging',
      AGENT_ENV_ANTHROPIC_BASE_URL: fakeUrl,
      AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-dummy-key',
      ...env,
    },
    options,
  ).then((started) => {
    prefixes.push(started.config.agent.containerPrefix);
    return started;
  });
}

/**
 * A suite's app and fake upstream: both started before its tests (with the containers of
 * `startEnvs`), the upstream's script cleared after each test, and the app, the upstream and
 * every Docker object the app made removed after all of them.
 */
export function appWithFakeUpstreamSuite(
  settings: Record<string, string>,
  startEnvs: readonly string[] = ['dev'],
  options: TestAppOptions = {},
): { readonly fake: FakeAnthropic; readonly t: TestApp } {
  const prefixes: string[] = [];
  let fake: FakeAnthropic | undefined;
  let t: TestApp | undefined;
  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startAppWithFakeUpstream(fake.url, prefixes, settings, options);
    for (const env of startEnvs) {
      await t.client.POST('/api/containers/{env}/start', envParams(env));
    }
  });
  afterEach(() => fake?.clear());
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the suite has not started yet');
    return value;
  };
  return {
    get fake() {
      return started(fake);
    },
    get t() {
      return started(t);
    },
  };
}

/** A file of an environment's agent workspace, and whether it exists in its container. */
export function workspaceFile(t: TestApp, env: string, name: string) {
  const path = `${t.config.agent.workdir}/${name}`;
  const container = `${t.config.agent.containerPrefix}${env}`;
  return {
    name,
    exists: () =>
      dockerCli('exec', container, 'sh', '-c', `test -e ${path} && echo yes || echo no`).trim() ===
      'yes',
  };
}
