import type { components } from '../../client/src';
import { PooledRunExecutor, WarmStats } from '../../src/agent/pooled-run-executor';
import { RunExecutor } from '../../src/agent/run-executor';
import { STRUCTURED_OUTPUT_TOOL, structuredOutputPrompt } from '../support/fake-anthropic';
import { appWithFakeUpstreamSuite, TestApp } from '../support/test-app';

type ExecuteRequest = components['schemas']['ExecuteRequestDto'];

const SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string' } },
  required: ['answer'],
};

const execute = async (t: TestApp, body: Omit<ExecuteRequest, 'env'>) =>
  (await t.client.POST('/api/execute', { body: { env: 'dev', ...body } })).data;

const stats = (t: TestApp): WarmStats => ({
  ...t.app.get<RunExecutor, PooledRunExecutor>(RunExecutor).stats,
});

/**
 * Structured output and the budgets with the real CLI against the fake upstream: the CLI offers
 * the model its answer tool, validates what the model calls it with, and stops a run at its
 * maxBudgetUsd by the cost it counts from the fake's token usage.
 */
describe('structured output and maxBudgetUsd (real engine, real CLI)', () => {
  const suite = appWithFakeUpstreamSuite({ THROTTLE_CLAUDE_LIMIT: '1000' });

  it("answers with the validated object when the model's answer conforms to outputSchema", async () => {
    const answer = await execute(suite.t, {
      prompt: structuredOutputPrompt({ answer: 'forty-two' }),
      outputSchema: SCHEMA,
    });
    expect(answer).toMatchObject({ success: true, structuredOutput: { answer: 'forty-two' } });
    // The CLI offered the schema to the model as its answer tool.
    const offered = suite.fake.mainRequests[0].body.tools?.find(
      (tool) => tool.name === STRUCTURED_OUTPUT_TOOL,
    );
    expect(offered?.input_schema).toEqual(SCHEMA);
  });

  it('fails STRUCTURED_OUTPUT_INVALID when the answer never conforms, or never comes as the object', async () => {
    const wrong = await execute(suite.t, {
      prompt: structuredOutputPrompt({ answer: 42 }),
      outputSchema: SCHEMA,
    });
    expect(wrong).toMatchObject({ success: false, code: 'STRUCTURED_OUTPUT_INVALID' });
    expect(wrong?.error).toMatch(/error_max_structured_output_retries: .*must be string/);
    expect(wrong?.structuredOutput).toBeUndefined();

    // The model answers in words (the fake's echo): the CLI says success, the run does not.
    const words = await execute(suite.t, { prompt: 'just talk', outputSchema: SCHEMA });
    expect(words).toMatchObject({ success: false, code: 'STRUCTURED_OUTPUT_INVALID' });
  });

  it('keeps a CLI warm for the next turn with the same schema, and starts another for a turn without', async () => {
    const first = await execute(suite.t, {
      prompt: structuredOutputPrompt({ answer: 'one' }),
      outputSchema: SCHEMA,
    });
    const before = stats(suite.t);
    const second = await execute(suite.t, {
      sessionId: first?.sessionId,
      prompt: structuredOutputPrompt({ answer: 'two' }),
      outputSchema: SCHEMA,
    });
    expect(second).toMatchObject({ success: true, structuredOutput: { answer: 'two' } });
    expect(stats(suite.t).warmTurns).toBe(before.warmTurns + 1);

    // A CLI started with a schema is never handed a turn without one (nor the reverse).
    const plain = await execute(suite.t, { sessionId: first?.sessionId, prompt: 'plain words' });
    expect(plain).toMatchObject({ success: true, output: 'echo: plain words' });
    expect(plain?.structuredOutput).toBeUndefined();
    expect(stats(suite.t).processesStarted).toBeGreaterThan(before.processesStarted);
    expect(stats(suite.t).warmTurns).toBe(before.warmTurns + 1);
  });

  it('fails BUDGET_EXCEEDED when the run spends its maxBudgetUsd', async () => {
    const answer = await execute(suite.t, { prompt: 'spend', maxBudgetUsd: 0.001 });
    expect(answer).toMatchObject({ success: false, code: 'BUDGET_EXCEEDED' });
    expect(answer?.error).toMatch(/error_max_budget_usd: Reached maximum budget \(\$0\.001\)/);
  });

  it("runs each budgeted turn on a CLI of its own, so a turn's budget counts only its own spend", async () => {
    // A turn costs about $0.01 at the fake's token counts: one fits in $0.015, two do not.
    const budget = 0.015;
    const before = stats(suite.t);
    const first = await execute(suite.t, { prompt: 'first', maxBudgetUsd: budget });
    const second = await execute(suite.t, {
      sessionId: first?.sessionId,
      prompt: 'second',
      maxBudgetUsd: budget,
    });
    expect([first?.success, second?.success]).toEqual([true, true]);
    expect(stats(suite.t)).toMatchObject({
      processesStarted: before.processesStarted + 2,
      warmTurns: before.warmTurns,
    });
  });
});

describe('the environment budget (real engine, real CLI)', () => {
  const suite = appWithFakeUpstreamSuite({ ENV_BUDGET_USD_PER_DAY: '0.005' });

  it('refuses runs with 429 ENV_BUDGET_EXHAUSTED once the day’s spend passes it, saying when it resets', async () => {
    const first = await execute(suite.t, { prompt: 'spend the budget' });
    expect(first?.success).toBe(true);
    const run = (await suite.t.client.GET('/api/executions')).data?.items[0];
    expect(run?.spentUsd).toBeGreaterThan(0.005);

    const refused = await suite.t.client.POST('/api/executions', {
      body: { env: 'dev', prompt: 'one more' },
    });
    expect(refused.response.status).toBe(429);
    const resetsAt = new Date(Date.parse(run?.finishedAt ?? '') + 86_400_000).toISOString();
    expect(refused.error).toMatchObject({
      code: 'ENV_BUDGET_EXHAUSTED',
      details: [`resetsAt: ${resetsAt}`],
    });
    expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThan(86_000);
    expect(suite.fake.mainRequests).toHaveLength(1);
  });
});
