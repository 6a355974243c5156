import type { components } from '../../client/src';
import { ContainerIdleStopped, ServiceEvents } from '../../src/common/events/service-events';
import { inspectJson, removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { envParams, startAppWithFakeUpstream, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

type ExecuteRequest = components['schemas']['ExecuteRequestDto'];

// The checks right after a run must come before the stop, on a loaded machine too.
const IDLE_STOP_MS = 8000;
const dev = envParams('dev');

/**
 * The idle stop with the real engine and the real CLI: a container nothing has used for
 * IDLE_STOP_MS is stopped (Docker says so, and the status route), and the next prompt starts it
 * again and resumes the session's transcript.
 */
describe('idle stop (real engine, real CLI)', () => {
  const prefixes: string[] = [];
  let fake: FakeAnthropic;
  let t: TestApp;
  const stopped: ContainerIdleStopped[] = [];

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startAppWithFakeUpstream(fake.url, prefixes, {
      ENVIRONMENTS: 'dev',
      // The status is polled while the container idles.
      THROTTLE_IP_LIMIT: '10000',
      THROTTLE_TOKEN_LIMIT: '10000',
      THROTTLE_CLAUDE_LIMIT: '1000',
      IDLE_STOP_MS: String(IDLE_STOP_MS),
    });
    t.app.get(ServiceEvents).on('container.idle_stopped', (event) => stopped.push(event));
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  const execute = async (body: Omit<ExecuteRequest, 'env'>) =>
    (await t.client.POST('/api/execute', { body: { env: 'dev', ...body } })).data;
  const status = async () => {
    const { data } = await t.client.GET('/api/containers/{env}', dev);
    if (!data) throw new Error('no status');
    return data;
  };
  const dockerRunning = () =>
    inspectJson<{ State: { Running: boolean } }>(`${t.config.agent.containerPrefix}dev`).State
      .Running;

  it('stops the container once idle, and the next prompt starts it again and resumes', async () => {
    const first = await execute({ prompt: 'remember the word fig' });
    expect(first).toMatchObject({ success: true, output: 'echo: remember the word fig' });
    const idle = await status();
    expect(idle).toMatchObject({ running: true, idleSince: expect.any(String) });
    expect(Date.parse(idle.idleStopAt ?? '')).toBe(Date.parse(idle.idleSince ?? '') + IDLE_STOP_MS);
    expect(dockerRunning()).toBe(true);

    await waitUntil(async () => !(await status()).running, 'the idle stop');
    expect(dockerRunning()).toBe(false);
    expect(await status()).toMatchObject({ exists: true, idleSince: null, idleStopAt: null });
    expect(stopped).toEqual([
      { env: 'dev', idleSince: idle.idleSince, stoppedAt: expect.any(String) },
    ]);

    const second = await execute({ sessionId: first?.sessionId, prompt: 'which word?' });
    expect(second).toMatchObject({ success: true, output: 'echo: which word?' });
    expect(JSON.stringify(fake.mainRequests.at(-1)?.body.messages ?? [])).toContain(
      'remember the word fig',
    );
    expect(dockerRunning()).toBe(true);
    expect(stopped).toHaveLength(1);
  });
});
