import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { SessionsService } from '../../src/sessions/sessions.service';
import { removeDockerObjects } from '../support/docker-cli';
import { FakeAnthropic, startFakeAnthropic } from '../support/fake-anthropic';
import { envParams, startTestApp, TestApp } from '../support/test-app';

const DIR = '/home/node/.claude/projects/-workspace';
const TORN = '11111111-2222-4333-8444-555555555555';
const OLDER = '22222222-2222-4333-8444-555555555555';
const transcript = readFileSync(join(__dirname, '..', 'fixtures', 'transcript.jsonl'));
const olderTranscript = `${JSON.stringify({
  type: 'user',
  message: { role: 'user', content: 'An older question' },
  timestamp: '2026-01-01T00:00:00.000Z',
})}\n${JSON.stringify({
  type: 'assistant',
  message: { role: 'assistant', content: [{ type: 'text', text: 'An older answer' }] },
  timestamp: '2026-01-01T00:00:01.000Z',
})}\n`;

/** A session's path parameters. */
const session = (env: string, id: string) => ({ params: { path: { env, id } } });

/** The paging query of the list and detail routes. */
interface PageQuery {
  limit?: number;
  cursor?: string;
}

describe('sessions (real engine)', () => {
  let t: TestApp;
  let container: string;
  let reserved: string;

  beforeAll(async () => {
    t = await startTestApp({ ENVIRONMENTS: 'dev,staging' });
    container = `${t.config.agent.containerPrefix}dev`;
  });

  afterAll(async () => {
    await t.close();
    removeDockerObjects(t.config.agent.containerPrefix);
  });

  async function list(env = 'dev', query: PageQuery = {}) {
    const res = await t.client.GET('/api/sessions/{env}', { params: { path: { env }, query } });
    expect(res.response.status).toBe(200);
    if (!res.data) throw new Error('no session list');
    return res.data;
  }

  /** Writes a file as the CLI's user, with the mtime given (so the order is known). */
  async function writeFile(path: string, content: string | Buffer, mtime: string): Promise<void> {
    const script = 'mkdir -p "$(dirname "$1")" && cat > "$1" && touch -d "$2" "$1"';
    const result = await t.docker.exec(container, {
      cmd: ['sh', '-c', script, 'write', path, mtime],
      stdin: content,
    });
    expect(result).toMatchObject({ exitCode: 0 });
  }

  async function exists(path: string): Promise<boolean> {
    return (await t.docker.exec(container, { cmd: ['test', '-e', path] })).exitCode === 0;
  }

  it('reserves a session and lists it as new while the container does not even exist', async () => {
    const res = await t.client.POST('/api/sessions', {
      body: { env: 'dev', title: 'Reserved work' },
    });
    expect(res.response.status).toBe(201);
    const body = res.data;
    if (!body) throw new Error(`reservation failed: ${JSON.stringify(res.error)}`);
    reserved = body.sessionId;
    expect(reserved).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(await list()).toEqual({
      items: [
        {
          id: reserved,
          title: 'Reserved work',
          createdAt: body.createdAt,
          updatedAt: body.createdAt,
          messageCount: 0,
          sizeBytes: 0,
          status: 'new',
        },
      ],
      nextCursor: null,
    });
  });

  it('lists transcripts on disk with their title, message count and size', async () => {
    expect(
      (await t.client.POST('/api/containers/{env}/start', envParams('dev'))).data,
    ).toMatchObject({ running: true });
    await writeFile(`${DIR}/${TORN}.jsonl`, transcript, '2026-11-26 10:00:00');
    await writeFile(`${DIR}/${OLDER}.jsonl`, olderTranscript, '2026-01-01 00:00:02');
    await writeFile(
      `${DIR}/${TORN}/subagents/agent-a1.jsonl`,
      olderTranscript,
      '2026-11-26 10:00:00',
    );
    await writeFile(`${DIR}/memory/notes.md`, 'not a session', '2026-11-26 10:00:00');

    const { items, nextCursor } = await list();
    expect(nextCursor).toBeNull();
    expect(items.map((item) => item.id)).toEqual([reserved, TORN, OLDER]);
    expect(items[1]).toEqual({
      id: TORN,
      title: 'Please run a tool: list the files in the workspace and then tell me what you…',
      createdAt: '2026-11-27T01:14:58.300Z',
      updatedAt: '2026-11-26T10:00:00.000Z',
      messageCount: 5,
      sizeBytes: transcript.length,
      status: 'idle',
    });
    expect(items[2]).toMatchObject({ title: 'An older question', messageCount: 2, status: 'idle' });
  });

  it('pages the list with a stable cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await list('dev', { limit: 1, cursor });
      expect(page.items).toHaveLength(1);
      seen.push(page.items[0].id);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([reserved, TORN, OLDER]);
  });

  it('returns one session with its messages in pages, counting the torn last line', async () => {
    const torn = (query: PageQuery) =>
      t.client.GET('/api/sessions/{env}/{id}', {
        params: { path: { env: 'dev', id: TORN }, query },
      });
    const first = await torn({ limit: 3 });
    expect(first.response.status).toBe(200);
    const page = first.data;
    expect(page).toMatchObject({ id: TORN, messageCount: 5, skippedLines: 2, status: 'idle' });
    expect(page?.messages.map((message) => [message.index, message.type])).toEqual([
      [0, 'user'],
      [1, 'assistant'],
      [2, 'user'],
    ]);
    expect(page?.messages[1]).toMatchObject({
      text: 'Let me look.',
      toolCalls: [{ id: 'toolu_fake000004', name: 'Bash', input: { command: 'ls -la' } }],
    });
    const rest = await torn({ limit: 3, cursor: page?.nextCursor ?? '' });
    expect(rest.data).toMatchObject({
      messages: [
        { index: 3, type: 'assistant', text: 'There is one file: README.md.' },
        { index: 4, type: 'system' },
      ],
      nextCursor: null,
    });

    const empty = await t.client.GET('/api/sessions/{env}/{id}', session('dev', reserved));
    expect(empty.data).toMatchObject({
      id: reserved,
      status: 'new',
      messages: [],
      skippedLines: 0,
    });
  });

  it('lists and reads sessions of a stopped container through the archive API', async () => {
    const before = await list();
    expect(
      (await t.client.POST('/api/containers/{env}/stop', envParams('dev'))).data,
    ).toMatchObject({ running: false });
    expect(await list()).toEqual(before);
    const detail = await t.client.GET('/api/sessions/{env}/{id}', session('dev', TORN));
    expect(detail.data).toMatchObject({ messageCount: 5, skippedLines: 2 });
    // The execute route's check works on the stopped container too.
    const sessions = t.app.get(SessionsService);
    expect(await sessions.prepareRun('dev', TORN)).toEqual({ sessionId: TORN, resume: true });
    expect(await sessions.prepareRun('dev', reserved)).toEqual({
      sessionId: reserved,
      resume: false,
    });
  });

  it('keeps sessions to their environment', async () => {
    for (const id of [TORN, reserved]) {
      const res = await t.client.GET('/api/sessions/{env}/{id}', session('staging', id));
      expect(res.response.status).toBe(404);
      expect(res.error).toMatchObject({ code: 'SESSION_NOT_FOUND' });
      const deleted = await t.client.DELETE('/api/sessions/{env}/{id}', session('staging', id));
      expect(deleted.response.status).toBe(404);
    }
    expect(await list('staging')).toEqual({ items: [], nextCursor: null });
    await expect(t.app.get(SessionsService).prepareRun('staging', TORN)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
  });

  it('deletes a transcript and its subagent folder, starting the stopped container', async () => {
    const res = await t.client.DELETE('/api/sessions/{env}/{id}', session('dev', TORN));
    expect(res.response.status).toBe(204);
    expect((await t.client.GET('/api/containers/{env}', envParams('dev'))).data).toMatchObject({
      running: true,
    });
    expect(await exists(`${DIR}/${TORN}.jsonl`)).toBe(false);
    expect(await exists(`${DIR}/${TORN}`)).toBe(false);
    expect(await exists(`${DIR}/${OLDER}.jsonl`)).toBe(true);

    const again = await t.client.DELETE('/api/sessions/{env}/{id}', session('dev', TORN));
    expect(again.response.status).toBe(404);
    expect(again.error).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    const read = await t.client.GET('/api/sessions/{env}/{id}', session('dev', TORN));
    expect(read.response.status).toBe(404);

    const deleted = await t.client.DELETE('/api/sessions/{env}/{id}', session('dev', reserved));
    expect(deleted.response.status).toBe(204);
    expect((await list()).items.map((item) => item.id)).toEqual([OLDER]);
  });

  describe('with the real CLI against a fake Anthropic API', () => {
    let fake: FakeAnthropic;

    beforeAll(async () => {
      fake = await startFakeAnthropic();
    });

    afterAll(async () => {
      await fake.close();
    });

    it('lists and reads a transcript the CLI wrote itself', async () => {
      const run = await t.docker.exec(container, {
        cmd: ['claude', '-p', '--output-format', 'json'],
        env: { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'sk-ant-dummy' },
        stdin: 'Hello from the sessions test',
      });
      expect(run.exitCode).toBe(0);
      const { session_id: id } = JSON.parse(run.stdout) as { session_id: string };

      const summary = (await list()).items.find((item) => item.id === id);
      expect(summary).toMatchObject({
        title: 'Hello from the sessions test',
        messageCount: 2,
        status: 'idle',
      });
      const detail = (await t.client.GET('/api/sessions/{env}/{id}', session('dev', id))).data;
      expect(detail?.skippedLines).toBe(0);
      expect(detail?.messages.map((message) => [message.type, message.text])).toEqual([
        ['user', 'Hello from the sessions test'],
        ['assistant', 'echo: Hello from the sessions test'],
      ]);
    });

    it("deletes the CLI's own state of a session with its transcript", async () => {
      // A Bash tool call makes the CLI keep the session's shell environment.
      fake.replyBashTool('true');
      const run = await t.docker.exec(container, {
        cmd: ['claude', '-p', '--output-format', 'json', '--allowedTools', 'Bash'],
        env: { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'sk-ant-dummy' },
        stdin: 'Run a command',
      });
      expect(run.exitCode).toBe(0);
      const { session_id: id } = JSON.parse(run.stdout) as { session_id: string };
      const sessionEnv = `/home/node/.claude/session-env/${id}`;
      expect(await exists(sessionEnv)).toBe(true);

      const deleted = await t.client.DELETE('/api/sessions/{env}/{id}', session('dev', id));
      expect(deleted.response.status).toBe(204);
      expect(await exists(`${DIR}/${id}.jsonl`)).toBe(false);
      expect(await exists(sessionEnv)).toBe(false);
    });
  });

  it('answers 404 ENV_NOT_FOUND for an environment that is not configured', async () => {
    for (const res of [
      await t.client.GET('/api/sessions/{env}', envParams('prod')),
      await t.client.GET('/api/sessions/{env}/{id}', session('prod', OLDER)),
      await t.client.DELETE('/api/sessions/{env}/{id}', session('prod', OLDER)),
      await t.client.POST('/api/sessions', { body: { env: 'prod' } }),
    ]) {
      expect(res.response.status).toBe(404);
      expect(res.error).toMatchObject({ code: 'ENV_NOT_FOUND' });
    }
  });

  it('rejects ids that are not UUIDs with 400, encoded traversal included', async () => {
    for (const id of [
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e%2f%2e%2e%2fetc',
      '%2Fetc%2Fpasswd',
      'abc',
    ]) {
      for (const method of ['GET', 'DELETE']) {
        const res = await t.request(method, `/api/sessions/dev/${id}`);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    }
    // Sent raw (fetch would resolve it): the server decodes the segment to `..` and refuses it.
    expect(await rawStatus('GET', '/api/sessions/dev/%2e%2e')).toBe(400);
    expect(await rawStatus('DELETE', '/api/sessions/dev/%2E%2E')).toBe(400);
  });

  function rawStatus(method: string, path: string): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      const { hostname, port } = new URL(t.baseUrl);
      const req = httpRequest(
        { hostname, port, path, method, headers: { authorization: `Bearer ${t.token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
});
