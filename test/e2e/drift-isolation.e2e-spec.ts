import { AGENT_CONFIG_DIR, AGENT_CREDENTIALS_DIR } from '../../src/agent/agent-layout';
import { dockerCli, inspectJson, removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { envParams, startAppWithFakeUpstream, TestApp } from '../support/test-app';

const dev = envParams('dev');

interface Inspected {
  Id: string;
  HostConfig: { PidsLimit: number };
}

describe('drift and isolation of the agent containers (real engine, real CLI)', () => {
  let fake: FakeAnthropic;
  const prefixes: string[] = [];
  const apps: TestApp[] = [];

  const app = async (env: Record<string, string>): Promise<TestApp> => {
    const started = await startAppWithFakeUpstream(fake.url, prefixes, {
      THROTTLE_CLAUDE_LIMIT: '1000',
      PERMISSION_MODES: 'default,bypassPermissions',
      ...env,
    });
    apps.push(started);
    return started;
  };

  // The CLI asks before a command writes outside the workspace; these runs may.
  const execute = (t: TestApp, env: string, prompt: string, sessionId?: string) =>
    t.client.POST('/api/execute', {
      body: { env, prompt, sessionId, permissionMode: 'bypassPermissions' },
    });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });

  afterEach(() => fake.clear());

  afterAll(async () => {
    await Promise.all(apps.map((started) => started.close()));
    await fake.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  it('re-creates a container on its next start after a limit change, keeping its sessions', async () => {
    const before = await app({ AGENT_LIMITS_DEV: 'pids=128' });
    const first = await execute(before, 'dev', 'remember the word kiwi');
    expect(first.data).toMatchObject({ success: true });
    const sessionId = first.data?.sessionId ?? '';
    const name = `${before.config.agent.containerPrefix}dev`;
    const made = inspectJson<Inspected>(name);
    expect(made.HostConfig.PidsLimit).toBe(128);
    await before.close();

    // The service comes back with another limit (and a fresh store: the sessions come from the
    // sessions volume).
    const after = await app({
      CONTAINER_PREFIX: before.config.agent.containerPrefix,
      VOLUME_PREFIX: before.config.agent.volumePrefix,
      AGENT_LIMITS_DEV: 'pids=256',
    });
    const drifted = await after.client.GET('/api/containers/{env}', dev);
    expect(drifted.data).toMatchObject({ running: true, matchesSettings: false });
    // A running container is left as it is until its next start.
    expect(inspectJson<Inspected>(name).Id).toBe(made.Id);

    await after.client.POST('/api/containers/{env}/stop', dev);
    const restarted = await after.client.POST('/api/containers/{env}/start', dev);
    expect(restarted.data).toMatchObject({ running: true, matchesSettings: true });
    const remade = inspectJson<Inspected>(name);
    expect(remade.Id).not.toBe(made.Id);
    expect(remade.HostConfig.PidsLimit).toBe(256);
    expect(restarted.data?.settingsHash).not.toBe(drifted.data?.settingsHash);

    const sessions = await after.client.GET('/api/sessions/{env}', {
      params: { path: { env: 'dev' }, query: { limit: 100 } },
    });
    expect(sessions.data?.items.map((item) => item.id)).toContain(sessionId);
    const resumed = await execute(after, 'dev', 'which word?', sessionId);
    expect(resumed.data).toMatchObject({ success: true, sessionId });
    const lastCall = fake.mainRequests[fake.mainRequests.length - 1].body;
    expect(JSON.stringify(lastCall.messages)).toContain('remember the word kiwi');
  });

  it('keeps what a dev run writes (settings, CLAUDE.md) out of staging runs; the login is shared', async () => {
    const t = await app({});
    fake.replyBashTool(
      `printf '{"env":{"LEAK_MARKER":"from-dev"}}' > ${AGENT_CONFIG_DIR}/settings.json` +
        ` && echo USER-MEMORY-MARKER > ${AGENT_CONFIG_DIR}/CLAUDE.md` +
        ` && echo PROJECT-MEMORY-MARKER > /workspace/CLAUDE.md && echo written`,
    );
    expect((await execute(t, 'dev', 'plant settings')).data).toMatchObject({
      output: 'tool_result: written',
    });

    const probe = async (env: string) => {
      fake.replyBashTool('echo "marker=${LEAK_MARKER:-none}"');
      const calls = fake.mainRequests.length;
      const res = await execute(t, env, `probe ${env}`);
      const sent = JSON.stringify(fake.mainRequests[calls].body);
      return { output: res.data?.output, sent };
    };
    // Dev's next run loads them (so the probe can see them at all)…
    const inDev = await probe('dev');
    expect(inDev.output).toBe('tool_result: marker=from-dev');
    expect(inDev.sent).toContain('USER-MEMORY-MARKER');
    expect(inDev.sent).toContain('PROJECT-MEMORY-MARKER');
    // …staging's does not.
    const inStaging = await probe('staging');
    expect(inStaging.output).toBe('tool_result: marker=none');
    expect(inStaging.sent).not.toContain('USER-MEMORY-MARKER');
    expect(inStaging.sent).not.toContain('PROJECT-MEMORY-MARKER');

    // One login serves both.
    const prefix = t.config.agent.containerPrefix;
    dockerCli('exec', `${prefix}dev`, 'sh', '-c', `echo login > ${AGENT_CREDENTIALS_DIR}/x`);
    expect(dockerCli('exec', `${prefix}staging`, 'cat', `${AGENT_CREDENTIALS_DIR}/x`)).toBe(
      'login\n',
    );
  });
});
