import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { randomUUID } from 'node:crypto';
import { RunEnded, ServiceEvents } from '../../src/common/events/service-events';
import { resultMessage } from '../support/fake-run-executor';
import { executionsApps } from './executions-app';

// Nothing here waits on the clock: a run that never ends fails its test in seconds.
jest.setTimeout(30_000);

const DAY_MS = 86_400_000;
const OTHER_TOKEN = 'o'.repeat(32);
const SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string' } },
  required: ['answer'],
};

/** The CLI's result of a turn, its cost being the session's running total. */
function costing(totalCostUsd: number): SDKResultMessage {
  return { ...resultMessage('done'), total_cost_usd: totalCostUsd };
}

function resultWith(fields: Record<string, unknown>): SDKResultMessage {
  return { ...resultMessage('{"answer":"42"}'), ...fields };
}

describe('budgets and structured output: the real wiring and store around a fake runner', () => {
  const boot = executionsApps();

  describe('the environment budget (ENV_BUDGET_USD_PER_DAY)', () => {
    it('adds up what each run spent of its own, then answers 429 ENV_BUDGET_EXHAUSTED until the oldest spend ages out', async () => {
      const { runner, submit, request, ended } = await boot({ ENV_BUDGET_USD_PER_DAY: '0.025' });
      const session = randomUUID();
      const first = await submit({ prompt: 'a', sessionId: session });
      (await runner.runOf(first)).finish({ result: costing(0.01) });
      const firstEnd = await ended(first);
      // The session's total is 0.02 after its second turn: the run itself spent 0.01.
      const second = await submit({ prompt: 'b', sessionId: session });
      (await runner.runOf(second)).finish({ result: costing(0.02) });
      await ended(second);
      const seen = await request('GET', `/api/executions/${second}`);
      expect(seen.json()).toMatchObject({ costUsd: 0.02, spentUsd: 0.01 });

      const third = await submit({ prompt: 'c' });
      (await runner.runOf(third)).finish({ result: costing(0.01) });
      await ended(third);

      const refused = await request('POST', '/api/executions', { env: 'dev', prompt: 'd' });
      expect(refused.statusCode).toBe(429);
      const resetsAt = new Date(Date.parse(firstEnd.finishedAt ?? '') + DAY_MS).toISOString();
      expect(refused.json()).toMatchObject({
        code: 'ENV_BUDGET_EXHAUSTED',
        details: [`resetsAt: ${resetsAt}`],
      });
      expect(refused.json<{ message: string }>().message).toContain(resetsAt);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(DAY_MS / 1000 - 60);
      expect(retryAfter).toBeLessThanOrEqual(DAY_MS / 1000);
      // The synchronous route is admitted the same way; another environment has its own budget.
      const execute = await request('POST', '/api/execute', { env: 'dev', prompt: 'e' });
      expect(execute.json()).toMatchObject({ statusCode: 429, code: 'ENV_BUDGET_EXHAUSTED' });
      expect(runner.runs).toHaveLength(3);
      expect(
        (await request('POST', '/api/executions', { env: 'staging', prompt: 'f' })).statusCode,
      ).toBe(202);
    });
  });

  describe('the token quota (TOKEN_RUN_QUOTA)', () => {
    it('counts the runs a token submitted in its window, queued ones too, and answers 429 RUN_QUOTA_EXHAUSTED past it', async () => {
      const { app, submit, request } = await boot({
        TOKEN_RUN_QUOTA: '2',
        TOKEN_RUN_QUOTA_WINDOW_MS: String(60 * 60 * 1000),
        API_TOKENS: OTHER_TOKEN,
      });
      await submit({ prompt: 'a' });
      await submit({ prompt: 'b' });
      const listed = await request('GET', '/api/executions');
      const oldest = listed.json<{ items: { createdAt: string }[] }>().items.at(-1)?.createdAt;

      const refused = await request('POST', '/api/executions', { env: 'staging', prompt: 'c' });
      expect(refused.statusCode).toBe(429);
      const resetsAt = new Date(Date.parse(oldest ?? '') + 60 * 60 * 1000).toISOString();
      expect(refused.json()).toMatchObject({
        code: 'RUN_QUOTA_EXHAUSTED',
        details: [`resetsAt: ${resetsAt}`],
      });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3500);

      // Another token has a quota of its own.
      const other = await app.inject({
        method: 'POST',
        url: '/api/executions',
        headers: { authorization: `Bearer ${OTHER_TOKEN}` },
        payload: { env: 'dev', prompt: 'd' },
      });
      expect(other.statusCode).toBe(202);
    });
  });

  it('lets one of two submits that race for the last run of a quota through, and refuses the other', async () => {
    const { request, runner, containers } = await boot({ TOKEN_RUN_QUOTA: '1' });
    // Both are admitted before either is recorded: their container starts end together.
    let arrived = 0;
    let bothArrived: () => void = () => undefined;
    const together = new Promise<void>((resolve) => (bothArrived = resolve));
    containers.ensureRunning.mockImplementation(async (env: string) => {
      arrived += 1;
      if (arrived === 2) bothArrived();
      await together;
      return `claude-agent-${env}`;
    });
    const replies = await Promise.all([
      request('POST', '/api/executions', { env: 'dev', prompt: 'a' }),
      request('POST', '/api/executions', { env: 'staging', prompt: 'b' }),
    ]);
    expect(replies.map((reply) => reply.statusCode).sort()).toEqual([202, 429]);
    expect(
      (await request('GET', '/api/executions')).json<{ items: unknown[] }>().items,
    ).toHaveLength(1);
    await runner.runAt(0);
  });

  describe('maxBudgetUsd and outputSchema', () => {
    it('hands both to the runner, and keeps the validated object of a conforming answer', async () => {
      const { app, runner, request, submit, ended } = await boot();
      const told: RunEnded[] = [];
      app.get(ServiceEvents).on('run.ended', (event) => told.push(event));
      const id = await submit({ prompt: 'answer', maxBudgetUsd: 0.5, outputSchema: SCHEMA });
      const run = await runner.runOf(id);
      expect(run.request).toMatchObject({ maxBudgetUsd: 0.5, outputSchema: SCHEMA });
      run.finish({ result: resultWith({ structured_output: { answer: '42' } }) });
      expect(await ended(id)).toMatchObject({
        status: 'succeeded',
        structuredOutput: { answer: '42' },
      });
      expect((await request('GET', `/api/executions/${id}`)).json()).toMatchObject({
        structuredOutput: { answer: '42' },
      });
      // Told outside too (webhooks): the run's end carries the object and what the run spent.
      expect(told.at(-1)).toMatchObject({ id, structuredOutput: { answer: '42' }, spentUsd: 0.01 });

      const answer = request('POST', '/api/execute', {
        env: 'dev',
        prompt: 'answer',
        outputSchema: SCHEMA,
      });
      (await runner.runAt(1)).finish({
        result: resultWith({ structured_output: { answer: 'sync' } }),
      });
      expect((await answer).json()).toMatchObject({
        success: true,
        structuredOutput: { answer: 'sync' },
      });
    });

    it.each([
      ['an answer without the object', resultWith({}), 'STRUCTURED_OUTPUT_INVALID', /outputSchema/],
      [
        'the CLI giving up on the schema',
        resultWith({
          subtype: 'error_max_structured_output_retries',
          is_error: true,
          errors: ['Failed to provide valid structured output after 5 attempts'],
        }),
        'STRUCTURED_OUTPUT_INVALID',
        /after 5 attempts/,
      ],
      [
        'the CLI stopping at maxBudgetUsd',
        resultWith({
          subtype: 'error_max_budget_usd',
          is_error: true,
          errors: ['Reached maximum budget ($0.01)'],
        }),
        'BUDGET_EXCEEDED',
        /Reached maximum budget/,
      ],
    ])('fails the run on %s, with its code in both answers', async (_case, result, code, error) => {
      const { runner, request } = await boot();
      const answer = request('POST', '/api/execute', {
        env: 'dev',
        prompt: 'answer',
        outputSchema: SCHEMA,
        maxBudgetUsd: 0.01,
      });
      const run = await runner.runAt(0);
      run.finish({ result });
      expect((await answer).json()).toMatchObject({ success: false, code });
      const record = await request('GET', `/api/executions/${run.request.runId}`);
      expect(record.json()).toMatchObject({
        status: 'failed',
        errorCode: code,
        structuredOutput: null,
      });
      expect(record.json<{ error: string }>().error).toMatch(error);
    });

    it.each([
      [
        'a string schema',
        { outputSchema: 'an object' },
        'outputSchema must be a JSON Schema object',
      ],
      ['an array schema', { outputSchema: [SCHEMA] }, 'outputSchema must be a JSON Schema object'],
      [
        'a schema of a string',
        { outputSchema: { type: 'string' } },
        'outputSchema must describe an object',
      ],
      [
        'a schema of 40 KB',
        { outputSchema: { type: 'object', description: 'x'.repeat(40_000) } },
        'outputSchema is 40034 bytes as JSON; the limit is 8192',
      ],
      ['a budget of 0', { maxBudgetUsd: 0 }, 'maxBudgetUsd must be a positive number'],
      ['a budget in a string', { maxBudgetUsd: '1' }, 'maxBudgetUsd must be a number'],
    ])('answers 400 for %s', async (_case, fields, detail) => {
      const { runner, request } = await boot();
      const reply = await request('POST', '/api/executions', {
        env: 'dev',
        prompt: 'answer',
        ...fields,
      });
      expect(reply.statusCode).toBe(400);
      expect(reply.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(reply.json<{ details: string[] }>().details.join('\n')).toContain(detail);
      expect(runner.runs).toHaveLength(0);
    });
  });
});
