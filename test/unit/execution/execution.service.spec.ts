import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { loadConfig } from '../../../src/common/config/load-config';
import { ApiError } from '../../../src/common/errors/api-error';
import { ContainersService } from '../../../src/containers/containers.service';
import { EnvironmentPipe } from '../../../src/containers/environment.pipe';
import { ExecutionService } from '../../../src/execution/execution.service';
import { RunExecutor, RunOutcome, RunRequest } from '../../../src/execution/run-executor';
import { cutUtf8 } from '../../../src/execution/sdk-run-executor';
import { RunRegistry } from '../../../src/sessions/run-registry';
import { SessionsService } from '../../../src/sessions/sessions.service';
import { strictMock } from '../../support/strict-mock';

const config = loadConfig({
  API_TOKEN: 'e'.repeat(32),
  MAX_PROMPT_BYTES: '10',
  EXECUTION_TIMEOUT_MS: '60000',
});
const SESSION = '3f1c2a4e-8b7d-4c1e-9f00-0123456789ab';

function successResult(text: string): SDKResultMessage {
  return {
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: text,
    session_id: SESSION,
  } as SDKResultMessage;
}

function outcome(overrides: Partial<RunOutcome>): RunOutcome {
  return {
    end: 'result',
    result: null,
    output: '',
    truncated: false,
    exitCode: 0,
    stderrTail: '',
    ...overrides,
  };
}

function serviceWith(run: (request: RunRequest) => Promise<RunOutcome>) {
  const executor = strictMock<RunExecutor>('RunExecutor', { run: jest.fn(run) });
  const containers = strictMock<ContainersService>('ContainersService', {
    ensureRunning: jest.fn((env: string) => Promise.resolve(`claude-agent-${env}`)),
  });
  const sessions = strictMock<SessionsService>('SessionsService', {
    prepareRun: jest.fn((_env: string, sessionId?: string) =>
      Promise.resolve({ sessionId: sessionId ?? SESSION, resume: true }),
    ),
  });
  const registry = new RunRegistry();
  const service = new ExecutionService(
    config,
    new EnvironmentPipe(config),
    containers,
    sessions,
    registry,
    executor,
  );
  return { service, executor, sessions, registry };
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('ExecutionService', () => {
  it('maps a successful run to the desktop shape and resumes a known session', async () => {
    const { service, executor } = serviceWith(() =>
      Promise.resolve(outcome({ result: successResult('hi'), output: 'hi' })),
    );
    const response = await service.execute({
      env: 'dev',
      prompt: 'hello',
      sessionId: SESSION,
      jsonOutput: true,
    });
    expect(response).toMatchObject({
      success: true,
      output: 'hi',
      sessionId: SESSION,
      exitCode: 0,
      truncated: false,
    });
    expect(JSON.parse(response.json_output ?? '')).toMatchObject({
      result: 'hi',
      session_id: SESSION,
    });
    expect(executor.run).toHaveBeenCalledWith(
      expect.objectContaining({
        containerName: 'claude-agent-dev',
        resume: true,
        sessionId: SESSION,
      }),
    );
  });

  it('starts a new session with a fresh id when none is given, without asking the store', async () => {
    const { service, executor, sessions } = serviceWith(() =>
      Promise.resolve(outcome({ result: successResult('x') })),
    );
    const response = await service.execute({ env: 'dev', prompt: 'new' });
    expect(response.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sessions.prepareRun).not.toHaveBeenCalled();
    expect(executor.run).toHaveBeenCalledWith(expect.objectContaining({ resume: false }));
  });

  it('lowers the deadline to timeoutMs but never raises it', async () => {
    const { service, executor } = serviceWith(() =>
      Promise.resolve(outcome({ result: successResult('x') })),
    );
    await service.execute({ env: 'dev', prompt: 'a', timeoutMs: 5000 });
    await service.execute({ env: 'dev', prompt: 'b', timeoutMs: 10_000_000 });
    expect(executor.run.mock.calls.map(([request]) => request.deadlineMs)).toEqual([5000, 60000]);
  });

  it.each([
    [outcome({ end: 'timeout', exitCode: null }), 'EXECUTION_TIMEOUT', /deadline/],
    [outcome({ end: 'output_limit', truncated: true }), 'OUTPUT_LIMIT', /MAX_OUTPUT_BYTES/],
    [
      outcome({ result: { ...successResult('API Error: 500 boom'), is_error: true } }),
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
      'CLI_ERROR',
      /error_max_turns: ran out/,
    ],
    [
      outcome({ end: 'exited', exitCode: 1, stderrTail: 'Invalid API key' }),
      'CLI_EXITED',
      /Invalid API key/,
    ],
    [outcome({ end: 'exited', exitCode: 2 }), 'CLI_EXITED', /exited with code 2/],
  ])('answers a failed run with success: false (%#)', async (runOutcome, code, error) => {
    const { service } = serviceWith(() => Promise.resolve(runOutcome));
    const response = await service.execute({ env: 'dev', prompt: 'x' });
    expect(response.success).toBe(false);
    expect(response.code).toBe(code);
    expect(response.error).toMatch(error);
  });

  it('rejects a prompt over MAX_PROMPT_BYTES (counted in UTF-8 bytes) with 413 before running', async () => {
    const { service, executor } = serviceWith(() => Promise.reject(new Error('must not run')));
    const error = await rejection(service.execute({ env: 'dev', prompt: 'ééééé é' }));
    expect(error.statusCode).toBe(413);
    expect(error.code).toBe('PROMPT_TOO_LARGE');
    expect(executor.run).not.toHaveBeenCalled();
  });

  it('refuses a second run on a busy session and frees it afterwards, even after a failure', async () => {
    let finish: (value: RunOutcome) => void = () => undefined;
    const { service, registry } = serviceWith(() => new Promise((resolve) => (finish = resolve)));
    const first = service.execute({ env: 'dev', prompt: 'one', sessionId: SESSION });
    await new Promise((resolve) => setImmediate(resolve));
    expect(registry.isSessionRunning('dev', SESSION)).toBe(true);
    const busy = await rejection(
      service.execute({ env: 'dev', prompt: 'two', sessionId: SESSION }),
    );
    expect(busy.code).toBe('SESSION_BUSY');
    finish(outcome({ result: successResult('done') }));
    await first;
    expect(registry.isSessionRunning('dev', SESSION)).toBe(false);

    const failing = serviceWith(() => Promise.reject(new Error('docker vanished')));
    await expect(
      failing.service.execute({ env: 'dev', prompt: 'x', sessionId: SESSION }),
    ).rejects.toThrow();
    expect(failing.registry.isSessionRunning('dev', SESSION)).toBe(false);
    expect(failing.registry.runningCount('dev')).toBe(0);
  });

  it('rejects an unknown environment with 404 ENV_NOT_FOUND', async () => {
    const { service } = serviceWith(() => Promise.reject(new Error('must not run')));
    expect((await rejection(service.execute({ env: 'qa', prompt: 'x' }))).code).toBe(
      'ENV_NOT_FOUND',
    );
  });
});

describe('cutUtf8', () => {
  it('never splits a character', () => {
    expect(cutUtf8('aé€😀', 4)).toEqual({ output: 'aé', truncated: true });
    expect(cutUtf8('aé€😀', 6)).toEqual({ output: 'aé€', truncated: true });
    expect(cutUtf8('short', 10)).toEqual({ output: 'short', truncated: false });
  });
});
