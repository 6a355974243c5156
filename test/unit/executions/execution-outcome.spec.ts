import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { toEnd, toExecuteResponse } from '../../../src/executions/execution-outcome';
import { ExecutionRecord } from '../../../src/executions/executions.repository';
import { runOutcome } from '../../support/fake-run-executor';

const SESSION = '3f1c2a4e-8b7d-4c1e-9f00-0123456789ab';

function successResult(text: string): SDKResultMessage {
  return {
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: text,
    session_id: SESSION,
    total_cost_usd: 0.5,
    usage: { input_tokens: 3 },
    model_usage_since_last_result: {},
  } as unknown as SDKResultMessage;
}

const outcome = runOutcome;

describe('toEnd: how a run outcome is recorded', () => {
  it('records a success with its answer, cost, usage and the result as the json format prints it', () => {
    const end = toEnd(outcome({ result: successResult('hi'), output: 'hi' }));
    expect(end).toMatchObject({
      status: 'succeeded',
      result: 'hi',
      costUsd: 0.5,
      usage: { input_tokens: 3 },
      error: null,
    });
    const printed = JSON.parse(end.resultMessage ?? '{}') as Record<string, unknown>;
    expect(printed).toMatchObject({ result: 'hi', session_id: SESSION });
    expect(printed).not.toHaveProperty('model_usage_since_last_result');
  });

  it.each([
    [
      outcome({ end: 'timeout', exitCode: null }),
      undefined,
      'timed_out',
      'EXECUTION_TIMEOUT',
      /deadline/,
    ],
    [
      outcome({ end: 'output_limit', truncated: true }),
      undefined,
      'failed',
      'OUTPUT_LIMIT',
      /MAX_OUTPUT_BYTES/,
    ],
    [outcome({ end: 'cancelled' }), 'cancel', 'cancelled', 'CANCELLED', /cancelled/],
    [outcome({ end: 'cancelled' }), 'shutdown', 'interrupted', 'INTERRUPTED', /shut down/],
    [
      outcome({ result: { ...successResult('API Error: 500 boom'), is_error: true } }),
      undefined,
      'failed',
      'CLI_ERROR',
      /API Error: 500 boom/,
    ],
    [
      outcome({
        result: {
          type: 'result',
          subtype: 'error_max_turns',
          is_error: true,
          errors: ['ran out'],
        } as unknown as SDKResultMessage,
      }),
      undefined,
      'failed',
      'CLI_ERROR',
      /error_max_turns: ran out/,
    ],
    [
      outcome({ end: 'exited', exitCode: 1, stderrTail: 'Invalid API key' }),
      undefined,
      'failed',
      'CLI_EXITED',
      /Invalid API key/,
    ],
    [
      outcome({ end: 'exited', exitCode: 2 }),
      undefined,
      'failed',
      'CLI_EXITED',
      /exited with code 2/,
    ],
    // A tool killed by the limit may still let the CLI end with a result: the run failed.
    [
      outcome({ result: successResult('tool_result: Killed'), limit: 'memory' }),
      undefined,
      'failed',
      'MEMORY_LIMIT',
      /memory limit/,
    ],
    [outcome({ end: 'timeout', limit: 'pids' }), undefined, 'failed', 'PIDS_LIMIT', /pids limit/],
    [outcome({ end: 'exited', exitCode: 0, limit: 'tmp' }), undefined, 'failed', 'TMP_FULL', /tmp/],
    [outcome({ end: 'cancelled', limit: 'pids' }), 'cancel', 'cancelled', 'CANCELLED', /cancelled/],
  ] as const)('records a failed run (%#)', (runOutcome, reason, status, code, error) => {
    const end = toEnd(runOutcome, reason);
    expect(end.status).toBe(status);
    expect(end.errorCode).toBe(code);
    expect(end.error).toMatch(error);
  });
});

describe('toEnd: budgets and structured output', () => {
  const structured = (value: unknown) =>
    ({ ...successResult('{"answer":"42"}'), structured_output: value }) as SDKResultMessage;
  const errorResult = (subtype: string, error: string) =>
    ({ type: 'result', subtype, is_error: true, errors: [error] }) as unknown as SDKResultMessage;

  it('keeps the validated object of a run that asked for one', () => {
    const end = toEnd(outcome({ result: structured({ answer: '42' }) }), undefined, true);
    expect(end).toMatchObject({ status: 'succeeded', structuredOutput: { answer: '42' } });
    // Not asked for: nothing kept, even when a result carries one.
    expect(toEnd(outcome({ result: structured({ answer: '42' }) })).structuredOutput).toBeNull();
  });

  it.each([
    [
      'the answer tool was never called',
      outcome({ result: successResult('words') }),
      /outputSchema/,
    ],
    ['the object is not an object', outcome({ result: structured(['a']) }), /outputSchema/],
    [
      'the CLI gave up retrying',
      outcome({
        result: errorResult(
          'error_max_structured_output_retries',
          'Failed to provide valid structured output after 5 attempts',
        ),
      }),
      /error_max_structured_output_retries: Failed to provide valid structured output/,
    ],
  ])('fails STRUCTURED_OUTPUT_INVALID when %s', (_case, runOutcome, error) => {
    const end = toEnd(runOutcome, undefined, true);
    expect(end).toMatchObject({
      status: 'failed',
      errorCode: 'STRUCTURED_OUTPUT_INVALID',
      structuredOutput: null,
    });
    expect(end.error).toMatch(error);
  });

  it('fails BUDGET_EXCEEDED when the CLI stopped at maxBudgetUsd', () => {
    const end = toEnd(
      outcome({ result: errorResult('error_max_budget_usd', 'Reached maximum budget ($0.01)') }),
    );
    expect(end).toMatchObject({ status: 'failed', errorCode: 'BUDGET_EXCEEDED' });
    expect(end.error).toMatch(/Reached maximum budget \(\$0.01\)/);
  });
});

describe('toExecuteResponse: the desktop app shape of a finished run', () => {
  const record: ExecutionRecord = {
    id: 'e1',
    env: 'dev',
    sessionId: SESSION,
    status: 'succeeded',
    prompt: 'hello',
    request: { env: 'dev', prompt: 'hello' },
    createdAt: '2026-11-27T00:00:00.000Z',
    startedAt: '2026-11-27T00:00:00.100Z',
    finishedAt: '2026-11-27T00:00:01.250Z',
    exitCode: 0,
    result: 'hi',
    truncated: false,
    costUsd: 0.5,
    spentUsd: 0.5,
    usage: null,
    structuredOutput: null,
    resultMessage: '{"type":"result"}',
    error: null,
    errorCode: null,
    eventCount: 3,
    eventsDropped: 0,
  };

  it('keeps the plan fields and adds the new ones beside them', () => {
    expect(toExecuteResponse(record, true)).toEqual({
      success: true,
      output: 'hi',
      json_output: '{"type":"result"}',
      sessionId: SESSION,
      exitCode: 0,
      durationMs: 1250,
      truncated: false,
    });
    expect(toExecuteResponse(record, false)).not.toHaveProperty('json_output');
    expect(toExecuteResponse(record, false)).not.toHaveProperty('structuredOutput');
  });

  it('carries the validated object of a run that asked for one', () => {
    const structured = { ...record, structuredOutput: { answer: '42' } };
    expect(toExecuteResponse(structured, false)).toMatchObject({
      success: true,
      structuredOutput: { answer: '42' },
    });
  });

  it('reports a failure with success: false, a readable error and its code', () => {
    const failed = {
      ...record,
      status: 'timed_out' as const,
      result: null,
      error: 'too slow',
      errorCode: 'EXECUTION_TIMEOUT',
    };
    expect(toExecuteResponse(failed, false)).toMatchObject({
      success: false,
      error: 'too slow',
      code: 'EXECUTION_TIMEOUT',
    });
  });
});
