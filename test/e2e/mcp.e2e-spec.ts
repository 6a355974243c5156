import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PooledRunExecutor } from '../../src/agent/pooled-run-executor';
import { RunExecutor } from '../../src/agent/run-executor';
import { claudeProcesses, dockerCli, removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import {
  fakeUpstreamProcessEnv,
  ServiceProcess,
  startServiceProcess,
} from '../support/service-process';
import { createSpecCheckedClient } from '../support/spec-checked-client';
import { readSse } from '../support/sse-client';
import { envParams, startAppWithFakeUpstream, TestApp, uniqueSuffix } from '../support/test-app';
import { waitUntil } from '../support/wait';

/** The probe server, copied into the container's workspace by the tests (never into an image). */
const PROBE_SOURCE = join(__dirname, '..', 'support', 'mcp-probe-server.mjs');
const PROBE_PATH = '/workspace/mcp-probe-server.mjs';
const TOOL = 'mcp__probe__write_marker';

/** What the probe answers to prove it got a secret, without the secret. */
const fingerprint = (value: string) =>
  createHash('sha256').update(value).digest('hex').slice(0, 12);

/** Secrets of one suite's MCP config: an API key in args, a token in env. */
function secrets() {
  return {
    apiKey: `mcp-key-${randomBytes(12).toString('hex')}`,
    token: `mcp-token-${randomBytes(12).toString('hex')}`,
  };
}

/**
 * An MCP config file: `probe` (the probe server, its key in args and its token in env) and
 * `broken`, whose script does not exist and whose path holds the key, so its failure would
 * quote it.
 */
function mcpConfigFile(secret: { apiKey: string; token: string }): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cca-e2e-mcp-')), 'mcp.json');
  const config = {
    mcpServers: {
      probe: {
        command: 'node',
        args: [PROBE_PATH, '--api-key', secret.apiKey],
        env: { PROBE_TOKEN: secret.token },
      },
      broken: { command: 'node', args: [`/workspace/missing-${secret.apiKey}.mjs`] },
    },
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Puts the probe server into the container's workspace volume (readable by the agent user). */
function copyProbeInto(container: string): void {
  dockerCli('cp', PROBE_SOURCE, `${container}:${PROBE_PATH}`);
  dockerCli('exec', '-u', '0', container, 'chmod', '644', PROBE_PATH);
}

/**
 * The real CLI in the real container runs an MCP server of the project: the environment's
 * MCP_CONFIG_DEV starts it inside the container, the fake model calls its tool, the tool writes a
 * marker there and its answer reaches the run's answer. The config's secrets reach the server
 * (it proves it by their hashes) and nothing else: no answer, no route, no stored event, no log.
 * MCP tools need a permission: the runs allow the one tool with `allowedTools`.
 */
describe('MCP servers per environment (real engine, real CLI, the service as a process)', () => {
  const secret = secrets();
  const token = `test-token-${randomBytes(24).toString('hex')}`;
  const prefix = `cca-e2e-${uniqueSuffix()}-`;
  const container = `${prefix}dev`;
  let fake: FakeAnthropic;
  let service: ServiceProcess;
  let client: ReturnType<typeof createSpecCheckedClient>;
  /** Every body the API answered in this suite, for the secret check. */
  const bodies: string[] = [];

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    service = await startServiceProcess({
      ...fakeUpstreamProcessEnv({
        token,
        prefix,
        dataDir: mkdtempSync(join(tmpdir(), 'cca-e2e-data-')),
        fakeUrl: fake.url,
      }),
      MCP_CONFIG_DEV: mcpConfigFile(secret),
      // No spare: each read and run starts its own CLI, after the probe is in place.
      SPARE_PROCESSES: '0',
      // As much as the service can log: the content of runs included.
      LOG_LEVEL: 'trace',
      LOG_CONTENT: 'true',
    });
    client = createSpecCheckedClient({ baseUrl: service.baseUrl, token });
    client.use({
      onResponse: async ({ response }) => void bodies.push(await response.clone().text()),
    });
    const created = await client.POST('/api/containers/{env}', envParams('dev'));
    expect(created.response.status).toBe(201);
    copyProbeInto(container);
  });

  afterAll(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    await fake?.close();
    removeDockerObjects(prefix);
  });

  let runId: string;

  it('runs the MCP tool inside the container, and its result reaches the answer', async () => {
    fake.replyTool(TOOL, { name: 'marker.txt', text: 'written by the probe' });
    const submitted = await client.POST('/api/executions', {
      body: { env: 'dev', prompt: 'write the marker', allowedTools: [TOOL] },
    });
    if (!submitted.data) throw new Error(`submit failed: ${JSON.stringify(submitted.error)}`);
    runId = submitted.data.id;
    const stream = await readSse(`${service.baseUrl}/api/executions/${runId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(stream.closedByServer).toBe(true);
    const run = await client.GET('/api/executions/{id}', { params: { path: { id: runId } } });

    // The model was offered the tool (deferred behind ToolSearch, it is named in the request),
    // called it, and was given its result back.
    expect(JSON.stringify(fake.mainRequests[0].body)).toContain(TOOL);
    const proof = `key ${fingerprint(secret.apiKey)} token ${fingerprint(secret.token)}`;
    expect(run.data).toMatchObject({
      status: 'succeeded',
      result: `tool_result: probe wrote /workspace/marker.txt (${proof})`,
    });
    // Written inside the container, by the server the CLI started there.
    expect(dockerCli('exec', container, 'cat', '/workspace/marker.txt')).toBe(
      'written by the probe\n',
    );
    // The CLI's init message is stored with the run: it names the servers, not their settings.
    const init = stream.events
      .map((event) => JSON.parse(event.data) as Record<string, unknown>)
      .find((data) => data.type === 'system' && data.subtype === 'init');
    expect(init?.mcp_servers).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'probe', status: 'connected' })]),
    );
    bodies.push(JSON.stringify(stream.events));
  });

  it('reads the servers, their status and tools, through a CLI started for the read', async () => {
    const calls = fake.requests.length;
    const res = await client.GET('/api/containers/{env}/mcp', envParams('dev'));
    expect(res.response.status).toBe(200);
    const servers = res.data?.servers ?? [];
    expect(servers.find((server) => server.name === 'probe')).toEqual({
      name: 'probe',
      type: 'stdio',
      status: 'connected',
      // The CLI reports the tools' names (not their descriptions).
      tools: [{ name: 'write_marker' }, { name: 'leak_key' }],
    });
    expect(servers.find((server) => server.name === 'broken')).toMatchObject({
      name: 'broken',
      type: 'stdio',
      status: 'failed',
      tools: [],
    });
    // The read never called the model.
    expect(fake.requests).toHaveLength(calls);
  });

  it("redacts the config's secrets in what a careless server answers", async () => {
    const leak = 'mcp__probe__leak_key';
    fake.replyTool(leak, {});
    const res = await client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'say the key', allowedTools: [leak] },
    });
    expect(res.data).toMatchObject({ success: true, output: 'tool_result: the key is [redacted]' });
    // The model itself was given the key: redaction is of what leaves the service.
    expect(JSON.stringify(fake.mainRequests.at(-1)?.body)).toContain(secret.apiKey);
  });

  it('keeps the secrets out of every answer, stored event and log line, and off the container', async () => {
    const status = await client.GET('/api/containers/{env}', envParams('dev'));
    expect(status.data).toMatchObject({ running: true, managed: true });
    // Every run's stored events, replayed.
    const runs = await client.GET('/api/executions', {});
    for (const { id } of runs.data?.items ?? []) {
      const replay = await readSse(`${service.baseUrl}/api/executions/${id}/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      bodies.push(JSON.stringify(replay.events));
    }
    expect(runs.data?.items).toHaveLength(2);
    // The warm CLIs of the runs still run: their argv carries no MCP setting (it came over stdin).
    const clis = claudeProcesses(container);
    expect(clis.length).toBeGreaterThan(0);
    // The container was not made with them (they travel to each CLI over its stdin).
    const inspect = dockerCli('inspect', container);
    for (const value of [secret.apiKey, secret.token]) {
      for (const body of bodies) expect(body).not.toContain(value);
      expect(service.output()).not.toContain(value);
      expect(inspect).not.toContain(value);
      for (const cli of clis) expect(cli).not.toContain(value);
    }
    expect(bodies.length).toBeGreaterThan(4);
    // The logs did see the run (LOG_CONTENT): what was checked is not empty.
    expect(service.output()).toContain(runId);
  });

  it('answers 409 CONTAINER_NOT_RUNNING for a stopped container, and does not start it', async () => {
    await client.POST('/api/containers/{env}/stop', envParams('dev'));
    const res = await client.GET('/api/containers/{env}/mcp', envParams('dev'));
    expect(res.response.status).toBe(409);
    expect(res.error).toMatchObject({ code: 'CONTAINER_NOT_RUNNING' });
    expect((await client.GET('/api/containers/{env}', envParams('dev'))).data).toMatchObject({
      running: false,
    });
  });
});

/**
 * Spares get the environment's servers too: a status read is answered by a ready spare without
 * starting a CLI, and a new session's first turn, served by the spare, can call the tool. A spare
 * is started with no options, so the tool is allowed by the environment's own settings (its
 * config volume's settings.json), as an operator would allow it for every run.
 */
describe('MCP servers in spare CLIs (real engine, real CLI)', () => {
  const secret = secrets();
  const prefixes: string[] = [];
  let fake: FakeAnthropic;
  let t: TestApp;
  const container = () => `${t.config.agent.containerPrefix}dev`;
  const runner = () => t.app.get<RunExecutor, PooledRunExecutor>(RunExecutor);

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startAppWithFakeUpstream(fake.url, prefixes, {
      MCP_CONFIG: mcpConfigFile(secret),
      THROTTLE_CLAUDE_LIMIT: '1000',
    });
    await t.client.POST('/api/containers/{env}', envParams('dev'));
    copyProbeInto(container());
    const settings = JSON.stringify({ permissions: { allow: ['mcp__probe'] } });
    dockerCli(
      'exec',
      container(),
      'sh',
      '-c',
      `echo '${settings}' > /home/node/.claude/settings.json`,
    );
    // Started again, so the spares start with the probe and the settings in place.
    await t.client.POST('/api/containers/{env}/stop', envParams('dev'));
    await t.client.POST('/api/containers/{env}/start', envParams('dev'));
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  beforeEach(() =>
    waitUntil(() => Promise.resolve(runner().readySpares(container()) >= 1), 'a spare'),
  );

  it('reads the status through the ready spare, starting no CLI', async () => {
    const started = runner().stats.processesStarted;
    const res = await t.client.GET('/api/containers/{env}/mcp', envParams('dev'));
    expect(res.data?.servers.find((server) => server.name === 'probe')).toMatchObject({
      status: 'connected',
      tools: [{ name: 'write_marker' }, { name: 'leak_key' }],
    });
    expect(runner().stats.processesStarted).toBe(started);
    expect(runner().readySpares(container())).toBe(1);
    expect(JSON.stringify(res.data)).not.toContain(secret.apiKey);
  });

  it("serves a new session's first turn on the spare, with the tool", async () => {
    const taken = runner().stats.sparesTaken;
    fake.replyTool(TOOL, { name: 'spare-marker.txt', text: 'from the spare' });
    const res = await t.client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'write the marker' },
    });
    expect(runner().stats.sparesTaken).toBe(taken + 1);
    expect(res.data).toMatchObject({ success: true });
    expect(res.data?.output).toContain('probe wrote /workspace/spare-marker.txt');
    expect(dockerCli('exec', container(), 'cat', '/workspace/spare-marker.txt')).toBe(
      'from the spare\n',
    );
  });
});
