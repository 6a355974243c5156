import { randomBytes } from 'node:crypto';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { removeDockerObjects } from '../support/docker-cli';
import { startAppWithFakeUpstream, TestApp } from '../support/test-app';
import { seriesValue } from '../support/metrics-text';
import { waitUntil } from '../support/wait';

// Metrics and logs after real runs (real engine, real CLI, fake upstream). The app is alone in
// this file: nestjs-pino's Logger writes through the first app of a process, so every line the
// service writes lands in `lines`.

const METRICS_TOKEN = `metrics-${randomBytes(24).toString('hex')}`;
const PROMPT = `a prompt that stays out of the logs ${randomBytes(4).toString('hex')}`;

describe('metrics and logs of real runs', () => {
  let fake: FakeAnthropic;
  let t: TestApp;
  const prefixes: string[] = [];
  const lines: string[] = [];

  const scrape = async (token = METRICS_TOKEN) => {
    const res = await fetch(`${t.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    t = await startAppWithFakeUpstream(
      fake.url,
      prefixes,
      { METRICS_TOKEN, LOG_LEVEL: 'info' },
      { logDestination: { write: (line: string) => void lines.push(line) } },
    );
  });

  afterAll(async () => {
    await t.close();
    await fake.close();
    for (const prefix of prefixes) removeDockerObjects(prefix);
  });

  it('counts the runs, their tokens, cost and duration, and the requests, as a scrape after them shows', async () => {
    const first = await t.client.POST('/api/execute', { body: { env: 'dev', prompt: PROMPT } });
    expect(first.data).toMatchObject({ success: true });
    // A second turn of the same session, on its kept CLI: its result's cost is the session's.
    const sessionId = first.data?.sessionId;
    const second = await t.client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'second', sessionId },
    });
    expect(second.data).toMatchObject({ success: true });
    const submitted = await t.client.POST('/api/executions', {
      body: { env: 'dev', prompt: 'in the background' },
    });
    const id = submitted.data?.id ?? '';
    await waitUntil(async () => {
      const run = await t.client.GET('/api/executions/{id}', { params: { path: { id } } });
      return run.data?.status === 'succeeded';
    }, 'the background run to end');

    const denied = await scrape(t.token);
    expect(denied.status).toBe(401);
    expect(denied.text).not.toContain('claudecode_runs_total');

    const { status, text } = await scrape();
    expect(status).toBe(200);
    expect(seriesValue(text, 'claudecode_runs_total{env="dev",status="succeeded"}')).toBe(3);
    expect(
      seriesValue(text, 'claudecode_run_duration_seconds_count{env="dev",status="succeeded"}'),
    ).toBe(3);
    expect(seriesValue(text, 'claudecode_run_queue_wait_seconds_count{env="dev"}')).toBe(3);
    expect(
      seriesValue(text, 'claudecode_run_tokens_total{env="dev",kind="output"}'),
    ).toBeGreaterThan(0);
    // What the runs spent each, not their sessions' running totals.
    const runs = (await t.client.GET('/api/executions', { params: { query: { limit: 10 } } })).data;
    const spent = (runs?.items ?? []).reduce((sum, run) => sum + (run.spentUsd ?? 0), 0);
    expect(spent).toBeGreaterThan(0);
    expect(seriesValue(text, 'claudecode_run_cost_usd_total{env="dev"}')).toBeCloseTo(spent, 9);
    expect(
      seriesValue(
        text,
        'claudecode_http_request_duration_seconds_count{method="POST",route="/api/execute",status="200"}',
      ),
    ).toBe(2);
    expect(
      seriesValue(
        text,
        'claudecode_http_request_duration_seconds_count{method="POST",route="/api/executions",status="202"}',
      ),
    ).toBe(1);
    expect(seriesValue(text, 'claudecode_queue_depth{env="dev"}')).toBe(0);
    expect(seriesValue(text, 'claudecode_open_streams')).toBe(0);
    // The sessions' CLIs are kept warm after their turns.
    expect(seriesValue(text, 'claudecode_warm_sessions{env="dev"}')).toBeGreaterThanOrEqual(1);
    expect(seriesValue(text, 'claudecode_spare_processes{env="dev"}')).toEqual(expect.any(Number));
  });

  it("writes JSON lines only, an access line per request with the token's id, and no secret", async () => {
    const requestId = `obs-${randomBytes(6).toString('hex')}`;
    const res = await t.request('POST', '/api/execute', {
      headers: { 'x-request-id': requestId },
      body: { env: 'dev', prompt: PROMPT },
    });
    expect(res.status).toBe(200);
    await waitUntil(
      () => Promise.resolve(lines.some((line) => line.includes(requestId))),
      'the access line',
    );

    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const access = parsed.filter((line) => line.reqId === requestId);
    expect(access).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'request completed',
        method: 'POST',
        route: '/api/execute',
        status: 200,
        env: 'dev',
        tokenId: expect.stringMatching(/^[0-9a-f]{16}$/),
        durationMs: expect.any(Number),
      }),
    ]);
    expect(parsed).toContainEqual(
      expect.objectContaining({ msg: 'run ended', env: 'dev', status: 'succeeded' }),
    );
    const everything = lines.join('');
    for (const secret of [t.token, METRICS_TOKEN, PROMPT, `echo: ${PROMPT}`]) {
      expect(everything).not.toContain(secret);
    }
  });
});
