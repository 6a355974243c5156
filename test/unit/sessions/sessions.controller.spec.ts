import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerService } from '../../../src/docker/docker.service';
import {
  ArchiveEntry,
  ContainerInfo,
  FileContent,
  ReadDirectoryOptions,
} from '../../../src/docker/docker.types';
import { RunRegistry } from '../../../src/sessions/run-registry';
import { SessionsService } from '../../../src/sessions/sessions.service';
import { appWithMockedDocker } from '../../support/app-with-mocked-docker';
import { strictMock } from '../../support/strict-mock';

const TOKEN = 'c'.repeat(32);
const DIR = '/home/node/.claude/projects/-workspace';
const ID = '11111111-2222-4333-8444-555555555555';
const OTHER_ID = '99999999-2222-4333-8444-555555555555';
const transcript = readFileSync(join(__dirname, '..', '..', 'fixtures', 'transcript.jsonl'));
const mtime = new Date('2026-11-27T02:00:00Z');

const stopped: ContainerInfo = {
  id: 'abc',
  name: 'claude-agent-dev',
  state: 'exited',
  running: false,
  image: 'claudecode-agent:2.1.332',
  createdAt: '2026-11-27T00:00:00Z',
  startedAt: null,
  labels: {},
};

function appWith(docker: jest.Mocked<DockerService>): Promise<NestFastifyApplication> {
  return appWithMockedDocker(docker, { API_TOKEN: TOKEN, ENVIRONMENTS: 'dev,staging' });
}

function send(
  app: NestFastifyApplication,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: object,
) {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(body ? { payload: body } : {}),
  });
}

/** A directory read that hands out content only for the files the service asks for. */
function directory(files: Record<string, Buffer>) {
  return jest.fn((_container: string, _dir: string, options: ReadDirectoryOptions = {}) => {
    const entries: ArchiveEntry[] = Object.entries(files).map(([name, content]) => {
      const entry: ArchiveEntry = { name, size: content.length, mode: 0o600, mtime };
      if (options.wantContent?.(entry)) entry.content = content;
      return entry;
    });
    return Promise.resolve(entries);
  });
}

function fileContent(content: Buffer): FileContent {
  return { size: content.length, mtime, content, truncated: false };
}

describe('SessionsController (through the real pipes, guards and filter)', () => {
  it.each([
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '%2E%2E%2F%2E%2E%2Fetc',
    '%2Fetc%2Fpasswd',
    'not-a-uuid',
    `${ID}.jsonl`,
    `${ID}%00`,
    `${ID.slice(0, -1)}`,
    `${ID}%2F..%2F${OTHER_ID}`,
  ])('rejects the id %s with 400 before touching Docker', async (id) => {
    const app = await appWith(strictMock<DockerService>('DockerService'));
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await send(app, method, `/api/sessions/dev/${id}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    }
    await app.close();
  });

  it('never routes a bare %2e%2e segment to a handler (URL parsing resolves it as `..`)', async () => {
    const app = await appWith(strictMock<DockerService>('DockerService'));
    const res = await send(app, 'GET', '/api/sessions/dev/%2e%2e');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    await app.close();
  });

  it('reserves a session and lists it as new while the container does not exist', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      readDirectoryArchive: jest.fn().mockResolvedValue(null),
    });
    const app = await appWith(docker);
    const created = await send(app, 'POST', '/api/sessions', { env: 'dev', title: 'Refactor' });
    expect(created.statusCode).toBe(201);
    const body = created.json<{ sessionId: string; createdAt: string }>();
    expect(body).toEqual({
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      env: 'dev',
      createdAt: expect.any(String),
      title: 'Refactor',
    });

    const list = await send(app, 'GET', '/api/sessions/dev');
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({
      items: [
        {
          id: body.sessionId,
          title: 'Refactor',
          createdAt: body.createdAt,
          updatedAt: body.createdAt,
          messageCount: 0,
          sizeBytes: 0,
          status: 'new',
        },
      ],
      nextCursor: null,
    });
    expect(docker.readDirectoryArchive).toHaveBeenCalledWith(
      'claude-agent-dev',
      DIR,
      expect.any(Object),
    );
    // A session belongs to its environment.
    expect((await send(app, 'GET', '/api/sessions/staging')).json()).toEqual({
      items: [],
      nextCursor: null,
    });
    await app.close();
  });

  it('validates the body of a reservation', async () => {
    const app = await appWith(strictMock<DockerService>('DockerService'));
    const unknownEnv = await send(app, 'POST', '/api/sessions', { env: 'prod' });
    expect(unknownEnv.statusCode).toBe(404);
    expect(unknownEnv.json()).toMatchObject({ code: 'ENV_NOT_FOUND' });
    for (const body of [
      { env: 'dev', title: 'x'.repeat(201) },
      { env: 'dev', extra: true },
      { title: 'no env' },
    ]) {
      const res = await send(app, 'POST', '/api/sessions', body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await app.close();
  });

  it('lists transcripts with their summary and parses each unchanged file only once', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      readDirectoryArchive: directory({
        [`${ID}.jsonl`]: transcript,
        [`${ID}/subagents/agent-1.jsonl`]: Buffer.from('{}'),
        'memory/notes.md': Buffer.from('x'),
      }),
    });
    const app = await appWith(docker);
    const first = await send(app, 'GET', '/api/sessions/dev');
    expect(first.json()).toEqual({
      items: [
        {
          id: ID,
          title: 'Please run a tool: list the files in the workspace and then tell me what you…',
          createdAt: '2026-11-27T01:14:58.300Z',
          updatedAt: mtime.toISOString(),
          messageCount: 5,
          sizeBytes: transcript.length,
          status: 'idle',
        },
      ],
      nextCursor: null,
    });
    await send(app, 'GET', '/api/sessions/dev');
    const [firstRead, secondRead] = docker.readDirectoryArchive.mock.results.map(
      (result) => result.value as Promise<ArchiveEntry[]>,
    );
    expect((await firstRead).filter((entry) => entry.content).map((entry) => entry.name)).toEqual([
      `${ID}.jsonl`,
    ]);
    expect((await secondRead).filter((entry) => entry.content)).toEqual([]);

    app.get(RunRegistry).claim('dev', ID);
    expect((await send(app, 'GET', '/api/sessions/dev')).json()).toMatchObject({
      items: [{ id: ID, status: 'running' }],
    });
    await app.close();
  });

  it('pages the list newest first with a cursor, and rejects bad paging input', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      readDirectoryArchive: jest.fn().mockResolvedValue(null),
    });
    const app = await appWith(docker);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send(app, 'POST', '/api/sessions', { env: 'dev' });
      created.push(res.json<{ sessionId: string }>().sessionId);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const page = (await send(app, 'GET', `/api/sessions/dev${query}`)).json<{
        items: { id: string; updatedAt: string }[];
        nextCursor: string | null;
      }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect([...seen].sort()).toEqual([...created].sort());
    expect(new Set(seen).size).toBe(5);

    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=garbage', 'other=1']) {
      const res = await send(app, 'GET', `/api/sessions/dev?${query}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await app.close();
  });

  it('returns one session with a page of messages and the skipped line count', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      readFile: jest.fn().mockResolvedValue(fileContent(transcript)),
    });
    const app = await appWith(docker);
    const res = await send(app, 'GET', `/api/sessions/dev/${ID.toUpperCase()}?limit=2`);
    expect(res.statusCode).toBe(200);
    const page = res.json<{ messages: { index: number }[]; nextCursor: string }>();
    expect(page).toMatchObject({
      id: ID,
      messageCount: 5,
      skippedLines: 2,
      status: 'idle',
      messages: [
        { index: 0, type: 'user' },
        { index: 1, type: 'assistant', toolCalls: [{ name: 'Bash' }] },
      ],
    });
    expect(docker.readFile).toHaveBeenCalledWith(
      'claude-agent-dev',
      `${DIR}/${ID}.jsonl`,
      expect.any(Number),
    );
    const next = await send(
      app,
      'GET',
      `/api/sessions/dev/${ID}?limit=2&cursor=${page.nextCursor}`,
    );
    const last = await send(
      app,
      'GET',
      `/api/sessions/dev/${ID}?limit=2&cursor=${next.json<{ nextCursor: string }>().nextCursor}`,
    );
    expect(last.json()).toMatchObject({
      messages: [{ index: 4, type: 'system' }],
      nextCursor: null,
    });
    await app.close();
  });

  it('answers 404 SESSION_NOT_FOUND for an id that is neither reserved nor on disk', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      readFile: jest.fn().mockResolvedValue(null),
      statPath: jest.fn().mockResolvedValue(null),
    });
    const app = await appWith(docker);
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await send(app, method, `/api/sessions/dev/${ID}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    }
    const env = await send(app, 'GET', `/api/sessions/qa/${ID}`);
    expect(env.json()).toMatchObject({ code: 'ENV_NOT_FOUND' });
    await app.close();
  });

  it('deletes a session: starts the stopped container and removes files with an argv', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      statPath: jest
        .fn()
        .mockResolvedValue({ name: 'x', size: 1, mode: 0o600, mtime, isDirectory: false }),
      // Stopped when checked, still stopped when start() looks again, then running.
      inspectContainer: jest
        .fn()
        .mockResolvedValueOnce(stopped)
        .mockResolvedValueOnce(stopped)
        .mockResolvedValue({ ...stopped, running: true, state: 'running' }),
      startContainer: jest.fn().mockResolvedValue(undefined),
      exec: jest.fn().mockResolvedValue({ exitCode: 0, stdout: '', stderr: '' }),
    });
    const app = await appWith(docker);
    const res = await send(app, 'DELETE', `/api/sessions/dev/${ID}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(docker.startContainer).toHaveBeenCalledWith('claude-agent-dev');
    expect(docker.exec).toHaveBeenCalledWith('claude-agent-dev', {
      cmd: [
        'rm',
        '-rf',
        '--',
        `${DIR}/${ID}.jsonl`,
        `${DIR}/${ID}`,
        `/home/node/.claude/session-env/${ID}`,
        `/home/node/.claude/file-history/${ID}`,
      ],
      user: 'node',
    });
    await app.close();
  });

  it('deletes a reservation without files without touching the container', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      statPath: jest.fn().mockResolvedValue(null),
    });
    const app = await appWith(docker);
    const { sessionId } = (await send(app, 'POST', '/api/sessions', { env: 'dev' })).json<{
      sessionId: string;
    }>();
    expect((await send(app, 'DELETE', `/api/sessions/staging/${sessionId}`)).statusCode).toBe(404);
    expect((await send(app, 'DELETE', `/api/sessions/dev/${sessionId}`)).statusCode).toBe(204);
    expect((await send(app, 'DELETE', `/api/sessions/dev/${sessionId}`)).statusCode).toBe(404);
    await app.close();
  });

  it('refuses with 409 SESSION_BUSY to delete a session that is running', async () => {
    const app = await appWith(strictMock<DockerService>('DockerService'));
    app.get(RunRegistry).claim('dev', ID);
    const res = await send(app, 'DELETE', `/api/sessions/dev/${ID}`);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'SESSION_BUSY' });
    await app.close();
  });

  it('prepares runs: new, reserved, resumed, or 404', async () => {
    const docker = strictMock<DockerService>('DockerService', {
      statPath: jest.fn((_container: string, path: string) =>
        Promise.resolve(
          path.endsWith(`${ID}.jsonl`)
            ? { name: 'x', size: 1, mode: 0o600, mtime, isDirectory: false }
            : null,
        ),
      ),
    });
    const app = await appWith(docker);
    const sessions = app.get(SessionsService);
    const fresh = await sessions.prepareRun('dev');
    expect(fresh).toEqual({ sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), resume: false });
    expect(await sessions.prepareRun('dev', ID)).toEqual({ sessionId: ID, resume: true });
    const reserved = sessions.createSession({ env: 'dev' });
    expect(await sessions.prepareRun('dev', reserved.sessionId)).toEqual({
      sessionId: reserved.sessionId,
      resume: false,
    });
    await expect(sessions.prepareRun('staging', reserved.sessionId)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    await expect(sessions.prepareRun('dev', OTHER_ID)).rejects.toMatchObject({
      statusCode: 404,
      code: 'SESSION_NOT_FOUND',
    });
    expect(docker.statPath).toHaveBeenCalledWith('claude-agent-dev', `${DIR}/${ID}.jsonl`);
    await app.close();
  });
});
