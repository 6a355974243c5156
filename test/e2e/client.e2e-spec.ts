import { ExecutionEvent, streamExecution } from '../../client/src';
import { removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { createSpecCheckedClient, specCheckedFetch } from '../support/spec-checked-client';
import { startTestApp, TestApp } from '../support/test-app';

describe('the generated client against the real service', () => {
  let fake: FakeAnthropic;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startTestApp({
      AGENT_ENV_ANTHROPIC_BASE_URL: fake.url,
      AGENT_ENV_ANTHROPIC_API_KEY: 'sk-ant-dummy-key',
    });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
    removeDockerObjects(t.config.agent.containerPrefix);
  });

  it('starts a container, runs a prompt, follows its events and lists sessions, all typed', async () => {
    // A trailing slash on the base URL is fine.
    const client = createSpecCheckedClient({ baseUrl: `${t.baseUrl}/`, token: t.token });
    const started = await client.POST('/api/containers/{env}/start', {
      params: { path: { env: 'dev' } },
    });
    expect(started.data).toMatchObject({ env: 'dev', running: true, auth: { method: 'api_key' } });

    const executed = await client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'typed hello' },
    });
    expect(executed.data).toMatchObject({ success: true, output: 'echo: typed hello' });

    const submitted = await client.POST('/api/executions', {
      body: { env: 'dev', prompt: 'follow me' },
    });
    const run = submitted.data;
    if (!run) throw new Error(`submit failed: ${JSON.stringify(submitted.error)}`);
    const events: ExecutionEvent[] = [];
    // With the run-scoped token only, as a browser would.
    for await (const event of streamExecution(run.id, {
      baseUrl: t.baseUrl,
      eventsToken: run.eventsToken,
      fetch: specCheckedFetch,
    })) {
      events.push(event);
    }
    const last = events[events.length - 1];
    expect(last).toMatchObject({ type: 'end', end: { id: run.id, status: 'succeeded' } });
    const result = events.find((event) => event.type === 'result');
    expect(result).toMatchObject({ message: { type: 'result', result: 'echo: follow me' } });

    const resumed: ExecutionEvent[] = [];
    for await (const event of streamExecution(run.id, {
      baseUrl: t.baseUrl,
      token: t.token,
      lastEventId: events.length - 2,
      fetch: specCheckedFetch,
    })) {
      resumed.push(event);
    }
    expect(resumed.map((event) => event.type)).toEqual(events.slice(-2).map((event) => event.type));

    const sessions = await client.GET('/api/sessions/{env}', {
      params: { path: { env: 'dev' }, query: { limit: 10 } },
    });
    expect(sessions.data?.items.map((item) => item.id)).toEqual(
      expect.arrayContaining([run.sessionId]),
    );

    const denied = await createSpecCheckedClient({ baseUrl: t.baseUrl, token: 'wrong' }).GET(
      '/api/containers/{env}',
      {
        params: { path: { env: 'dev' } },
      },
    );
    expect(denied.response.status).toBe(401);
    expect(denied.error).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
  });
});
