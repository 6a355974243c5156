import * as claudecode from '../../../examples/lifeos/claudecode';
import { installTauriGlobal, TauriInvoke } from '../../support/desktop-app-stub';
import { COLOR_QUESTION } from '../../support/questions';

/** An invoke that answers only the given commands, as the desktop's Rust would serialize them. */
function desktopAnswering(answers: Record<string, unknown>): jest.Mock<ReturnType<TauriInvoke>> {
  return jest.fn((command: string) =>
    command in answers
      ? Promise.resolve(answers[command])
      : Promise.reject(new Error(`unexpected command ${command}`)),
  );
}

describe('the LifeOS adapter in the desktop app (window.__TAURI__)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('passes camelCase arguments, which Tauri maps to the Rust snake_case parameters', async () => {
    const invoke = desktopAnswering({
      execute_claude_prompt: { success: true, output: 'hi\n', error: null, json_output: null },
    });
    uninstall = installTauriGlobal(invoke);

    await expect(claudecode.executePrompt('dev', 'hello')).resolves.toEqual({
      success: true,
      output: 'hi',
    });
    await claudecode.executePrompt('dev', 'again', { sessionId: 'abc', jsonOutput: false });
    expect(invoke.mock.calls).toEqual([
      [
        'execute_claude_prompt',
        { env: 'dev', prompt: 'hello', jsonOutput: false, sessionId: null },
      ],
      [
        'execute_claude_prompt',
        { env: 'dev', prompt: 'again', jsonOutput: false, sessionId: 'abc' },
      ],
    ]);
  });

  it("answers with the result's text and keeps json_output only when asked for it", async () => {
    const printed = JSON.stringify({ type: 'result', result: 'the answer', session_id: 's' });
    uninstall = installTauriGlobal(
      desktopAnswering({
        execute_claude_prompt: {
          success: true,
          output: printed,
          error: null,
          json_output: printed,
        },
      }),
    );
    await expect(claudecode.executePrompt('dev', 'q', { jsonOutput: true })).resolves.toEqual({
      success: true,
      output: 'the answer',
      json_output: printed,
    });

    const messages: claudecode.ClaudeCodeMessage[] = [];
    const streamed = await claudecode.streamExecution('dev', 'q', (m) => messages.push(m));
    expect(streamed).toEqual({ success: true, output: 'the answer' });
    expect(messages).toEqual([JSON.parse(printed)]);
  });

  it('returns a failed prompt as a result, and a failed command as a ClaudeCodeError', async () => {
    uninstall = installTauriGlobal(
      jest.fn((command: string) =>
        command === 'execute_claude_prompt'
          ? Promise.resolve({ success: false, output: null, error: 'boom', json_output: null })
          : // Tauri rejects with the command's Err(String), not an Error.
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
            Promise.reject('Failed to start container: no such container'),
      ),
    );
    await expect(claudecode.executePrompt('dev', 'q')).resolves.toEqual({
      success: false,
      error: 'boom',
    });
    await expect(claudecode.startContainer('dev')).rejects.toEqual(
      new claudecode.ClaudeCodeError('Failed to start container: no such container'),
    );
  });

  it("turns the desktop's Unix-seconds times into ISO times, newest first", async () => {
    uninstall = installTauriGlobal(
      desktopAnswering({
        list_claude_sessions: [
          {
            id: 'a',
            environment: 'dev',
            title: 'A',
            created_at: '1700000000',
            updated_at: '1700000000',
          },
          {
            id: 'b',
            environment: 'dev',
            title: 'B',
            created_at: '1700000000',
            updated_at: '1800000000',
          },
        ],
      }),
    );
    await expect(claudecode.listSessions('dev')).resolves.toEqual([
      {
        id: 'b',
        environment: 'dev',
        title: 'B',
        created_at: '2023-11-14T22:13:20.000Z',
        updated_at: '2027-01-15T08:00:00.000Z',
      },
      {
        id: 'a',
        environment: 'dev',
        title: 'A',
        created_at: '2023-11-14T22:13:20.000Z',
        updated_at: '2023-11-14T22:13:20.000Z',
      },
    ]);
  });

  it("also finds Tauri 1's global invoke", async () => {
    const invoke = desktopAnswering({
      get_container_status: { exists: true, running: false, name: 'claude-agent-dev' },
    });
    const global = globalThis as { __TAURI__?: unknown };
    global.__TAURI__ = { invoke };
    uninstall = () => delete global.__TAURI__;
    await expect(claudecode.getContainerStatus('dev')).resolves.toEqual({
      name: 'claude-agent-dev',
      exists: true,
      running: false,
    });
  });
});

const BASE_URL = 'http://127.0.0.1:9';

/**
 * claudecode-api behind `fetch`, for one run (`run-1`) that asks one approval and one question:
 * its stream ends once both are answered. Answers are recorded and get `answerStatus`.
 */
function serviceStub(answerStatus = 200) {
  const answers: { path: string; body: unknown }[] = [];
  const stub = {
    submitted: undefined as unknown,
    answers,
    fetch: undefined as unknown as typeof fetch,
  };
  const encoder = new TextEncoder();
  let events!: ReadableStreamDefaultController<Uint8Array>;
  const send = (id: number, type: string, data: object) =>
    events.enqueue(encoder.encode(`id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`));
  const json = (status: number, body: object) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  stub.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const { pathname } = new URL(request.url);
    if (request.method === 'POST' && pathname === '/api/executions') {
      stub.submitted = await request.json();
      return json(202, { id: 'run-1', status: 'queued' });
    }
    if (pathname === '/api/executions/run-1/events') {
      const body = new ReadableStream<Uint8Array>({ start: (c) => (events = c) });
      send(1, 'approval_request', { requestId: 'req-a', tool: 'Bash', input: { command: 'ls' } });
      send(2, 'question_request', {
        requestId: 'req-q',
        questions: [COLOR_QUESTION],
      });
      return new Response(body, { status: 200 });
    }
    if (request.method === 'POST' && pathname.endsWith('/fork')) {
      answers.push({ path: pathname, body: await request.json() });
      return json(201, { id: 'forked-1', forkedFrom: { sessionId: 'parent-1' } });
    }
    if (request.method === 'POST') {
      answers.push({ path: pathname, body: await request.json() });
      if (answerStatus !== 200) {
        return json(answerStatus, {
          code: 'QUESTION_ANSWERED',
          message: 'too late',
          statusCode: 409,
        });
      }
      if (answers.length === 2) {
        send(3, 'result', { type: 'result', subtype: 'success', result: 'done' });
        events.enqueue(encoder.encode(`event: end\ndata: {"id":"run-1"}\n\n`));
      }
      return json(200, {});
    }
    return json(200, { id: 'run-1', status: 'succeeded', result: 'done', error: null });
  };
  return stub;
}

describe('the LifeOS adapter on the web', () => {
  it('reports a service it cannot reach as a ClaudeCodeError', async () => {
    claudecode.configureClaudeCode({
      baseUrl: 'http://127.0.0.1:9',
      token: 'token',
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    await expect(claudecode.getContainerStatus('dev')).rejects.toEqual(
      new claudecode.ClaudeCodeError('getContainerStatus failed: fetch failed'),
    );
  });

  it('asks onApproval and onQuestion for what the run waits on, and posts their answers', async () => {
    const service = serviceStub();
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    const result = await claudecode.streamExecution('dev', 'go', () => undefined, {
      onApproval: (ask) => ({ decision: ask.tool === 'Bash' ? 'allow' : 'deny', scope: 'session' }),
      onQuestion: (ask) => ({ answers: [{ selected: [ask.questions[0].options[1].label] }] }),
    });
    expect(result).toEqual({ success: true, output: 'done' });
    expect(service.submitted).toMatchObject({ env: 'dev', prompt: 'go', approvals: true });
    expect(service.answers).toEqual([
      {
        path: '/api/executions/run-1/approvals/req-a',
        body: { decision: 'allow', scope: 'session' },
      },
      {
        path: '/api/executions/run-1/questions/req-q',
        body: { answers: [{ selected: ['Blue'] }] },
      },
    ]);
  });

  it('answers outside the handlers on the web, and refuses to in the desktop app', async () => {
    const service = serviceStub(409);
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    await expect(
      claudecode.answerQuestion('run-1', 'req-q', { answers: [{ text: 'any' }] }),
    ).rejects.toMatchObject({ code: 'QUESTION_ANSWERED', status: 409 });

    const uninstall = installTauriGlobal(desktopAnswering({}));
    try {
      await expect(
        claudecode.answerApproval('run-1', 'req-a', { decision: 'allow' }),
      ).rejects.toThrow(/desktop app has no such command/);
      await expect(claudecode.forkSession('dev', 'parent-1')).rejects.toThrow(
        /forkSession needs claudecode-api/,
      );
    } finally {
      uninstall();
    }
  });

  it('forks a thread on the web, up to a message, and returns the new id', async () => {
    const service = serviceStub();
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    await expect(
      claudecode.forkSession('dev', 'parent-1', { upToMessageId: 'message-3', title: 'Branch' }),
    ).resolves.toBe('forked-1');
    expect(service.answers).toEqual([
      {
        path: '/api/sessions/dev/parent-1/fork',
        body: { upToMessageId: 'message-3', title: 'Branch' },
      },
    ]);
  });

  it('refuses to guess where the service is', async () => {
    // This module instance was never configured.
    await jest.isolateModulesAsync(async () => {
      const fresh = await import('../../../examples/lifeos/claudecode');
      await expect(fresh.getContainerStatus('dev')).rejects.toThrow(/configureClaudeCode/);
    });
  });
});
