import { randomUUID } from 'node:crypto';
import type { components } from '../../client/src';
import {
  bigText,
  FakeAnthropic,
  lastUserText,
  startFakeAnthropic,
} from '../support/fake-anthropic';
import { claudeProcessesOf, dockerCli, removeDockerObjects } from '../support/docker-cli';
import { envParams, startAppWithFakeUpstream, TestApp, withoutToken } from '../support/test-app';
import { waitUntil } from '../support/wait';

type ExecuteRequest = components['schemas']['ExecuteRequestDto'];

const dev = envParams('dev');

describe('POST /api/execute (real engine, real CLI, fake upstream)', () => {
  let fake: FakeAnthropic;
  let t: TestApp;
  const prefixes: string[] = [];

  const app = (env: Record<string, string> = {}): Promise<TestApp> =>
    startAppWithFakeUpstream(fake.url, prefixes, env);

  const execute = (target: TestApp, body: ExecuteRequest) =>
    target.client.POST('/api/execute', { body });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await app({ MAX_CONCURRENT_PER_ENV: '8', THROTTLE_CLAUDE_LIMIT: '1000' });
  });

  afterEach(() => fake.clear());

  afterAll(async () => {
    await t.close();
    await fake.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  it('answers a prompt, starting the stopped environment on the way', async () => {
    expect((await t.client.GET('/api/containers/{env}', dev)).data).toMatchObject({
      exists: false,
    });
    const res = await execute(t, { env: 'dev', prompt: 'hello there' });
    expect(res.response.status).toBe(200);
    const body = res.data;
    expect(body).toMatchObject({
      success: true,
      output: 'echo: hello there',
      exitCode: 0,
      truncated: false,
    });
    expect(body?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body?.durationMs).toBeGreaterThan(0);
    expect(body?.error).toBeUndefined();
    expect(body?.json_output).toBeUndefined();
    expect((await t.client.GET('/api/containers/{env}', dev)).data).toMatchObject({
      running: true,
    });
  });

  it('returns the CLI result object in json_output, with the fields `claude -p --output-format json` prints', async () => {
    const body = (await execute(t, { env: 'dev', prompt: 'as json', jsonOutput: true })).data;
    const result = JSON.parse(body?.json_output ?? 'null') as Record<string, unknown>;
    expect(result).toMatchObject({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'echo: as json',
      session_id: body?.sessionId,
    });

    const direct = await t.docker.exec(`${t.config.agent.containerPrefix}dev`, {
      cmd: ['claude', '-p', '--output-format', 'json'],
      env: { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'sk-ant-dummy-key' },
      workdir: '/workspace',
      stdin: 'as json',
    });
    const printed = JSON.parse(direct.stdout) as Record<string, unknown>;
    expect(Object.keys(result).sort()).toEqual(Object.keys(printed).sort());
  });

  it('resumes a session: the second turn sends the whole history and keeps the session id', async () => {
    const first = (await execute(t, { env: 'dev', prompt: 'remember the word kiwi' })).data;
    const second = (
      await execute(t, {
        env: 'dev',
        prompt: 'which word?',
        sessionId: first?.sessionId,
        jsonOutput: true,
      })
    ).data;
    expect(second).toMatchObject({
      success: true,
      sessionId: first?.sessionId,
      output: 'echo: which word?',
    });
    expect(JSON.parse(second?.json_output ?? '{}')).toMatchObject({
      session_id: first?.sessionId,
    });
    const lastCall = fake.mainRequests[fake.mainRequests.length - 1].body;
    const history = JSON.stringify(lastCall.messages);
    expect(history).toContain('remember the word kiwi');
    expect(history).toContain('echo: remember the word kiwi');
    expect(lastUserText(lastCall)).toContain('which word?');

    // The same id in upper case is the same session: the CLI names its files in lower case.
    const shouted = await execute(t, {
      env: 'dev',
      prompt: 'still kiwi?',
      sessionId: first?.sessionId?.toUpperCase(),
    });
    expect(shouted.data).toMatchObject({ success: true, sessionId: first?.sessionId });
    const shoutedCall = fake.mainRequests[fake.mainRequests.length - 1].body;
    expect(JSON.stringify(shoutedCall.messages)).toContain('which word?');
  });

  it('runs a reserved session, lists it, reads it, deletes it, then answers 404', async () => {
    const created = await t.client.POST('/api/sessions', {
      body: { env: 'dev', title: 'Groceries' },
    });
    expect(created.response.status).toBe(201);
    const sessionId = created.data?.sessionId ?? '';

    const run = (await execute(t, { env: 'dev', prompt: 'buy apples', sessionId })).data;
    expect(run).toMatchObject({ success: true, sessionId });

    const list = await t.client.GET('/api/sessions/{env}', {
      params: { path: { env: 'dev' }, query: { limit: 100 } },
    });
    const item = list.data?.items.find((entry) => entry.id === sessionId);
    expect(item).toMatchObject({ id: sessionId, status: 'idle' });
    expect(item?.messageCount).toBeGreaterThanOrEqual(2);

    const session = { params: { path: { env: 'dev', id: sessionId } } };
    const read = await t.client.GET('/api/sessions/{env}/{id}', session);
    expect(read.response.status).toBe(200);
    expect(JSON.stringify(read.data)).toContain('buy apples');

    expect((await t.client.DELETE('/api/sessions/{env}/{id}', session)).response.status).toBe(204);
    expect((await t.client.GET('/api/sessions/{env}/{id}', session)).response.status).toBe(404);
    const again = await execute(t, { env: 'dev', prompt: 'still there?', sessionId });
    expect(again.response.status).toBe(404);
    expect(again.error).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('sends a 200 KiB prompt, past the argv limit, over stdin', async () => {
    const prompt = `start ${'p'.repeat(200 * 1024)} end`;
    const res = await execute(t, { env: 'dev', prompt });
    expect(res.data).toMatchObject({ success: true });
    const lastCall = fake.mainRequests[fake.mainRequests.length - 1].body;
    expect(lastUserText(lastCall)).toContain(prompt);
  });

  it('passes shell metacharacters literally and runs none of them', async () => {
    const prompt =
      "$(touch /tmp/pwned1); `touch /tmp/pwned2` && touch /tmp/pwned3 | \"'$HOME' > /tmp/pwned4";
    const res = await execute(t, { env: 'dev', prompt });
    expect(res.data).toMatchObject({ success: true, output: `echo: ${prompt}` });
    expect(lastUserText(fake.mainRequests[fake.mainRequests.length - 1].body)).toContain(prompt);
    const container = `${t.config.agent.containerPrefix}dev`;
    expect(dockerCli('exec', container, 'sh', '-c', 'ls /tmp /workspace')).not.toContain('pwned');
  });

  it('runs a Bash tool call in the container', async () => {
    fake.replyBashTool('echo tool-ran > /workspace/marker.txt && cat /workspace/marker.txt');
    const res = await execute(t, { env: 'dev', prompt: 'use bash', allowedTools: ['Bash'] });
    expect(res.data).toMatchObject({ success: true });
    expect(res.data?.output).toContain('tool-ran');
  });

  it('answers an upstream API error with 200 and success: false', async () => {
    fake.replyError({
      status: 400,
      errorType: 'invalid_request_error',
      message: 'prompt is poisoned',
      times: -1,
    });
    const res = await execute(t, { env: 'dev', prompt: 'fail please' });
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({ success: false, code: 'CLI_ERROR' });
    expect(res.data?.error).toMatch(/prompt is poisoned/);
  });

  it('kills the CLI in the container when the deadline passes', async () => {
    fake.replySlow('too late', { delayMs: 60_000 });
    const res = await execute(t, { env: 'dev', prompt: 'take your time', timeoutMs: 2000 });
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({ success: false, code: 'EXECUTION_TIMEOUT', exitCode: null });
    const container = `${t.config.agent.containerPrefix}dev`;
    expect(claudeProcessesOf(container, res.data?.sessionId)).toEqual([]);
  });

  it('returns a 1 MB answer whole', async () => {
    fake.replyBig(1_000_000);
    const body = (await execute(t, { env: 'dev', prompt: 'a lot' })).data;
    expect(body).toMatchObject({ success: true, truncated: false });
    expect(body?.output).toBe(bigText(1_000_000));
  });

  it('answers 409 SESSION_BUSY while the session runs, and /health stays fast meanwhile', async () => {
    const sessionId = (await execute(t, { env: 'dev', prompt: 'session start' })).data?.sessionId;
    const calls = fake.mainRequests.length;
    // Held until the checks are done, however slow the machine.
    const release = fake.replyHeld('finally');
    let settled = false;
    const slow = execute(t, { env: 'dev', prompt: 'slow one', sessionId }).finally(() => {
      settled = true;
    });
    try {
      await fake.waitForMainRequests(calls + 1, 30_000);

      const busy = await execute(t, { env: 'dev', prompt: 'me too', sessionId });
      expect(busy.response.status).toBe(409);
      expect(busy.error).toMatchObject({ statusCode: 409, code: 'SESSION_BUSY' });
      const deleting = await t.client.DELETE('/api/sessions/{env}/{id}', {
        params: { path: { env: 'dev', id: sessionId ?? '' } },
      });
      expect(deleting.response.status).toBe(409);
      expect(deleting.error).toMatchObject({ code: 'SESSION_BUSY' });
      const health = await t.client.GET('/health', withoutToken);
      expect(health.response.status).toBe(200);
      expect(settled).toBe(false);
    } finally {
      release();
    }
    expect((await slow).data).toMatchObject({ success: true, output: 'finally' });
  });

  it('runs 8 prompts in parallel across two environments', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => ({
      env: i % 2 ? 'dev' : 'staging',
      prompt: `parallel ${i}`,
    }));
    const results = await Promise.all(prompts.map((body) => execute(t, body)));
    results.forEach((res, i) => {
      expect(res.response.status).toBe(200);
      expect(res.data).toMatchObject({ success: true, output: `echo: parallel ${i}` });
    });
    expect(new Set(results.map((res) => res.data?.sessionId)).size).toBe(8);
  });

  it.each([
    ['an unknown field', { env: 'dev', prompt: 'x', rogue: true }, 400, 'VALIDATION_FAILED'],
    ['a missing prompt', { env: 'dev' }, 400, 'VALIDATION_FAILED'],
    ['an empty prompt', { env: 'dev', prompt: '' }, 400, 'VALIDATION_FAILED'],
    [
      'a non-UUID session id',
      { env: 'dev', prompt: 'x', sessionId: '../../etc/passwd' },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a bad permission mode',
      { env: 'dev', prompt: 'x', permissionMode: 'yolo' },
      400,
      'VALIDATION_FAILED',
    ],
    ['zero max turns', { env: 'dev', prompt: 'x', maxTurns: 0 }, 400, 'VALIDATION_FAILED'],
    ['a tiny timeout', { env: 'dev', prompt: 'x', timeoutMs: 10 }, 400, 'VALIDATION_FAILED'],
    [
      'a non-boolean jsonOutput',
      { env: 'dev', prompt: 'x', jsonOutput: 'yes' },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a bad tool name',
      { env: 'dev', prompt: 'x', allowedTools: ['rm -rf /'] },
      400,
      'VALIDATION_FAILED',
    ],
    ['an unknown environment', { env: 'qa', prompt: 'x' }, 404, 'ENV_NOT_FOUND'],
    [
      'an unknown session',
      { env: 'dev', prompt: 'x', sessionId: randomUUID() },
      404,
      'SESSION_NOT_FOUND',
    ],
  ])('rejects %s', async (_case, body, status, code) => {
    const calls = fake.requests.length;
    // Bodies the types refuse on purpose: the service must refuse them too.
    const res = await execute(t, body as never);
    expect(res.response.status).toBe(status);
    expect(res.error).toMatchObject({ statusCode: status, code });
    expect(fake.requests.length).toBe(calls);
  });

  describe('with tight limits', () => {
    let tight: TestApp;

    beforeAll(async () => {
      tight = await app({
        MAX_CONCURRENT_PER_ENV: '1',
        MAX_QUEUE_PER_ENV: '1',
        MAX_OUTPUT_BYTES: '10000',
        MAX_PROMPT_BYTES: '2000',
        THROTTLE_CLAUDE_LIMIT: '1000',
      });
    });
    afterAll(() => tight.close());

    it('cuts output over MAX_OUTPUT_BYTES and says so', async () => {
      fake.replyBig(50_000);
      const body = (await execute(tight, { env: 'dev', prompt: 'big' })).data;
      expect(body).toMatchObject({ success: true, truncated: true });
      expect(Buffer.byteLength(body?.output ?? '')).toBeLessThanOrEqual(10_000);
      expect(body?.output).toBe(bigText(50_000).slice(0, 10_000));
    });

    it('answers a prompt over MAX_PROMPT_BYTES with 413 and runs nothing', async () => {
      const calls = fake.requests.length;
      const res = await execute(tight, { env: 'dev', prompt: 'é'.repeat(1001) });
      expect(res.response.status).toBe(413);
      expect(res.error).toMatchObject({ statusCode: 413, code: 'PROMPT_TOO_LARGE' });
      expect(fake.requests.length).toBe(calls);
    });

    it('queues runs beyond MAX_CONCURRENT_PER_ENV and refuses 429 QUEUE_FULL beyond MAX_QUEUE_PER_ENV', async () => {
      const calls = fake.mainRequests.length;
      // The first run holds the slot until the checks are done, however slow the machine.
      const release = fake.replyHeld('first done');
      const first = execute(tight, { env: 'staging', prompt: 'hold the slot' });
      let second: ReturnType<typeof execute> | undefined;
      let secondSettled = false;
      try {
        await fake.waitForMainRequests(calls + 1, 30_000);
        second = execute(tight, { env: 'staging', prompt: 'wait for it' }).finally(() => {
          secondSettled = true;
        });
        // The second run is in the queue before the third arrives.
        await waitUntil(async () => {
          const queued = await tight.client.GET('/api/executions', {
            params: { query: { env: 'staging', status: 'queued' } },
          });
          return queued.data?.items.length === 1;
        }, 'the second run to be queued');
        const full = await execute(tight, { env: 'staging', prompt: 'no room' });
        expect(full.response.status).toBe(429);
        expect(full.error).toMatchObject({ code: 'QUEUE_FULL' });
        expect(full.response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(secondSettled).toBe(false);
        expect(fake.mainRequests.length).toBe(calls + 1);
      } finally {
        release();
      }
      expect((await first).data).toMatchObject({ success: true, output: 'first done' });
      expect((await second)?.data).toMatchObject({ success: true, output: 'echo: wait for it' });
    });
  });

  it('counts Claude routes in their own stricter bucket', async () => {
    const strict = await app({ THROTTLE_CLAUDE_LIMIT: '2' });
    try {
      // Requests that fail validation still count: the bucket is checked before the body.
      for (let i = 0; i < 2; i += 1) {
        expect((await execute(strict, { env: 'qa', prompt: 'x' })).response.status).toBe(404);
      }
      const limited = await execute(strict, { env: 'qa', prompt: 'x' });
      expect(limited.response.status).toBe(429);
      expect(limited.error).toMatchObject({ code: 'RATE_LIMITED' });
      expect(limited.response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await strict.client.GET('/api/containers/{env}', dev)).response.status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});
