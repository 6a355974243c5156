import { statSync } from 'node:fs';
import { DEFAULT_AGENT_IMAGE } from '../../src/common/config/environment-variables';
import { MAX_OUTPUT_SCHEMA_BYTES } from '../../src/executions/dto/output-schema.validator';
import {
  FakeAnthropic,
  startFakeAnthropic,
  structuredOutputPrompt,
} from '../support/fake-anthropic';
import { dockerCli, removeDockerObjects } from '../support/docker-cli';
import { PROXY_IMAGE, requireProxyImage, sendRaw, waitForPing } from '../support/socket-proxy';
import { envParams, startTestApp, TestApp, uniqueSuffix } from '../support/test-app';

function containerExists(name: string): boolean {
  return dockerCli('ps', '-aq', '--filter', `name=^${name}$`).trim() !== '';
}

describe('the API behind the socket proxy (docker/socket-proxy)', () => {
  const suffix = uniqueSuffix();
  // The app's containers and volumes carry this prefix, and the proxy allows only it.
  const prefix = `cca-sp-${suffix}-`;
  const proxyName = `cca-proxy-${suffix}`;
  const foreignName = `cca-foreign-${suffix}`;
  let proxyUrl: string;
  let fake: FakeAnthropic;
  let t: TestApp;

  /** A raw Docker API call through the proxy, as any client on its network could make it. */
  const raw = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${proxyUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    requireProxyImage();
    // As compose configures it, with host networking for the agents (so they reach the fake
    // upstream on loopback), as scripts/compose-smoke.sh does.
    dockerCli(
      'run',
      '-d',
      '--name',
      proxyName,
      // The proxy runs as haproxy; the socket's group lets it in.
      '--group-add',
      String(statSync('/var/run/docker.sock').gid),
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock:ro',
      '-e',
      `CONTAINER_PREFIX=${prefix}`,
      '-e',
      `VOLUME_PREFIX=${prefix}`,
      '-e',
      `AGENT_IMAGE=${DEFAULT_AGENT_IMAGE}`,
      '-e',
      'AGENT_NETWORK=host',
      // Loopback only, on a port the engine picks.
      '-p',
      '127.0.0.1::2375',
      PROXY_IMAGE,
    );
    proxyUrl = `http://${dockerCli('port', proxyName, '2375/tcp').trim().split('\n')[0]}`;
    await waitForPing(proxyUrl);

    fake = await startFakeAnthropic();
    t = await startTestApp({
      DOCKER_HOST: proxyUrl.replace(/^http:/, 'tcp:'),
      CONTAINER_PREFIX: prefix,
      VOLUME_PREFIX: prefix,
      ENVIRONMENTS: 'dev',
      AGENT_NETWORK: 'host',
      AGENT_ENV_ANTHROPIC_BASE_URL: fake.url,
      AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-dummy-key',
    });
    dockerCli('create', '--name', foreignName, DEFAULT_AGENT_IMAGE);
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
    removeDockerObjects(prefix);
    dockerCli('rm', '-f', foreignName, proxyName);
  });

  it('is ready through the proxy', async () => {
    const ready = await t.client.GET('/health/ready');
    expect(ready.response.status).toBe(200);
    expect(ready.data).toEqual({
      status: 'ok',
      docker: 'ok',
      hosts: [{ name: 'local', reachable: true }],
    });
  });

  it('starts an environment, runs a prompt in it, lists and forks its sessions and stops it', async () => {
    const { client } = t;
    const dev = envParams('dev');
    const started = await client.POST('/api/containers/{env}/start', dev);
    expect(started.response.status).toBe(200);
    expect(started.data).toMatchObject({ name: `${prefix}dev`, running: true });

    const run = await client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'through the proxy' },
    });
    expect(run.response.status).toBe(200);
    expect(run.data).toMatchObject({ success: true, output: 'echo: through the proxy' });

    // Transcripts come back through the archive endpoint.
    const sessions = await client.GET('/api/sessions/{env}', dev);
    expect(sessions.response.status).toBe(200);
    expect(sessions.data?.items.map((session) => session.id)).toContain(run.data?.sessionId);
    // A fork reads the transcript through the archive endpoint and writes its copy by an exec.
    const forked = await client.POST('/api/sessions/{env}/{id}/fork', {
      params: { path: { env: 'dev', id: run.data?.sessionId ?? '' } },
    });
    expect(forked.response.status).toBe(201);

    const stopped = await client.POST('/api/containers/{env}/stop', dev);
    expect(stopped.data).toMatchObject({ exists: true, running: false });
    const status = await client.GET('/api/containers/{env}', dev);
    expect(status.data).toMatchObject({ state: 'exited' });
  });

  it('runs a prompt whose outputSchema is as large as allowed, escaped the most, through the proxy', async () => {
    const bare = {
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
    };
    // Quotes double as JSON, and double again inside the exec's body.
    const room = MAX_OUTPUT_SCHEMA_BYTES - JSON.stringify(bare).length - ',"description":""'.length;
    const description = '"'.repeat(Math.floor(room / 2));
    const schema = { ...bare, properties: { answer: { type: 'string', description } } };
    expect(JSON.stringify(schema).length).toBeGreaterThan(MAX_OUTPUT_SCHEMA_BYTES - 2);

    const run = await t.client.POST('/api/execute', {
      body: {
        env: 'dev',
        prompt: structuredOutputPrompt({ answer: 'through the proxy' }),
        outputSchema: schema,
      },
    });
    expect(run.data).toMatchObject({
      success: true,
      structuredOutput: { answer: 'through the proxy' },
    });
  });

  it('refuses a privileged container, also when the key is spelled to slip past a text match', async () => {
    for (const body of [
      { Image: DEFAULT_AGENT_IMAGE, HostConfig: { Privileged: true } },
      { Image: DEFAULT_AGENT_IMAGE, HostConfig: { privileged: true } },
    ]) {
      const res = await raw('POST', `/v1.41/containers/create?name=${prefix}priv`, body);
      expect(res.status).toBe(403);
    }
    const escaped = await fetch(`${proxyUrl}/containers/create?name=${prefix}priv`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"Image":"${DEFAULT_AGENT_IMAGE}","HostConfig":{"Privil\\u0065ged":true}}`,
    });
    expect(escaped.status).toBe(403);
    expect(containerExists(`${prefix}priv`)).toBe(false);
  });

  it('refuses a container that mounts the Docker socket, and one named outside the prefix', async () => {
    const mounting = await raw('POST', `/v1.41/containers/create?name=${prefix}sock`, {
      Image: DEFAULT_AGENT_IMAGE,
      HostConfig: { Binds: ['/var/run/docker.sock:/var/run/docker.sock'] },
    });
    expect(mounting.status).toBe(403);
    const foreign = await raw('POST', `/v1.41/containers/create?name=cca-other-${suffix}`, {
      Image: DEFAULT_AGENT_IMAGE,
    });
    expect(foreign.status).toBe(403);
    expect(containerExists(`${prefix}sock`)).toBe(false);
    expect(containerExists(`cca-other-${suffix}`)).toBe(false);
  });

  it('does not let a request ride behind an exec start into the engine unchecked', async () => {
    const smuggled = `${prefix}smuggled`;
    const body = JSON.stringify({ Image: DEFAULT_AGENT_IMAGE, HostConfig: { Privileged: true } });
    // An unknown exec id: the engine answers 404 instead of upgrading.
    const reply = await sendRaw(
      proxyUrl,
      'POST /v1.41/exec/0123abcd/start HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\n' +
        'Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' +
        `POST /v1.41/containers/create?name=${smuggled} HTTP/1.1\r\nHost: docker\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    expect(reply.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(containerExists(smuggled)).toBe(false);
  });

  it('refuses an image pull', async () => {
    const res = await raw('POST', '/v1.41/images/create?fromImage=debian&tag=bookworm-slim');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: expect.stringContaining('socket proxy') });
  });

  it('refuses to delete, exec in or inspect a foreign container, however the path is written', async () => {
    for (const [method, path] of [
      ['DELETE', `/v1.41/containers/${foreignName}?force=true`],
      ['DELETE', `/containers/${foreignName}?force=true`],
      ['DELETE', `/v1.41/containers/${prefix}x%2F..%2F${foreignName}?force=true`],
      ['POST', `/v1.41/containers/${foreignName}/exec`],
      ['GET', `/v1.41/containers/${foreignName}/json`],
      ['GET', '/v1.41/containers/json?all=true'],
    ]) {
      const res = await raw(method, path, method === 'POST' ? { Cmd: ['id'] } : undefined);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
    expect(containerExists(foreignName)).toBe(true);
  });
});
