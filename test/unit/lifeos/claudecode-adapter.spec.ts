import * as claudecode from '../../../examples/lifeos/claudecode';
import {
  desktopOverRecordingDocker,
  DockerOutcome,
  installTauriGlobal,
  TauriInvoke,
} from '../../support/desktop-app-stub';
import { COLOR_QUESTION } from '../../support/questions';
import { setViteEnv } from '../../support/vite-env';

/** An invoke that answers only the given commands, as the desktop's Rust would serialize them. */
function desktopAnswering(answers: Record<string, unknown>): jest.Mock<ReturnType<TauriInvoke>> {
  return jest.fn((command: string) =>
    command in answers
      ? Promise.resolve(answers[command])
      : Promise.reject(new Error(`unexpected command ${command}`)),
  );
}

/** The desktop app stub over a recording Docker CLI, its invoke watched. */
function desktopOverFakeDocker(answer?: (args: string[]) => Partial<DockerOutcome>) {
  const { invoke, dockerCalls } = desktopOverRecordingDocker(answer);
  return { invoke: jest.fn(invoke), dockerCalls };
}

/** Swallowed failures, as the adapter reports them. */
const reported: { action: string; error: unknown }[] = [];
claudecode.reportClaudeCodeErrorsTo((action, error) => reported.push({ action, error }));
afterEach(() => {
  reported.length = 0;
});

describe('the LifeOS adapter in the desktop app (window.__TAURI__)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('invokes all ten commands with arguments Tauri accepts, positional as LifeOS calls them', async () => {
    const { invoke, dockerCalls } = desktopOverFakeDocker((args) =>
      args[0] === 'ps' && args.includes('{{.Status}}') ? { stdout: 'Up 2 seconds\n' } : {},
    );
    uninstall = installTauriGlobal(invoke);

    expect(await claudecode.checkDockerAvailable()).toBe(true);
    expect(await claudecode.getContainerStatus('dev')).toEqual({
      exists: true,
      running: true,
      name: 'claude-agent-dev',
    });
    await claudecode.startContainer('dev');
    await claudecode.stopContainer('dev');
    // The stub checks the file exists, as the Rust does; any file will do.
    await claudecode.createContainer('dev', __filename);
    await claudecode.removeContainer('dev');
    const sessionId = await claudecode.createSession('dev');
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await claudecode.executePrompt('dev', 'first', false, sessionId!)).toMatchObject({
      success: true,
    });
    expect(await claudecode.executePrompt('dev', 'fresh')).toMatchObject({ success: true });
    expect(await claudecode.listSessions('dev')).toEqual([]);
    expect(await claudecode.deleteSession('dev', sessionId!)).toBe(true);

    expect(reported).toEqual([]);
    expect(new Set(invoke.mock.calls.map(([command]) => command))).toEqual(
      new Set(Object.values(claudecode.TAURI_COMMANDS)),
    );
    const claudeRuns = dockerCalls.filter((args) => args.includes('claude'));
    // The session id reached the Rust's `session_id`: the prompt resumes it.
    expect(claudeRuns[1]).toEqual(expect.arrayContaining(['--resume', sessionId!, '-p', 'first']));
    expect(claudeRuns[2]).not.toContain('--resume');
    expect(dockerCalls).toContainEqual(
      expect.arrayContaining([`${__filename}:/home/node/.mcp.json:ro`]),
    );
    expect(dockerCalls.at(-1)!.join(' ')).toContain(`-name '${sessionId}.jsonl'`);
  });

  it('keeps the original fallbacks when a command fails, and reports each failure', async () => {
    const { invoke } = desktopOverFakeDocker(() => ({ ok: false, stderr: 'engine down' }));
    uninstall = installTauriGlobal(invoke);

    expect(await claudecode.checkDockerAvailable()).toBe(false);
    expect(await claudecode.createSession('dev')).toBeNull();
    expect(await claudecode.deleteSession('dev', 'abc')).toBe(false);
    expect(await claudecode.executePrompt('dev', 'hi', true, 'abc')).toEqual({
      success: false,
      error: 'engine down',
    });
    await expect(claudecode.startContainer('dev')).rejects.toEqual(
      new claudecode.ClaudeCodeError('Failed to start container: engine down'),
    );
    expect(reported.map(({ action }) => action)).toEqual([
      'create Claude session',
      'delete Claude session',
    ]);

    uninstall();
    uninstall = installTauriGlobal(desktopAnswering({}));
    expect(await claudecode.getContainerStatus('dev')).toEqual({
      exists: false,
      running: false,
      name: 'claude-agent-dev',
    });
    expect(await claudecode.listSessions('dev')).toEqual([]);
    expect(await claudecode.executePrompt('dev', 'hi')).toEqual({
      success: false,
      error: 'unexpected command execute_claude_prompt',
    });
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
    await expect(claudecode.executePrompt('dev', 'q', true)).resolves.toEqual({
      success: true,
      output: 'the answer',
      json_output: printed,
    });

    const messages: claudecode.ClaudeCodeMessage[] = [];
    const streamed = await claudecode.streamExecution('dev', 'q', (m) => messages.push(m));
    expect(streamed).toEqual({ success: true, output: 'the answer' });
    expect(messages).toEqual([JSON.parse(printed)]);
  });

  it("turns the desktop's Unix-seconds times into Dates, newest first", async () => {
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
        createdAt: new Date('2023-11-14T22:13:20.000Z'),
        updatedAt: new Date('2027-01-15T08:00:00.000Z'),
        messageCount: 0,
      },
      {
        id: 'a',
        environment: 'dev',
        title: 'A',
        createdAt: new Date('2023-11-14T22:13:20.000Z'),
        updatedAt: new Date('2023-11-14T22:13:20.000Z'),
        messageCount: 0,
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

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

interface SeenRequest {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
}

/** claudecode-api behind `fetch`: `answer` replies to each request, which is recorded. */
function fakeService(answer: (seen: SeenRequest) => Response) {
  const seen: SeenRequest[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const text = await request.text();
    const request_: SeenRequest = {
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get('authorization'),
      body: text ? JSON.parse(text) : undefined,
    };
    seen.push(request_);
    return answer(request_);
  };
  return { fetch: jest.fn(fetch), seen };
}

const notFound = () => json(404, { code: 'NOT_FOUND', message: 'no route', statusCode: 404 });

describe('the LifeOS adapter on the web', () => {
  afterEach(() => {
    claudecode.configureClaudeCode(undefined);
    jest.restoreAllMocks();
  });

  it('calls the service with the positional arguments LifeOS passes', async () => {
    const service = fakeService(({ path }) =>
      path === '/api/execute'
        ? json(200, { success: true, output: 'hi', error: null })
        : notFound(),
    );
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    await expect(claudecode.executePrompt('dev', 'hello', true, 'session-1')).resolves.toEqual({
      success: true,
      output: 'hi',
    });
    expect(service.seen).toEqual([
      {
        method: 'POST',
        path: '/api/execute',
        authorization: 'Bearer token',
        body: { env: 'dev', prompt: 'hello', jsonOutput: true, sessionId: 'session-1' },
      },
    ]);
  });

  it('lists threads with Dates and message counts, newest first, over every page', async () => {
    const session = (id: string, updatedAt: string, messageCount: number) => ({
      id,
      title: null,
      createdAt: '2026-11-01T10:00:00.000Z',
      updatedAt,
      messageCount,
      sizeBytes: 1,
      status: 'idle',
    });
    const service = fakeService(({ path }) => {
      if (path !== '/api/sessions/dev') return notFound();
      return service.seen.length === 1
        ? json(200, {
            items: [session('aaaaaaaa-1', '2026-11-02T00:00:00.000Z', 4)],
            nextCursor: 'next',
          })
        : json(200, {
            items: [session('bbbbbbbb-2', '2026-11-03T00:00:00.000Z', 2)],
            nextCursor: null,
          });
    });
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    const threads = await claudecode.listSessions('dev');
    expect(threads).toEqual([
      {
        id: 'bbbbbbbb-2',
        environment: 'dev',
        title: 'Thread bbbbbbbb',
        createdAt: new Date('2026-11-01T10:00:00.000Z'),
        updatedAt: new Date('2026-11-03T00:00:00.000Z'),
        messageCount: 2,
      },
      {
        id: 'aaaaaaaa-1',
        environment: 'dev',
        title: 'Thread aaaaaaaa',
        createdAt: new Date('2026-11-01T10:00:00.000Z'),
        updatedAt: new Date('2026-11-02T00:00:00.000Z'),
        messageCount: 4,
      },
    ]);
  });

  it('reads the newest MAX_LISTED_SESSIONS sessions, not every page of a large environment', async () => {
    const pageOf = (page: number) =>
      Array.from({ length: 100 }, (_, index) => ({
        id: `${page}-${index}`,
        title: 'a thread',
        createdAt: '2026-11-01T10:00:00.000Z',
        updatedAt: new Date(Date.UTC(2026, 10, 2) - (page * 100 + index) * 1000).toISOString(),
        messageCount: 1,
        sizeBytes: 1,
        status: 'idle',
      }));
    // Eight pages of 100.
    const service = fakeService(() => {
      const page = service.seen.length - 1;
      return json(200, { items: pageOf(page), nextCursor: page < 7 ? 'more' : null });
    });
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    const threads = await claudecode.listSessions('dev');
    expect(threads).toHaveLength(claudecode.MAX_LISTED_SESSIONS);
    expect(service.seen).toHaveLength(claudecode.MAX_LISTED_SESSIONS / 100);
    expect(threads[0].id).toBe('0-0');
  });

  it('creates and removes containers through their routes, and rejects what the service refuses', async () => {
    const service = fakeService(({ method }) =>
      method === 'POST'
        ? json(409, {
            code: 'CONTAINER_EXISTS',
            message: 'already exists: start it, or remove it first',
            statusCode: 409,
          })
        : json(200, { name: 'claude-agent-dev', exists: false, running: false }),
    );
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    await expect(claudecode.createContainer('dev', '/ignored/.mcp.json')).rejects.toMatchObject({
      name: 'ClaudeCodeError',
      code: 'CONTAINER_EXISTS',
      status: 409,
    });
    await claudecode.removeContainer('dev');
    expect(service.seen.map(({ method, path, body }) => [method, path, body])).toEqual([
      ['POST', '/api/containers/dev', undefined],
      ['DELETE', '/api/containers/dev', undefined],
    ]);
  });

  it("checks Docker through the service's readiness route, without a token and without throwing", async () => {
    let ready = true;
    const service = fakeService(({ path }) => {
      if (path !== '/health/ready') return notFound();
      return ready
        ? json(200, { status: 'ok', docker: 'ok' })
        : json(503, { code: 'DOCKER_UNAVAILABLE', message: 'down', statusCode: 503 });
    });
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    expect(await claudecode.checkDockerAvailable()).toBe(true);
    ready = false;
    expect(await claudecode.checkDockerAvailable()).toBe(false);
    expect(service.seen.map(({ authorization }) => authorization)).toEqual([null, null]);

    claudecode.configureClaudeCode({
      baseUrl: BASE_URL,
      token: 'token',
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    expect(await claudecode.checkDockerAvailable()).toBe(false);
  });

  it('keeps the fallbacks when the service cannot be reached, and reports each failure', async () => {
    claudecode.configureClaudeCode({
      baseUrl: BASE_URL,
      token: 'token',
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    expect(await claudecode.getContainerStatus('dev')).toEqual({
      exists: false,
      running: false,
      name: 'claude-agent-dev',
    });
    expect(await claudecode.executePrompt('dev', 'hi')).toEqual({
      success: false,
      error: 'executePrompt failed: fetch failed',
    });
    expect(await claudecode.createSession('dev')).toBeNull();
    expect(await claudecode.listSessions('dev')).toEqual([]);
    expect(await claudecode.deleteSession('dev', 'abc')).toBe(false);
    await expect(claudecode.startContainer('dev')).rejects.toEqual(
      new claudecode.ClaudeCodeError('startContainer failed: fetch failed'),
    );
    expect(reported.map(({ action }) => action)).toEqual([
      'get container status',
      'execute Claude prompt',
      'create Claude session',
      'list Claude sessions',
      'delete Claude session',
    ]);
  });

  it('reads VITE_CLAUDECODE_API_URL and VITE_CLAUDECODE_API_TOKEN (local development)', async () => {
    const service = fakeService(() =>
      json(200, { name: 'claude-agent-dev', exists: true, running: true }),
    );
    jest.spyOn(globalThis, 'fetch').mockImplementation(service.fetch);
    const unset = setViteEnv({
      VITE_CLAUDECODE_API_URL: 'https://claudecode.test',
      VITE_CLAUDECODE_API_TOKEN: 'dev-master-token',
    });
    try {
      await claudecode.startContainer('dev');
    } finally {
      unset();
    }
    expect(service.seen).toMatchObject([
      { path: '/api/containers/dev/start', authorization: 'Bearer dev-master-token' },
    ]);
  });

  it('gets short-lived tokens from VITE_CLAUDECODE_TOKEN_URL, again before they expire or once refused', async () => {
    let now = Date.parse('2026-12-01T12:00:00.000Z');
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    let issued = 0;
    let refuseNext = false;
    const service = fakeService(({ path, method }) => {
      if (path === '/api/claudecode-token' && method === 'POST') {
        issued += 1;
        return json(200, {
          token: `scoped-${issued}`,
          expiresAt: new Date(now + 15 * 60_000).toISOString(),
        });
      }
      if (refuseNext) {
        refuseNext = false;
        return json(401, { code: 'UNAUTHORIZED', message: 'revoked', statusCode: 401 });
      }
      return json(200, { name: 'claude-agent-dev', exists: true, running: true });
    });
    jest.spyOn(globalThis, 'fetch').mockImplementation(service.fetch);
    const unset = setViteEnv({
      VITE_CLAUDECODE_API_URL: 'https://claudecode.test',
      VITE_CLAUDECODE_TOKEN_URL: 'https://lifeos.test/api/claudecode-token',
    });
    const bearerOfStatusCalls = () =>
      service.seen
        .filter(({ path }) => path === '/api/containers/dev')
        .map(({ authorization }) => authorization);
    try {
      await claudecode.getContainerStatus('dev');
      await claudecode.getContainerStatus('dev');
      expect(bearerOfStatusCalls()).toEqual(['Bearer scoped-1', 'Bearer scoped-1']);

      // Half a minute before it expires, the token is replaced.
      now += 14 * 60_000 + 30_000;
      await claudecode.getContainerStatus('dev');
      // A refused token (revoked) is replaced and the request sent once more.
      refuseNext = true;
      await expect(claudecode.getContainerStatus('dev')).resolves.toMatchObject({ exists: true });
    } finally {
      unset();
    }
    expect(bearerOfStatusCalls()).toEqual([
      'Bearer scoped-1',
      'Bearer scoped-1',
      'Bearer scoped-2',
      'Bearer scoped-2',
      'Bearer scoped-3',
    ]);
    expect(reported).toEqual([]);
  });

  it('uses a one-minute token for three quarters of its life', async () => {
    let now = Date.parse('2026-12-01T12:00:00.000Z');
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const source = jest.fn(() =>
      Promise.resolve({ token: 'short', expiresAt: new Date(now + 60_000).toISOString() }),
    );
    const service = fakeService(() =>
      json(200, { name: 'claude-agent-dev', exists: true, running: true }),
    );
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: source, fetch: service.fetch });
    await claudecode.getContainerStatus('dev');
    now += 40_000;
    await claudecode.getContainerStatus('dev');
    expect(source).toHaveBeenCalledTimes(1);
    now += 10_000;
    await claudecode.getContainerStatus('dev');
    expect(source).toHaveBeenCalledTimes(2);
  });

  it('says which variable is missing rather than guess where the service is', async () => {
    await expect(claudecode.startContainer('dev')).rejects.toThrow(/VITE_CLAUDECODE_API_URL/);
    const unset = setViteEnv({ VITE_CLAUDECODE_API_URL: 'https://claudecode.test' });
    try {
      await expect(claudecode.startContainer('dev')).rejects.toThrow(/VITE_CLAUDECODE_TOKEN_URL/);
    } finally {
      unset();
    }
  });
});

describe('the LifeOS adapter on the web: approvals and forks', () => {
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

  it("reads the environment's MCP servers on the web, and says the desktop app has none to read", async () => {
    const servers = [
      { name: 'lifeos', type: 'stdio', status: 'connected', tools: [{ name: 'get_projects' }] },
      { name: 'search', type: 'http', status: 'failed', error: 'Connection closed', tools: [] },
    ];
    const service = fakeService(({ method, path }) =>
      method === 'GET' && path === '/api/containers/dev/mcp'
        ? json(200, { env: 'dev', servers })
        : json(409, { code: 'CONTAINER_NOT_RUNNING', message: 'stopped', statusCode: 409 }),
    );
    claudecode.configureClaudeCode({ baseUrl: BASE_URL, token: 'token', fetch: service.fetch });
    await expect(claudecode.getMCPServers('dev')).resolves.toEqual(servers);
    await expect(claudecode.getMCPServers('prod')).rejects.toMatchObject({
      code: 'CONTAINER_NOT_RUNNING',
      status: 409,
    });

    const uninstall = installTauriGlobal(desktopAnswering({}));
    try {
      await expect(claudecode.getMCPServers('dev')).rejects.toThrow(
        /getMCPServers needs claudecode-api/,
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
});
