import { DEFAULT_AGENT_IMAGE } from '../../src/common/config/environment-variables';
import { dockerCli, removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, lastUserText, startFakeAnthropic } from '../support/fake-anthropic';
import { SecondDockerHost, startSecondDockerHost } from '../support/second-docker-host';
import { envParams, startAppWithFakeUpstream, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

const dev = envParams('dev');
const staging = envParams('staging');

/**
 * Two real engines: the machine's (`local`) and a second one in its own network namespace
 * (`second`), with `staging` pinned there and `dev` on the local one.
 */
describe('agents on several Docker hosts', () => {
  let second: SecondDockerHost;
  let fake: FakeAnthropic;
  let t: TestApp;
  const prefixes: string[] = [];

  beforeAll(async () => {
    second = await startSecondDockerHost();
    second.loadImages(DEFAULT_AGENT_IMAGE);
    // The same port on both loopbacks: one ANTHROPIC_BASE_URL serves the agents of both hosts.
    fake = await startFakeAnthropic();
    await second.startFakeAnthropic(Number(new URL(fake.url).port));
    t = await startAppWithFakeUpstream(fake.url, prefixes, {
      DOCKER_HOSTS: `local=unix:///var/run/docker.sock,second=${second.address}`,
      DOCKER_HOST_STAGING: 'second',
      DOCKER_HOST_DEV: 'local',
    });
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
    second?.remove();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  const containerOn = (engine: (...args: string[]) => string, name: string): boolean =>
    engine('ps', '-aq', '--filter', `name=^${name}$`).trim() !== '';

  it('runs the prompts of an environment placed on the second host there', async () => {
    const res = await t.client.POST('/api/execute', {
      body: { env: 'staging', prompt: 'hello second host' },
    });
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({ success: true, output: 'echo: hello second host' });

    const name = t.config.agent.containerPrefix + 'staging';
    expect(containerOn(second.docker, name)).toBe(true);
    expect(containerOn(dockerCli, name)).toBe(false);
    // The CLI talked to the fake inside the namespace, not to the one on the machine's loopback.
    expect(second.requestLines().some((line) => line.includes('POST /v1/messages'))).toBe(true);
    expect(fake.mainRequests).toHaveLength(0);
    expect((await t.client.GET('/api/containers/{env}', staging)).data).toMatchObject({
      host: 'second',
      running: true,
    });
  });

  it('keeps the other environment on the local host', async () => {
    const res = await t.client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'hello local' },
    });
    expect(res.data).toMatchObject({ success: true, output: 'echo: hello local' });
    expect(lastUserText(fake.mainRequests[fake.mainRequests.length - 1].body)).toContain(
      'hello local',
    );
    const name = t.config.agent.containerPrefix + 'dev';
    expect(containerOn(dockerCli, name)).toBe(true);
    expect(containerOn(second.docker, name)).toBe(false);
    expect((await t.client.GET('/api/containers/{env}', dev)).data).toMatchObject({
      host: 'local',
    });
  });

  it('answers 503 for the environments of a host that is down, and the others go on', async () => {
    await second.killEngine();
    const status = () => t.client.GET('/api/containers/{env}', staging);
    // The kept state follows the host's event stream, which ends with the engine.
    await waitUntil(async () => (await status()).response.status === 503, 'staging to be 503');
    const unavailable = {
      statusCode: 503,
      code: 'DOCKER_UNAVAILABLE',
      message: 'The Docker engine of host second is not reachable; try again shortly',
    };
    expect((await status()).error).toMatchObject(unavailable);
    const run = await t.client.POST('/api/execute', {
      body: { env: 'staging', prompt: 'nobody home' },
    });
    expect(run.response.status).toBe(503);
    expect(run.error).toMatchObject(unavailable);

    const local = await t.client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'still here' },
    });
    expect(local.data).toMatchObject({ success: true, output: 'echo: still here' });
    expect((await t.client.GET('/api/containers/{env}', dev)).response.status).toBe(200);

    const readiness = async () => (await t.client.GET('/health/ready')).data;
    await waitUntil(
      async () => (await readiness())?.hosts.some((host) => !host.reachable) ?? false,
      'readiness to see the second host down',
    );
    expect(await readiness()).toEqual({
      status: 'ok',
      docker: 'ok',
      hosts: [
        { name: 'local', reachable: true },
        { name: 'second', reachable: false },
      ],
    });
  });
});
