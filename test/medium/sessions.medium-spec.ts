import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/common/config/load-config';
import { ContainersService, RunState } from '../../src/containers/containers.service';
import { EnvironmentPipe } from '../../src/containers/environment.pipe';
import { DockerUnavailableError } from '../../src/docker/docker.errors';
import { DockerService } from '../../src/docker/docker.service';
import { RunRegistry } from '../../src/sessions/run-registry';
import { FORK_MAX_TRANSCRIPT_BYTES } from '../../src/sessions/session-fork.service';
import { SessionsService } from '../../src/sessions/sessions.service';
import { TranscriptsRepository } from '../../src/sessions/transcripts.repository';
import { trackApps } from '../support/app-tracker';
import { appWithOverrides } from '../support/app-with-mocked-docker';
import { FakeTranscripts } from '../support/fake-transcripts';
import { strictMock } from '../support/strict-mock';
import { ServiceEvents, SessionDeleted } from '../../src/common/events/service-events';

const TOKEN = 's'.repeat(32);
const ID = '11111111-2222-4333-8444-555555555555';
const OLDER = '22222222-2222-4333-8444-555555555555';
const OTHER_ID = '99999999-2222-4333-8444-555555555555';
const transcript = readFileSync(join(__dirname, '..', 'fixtures', 'transcript.jsonl'));
const older = Buffer.from(
  `${JSON.stringify({
    type: 'user',
    message: { role: 'user', content: 'An older question' },
    timestamp: '2026-01-01T00:00:00.000Z',
  })}\n`,
);
const MTIME = Date.parse('2026-11-27T02:00:00.250Z');

interface SessionsApp {
  app: NestFastifyApplication;
  volume: FakeTranscripts;
  containers: jest.Mocked<ContainersService>;
  /** What `runState` answers. */
  state: { value: RunState };
  send(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: object,
  ): ReturnType<NestFastifyApplication['inject']>;
  list(
    query?: string,
  ): Promise<{ items: Array<Record<string, unknown>>; nextCursor: string | null }>;
}

describe('sessions: the index, the pages and the deletes (medium: real store, fake volume)', () => {
  const track = trackApps();
  const dataDirs: string[] = [];
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  async function start(dataDir?: string, volume = new FakeTranscripts()): Promise<SessionsApp> {
    const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'cca-medium-sessions-'));
    if (!dataDir) dataDirs.push(dir);
    const config = loadConfig({ API_TOKEN: TOKEN, ENVIRONMENTS: 'dev,staging', DATA_DIR: dir });
    const state: { value: RunState } = { value: 'running' };
    const environments = new EnvironmentPipe(config);
    const ensureRunning = jest.fn((env: string) => {
      state.value = 'running';
      return Promise.resolve(`claude-agent-${env}`);
    });
    const containers = strictMock<ContainersService>('ContainersService', {
      containerName: jest.fn((env: string) => `claude-agent-${env}`),
      runState: jest.fn((_env: string) => Promise.resolve(state.value)),
      ensureRunning,
      // Generic, so jest cannot type it: a cast.
      whileRunning: jest.fn(async (env: string, task: (name: string) => Promise<unknown>) =>
        task(await ensureRunning(env)),
      ) as jest.Mocked<ContainersService>['whileRunning'],
      checkEnvironment: jest.fn((env: string) => {
        environments.transform(env);
      }),
    });
    const app = track(
      await appWithOverrides(config, [
        { provide: TranscriptsRepository, useValue: volume },
        { provide: ContainersService, useValue: containers },
        { provide: DockerService, useValue: strictMock<DockerService>('DockerService') },
      ]),
    );
    const send = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, payload: body });
    const list = async (query = '') => {
      const res = await send('GET', `/api/sessions/dev${query}`);
      expect(res.statusCode).toBe(200);
      return res.json<{ items: Array<Record<string, unknown>>; nextCursor: string | null }>();
    };
    return { app, volume, containers, state, send, list };
  }

  it('lists a reservation as new while the container does not exist, reading nothing', async () => {
    const t = await start();
    t.state.value = 'missing';
    const created = (await t.send('POST', '/api/sessions', { env: 'dev', title: 'Work' })).json<{
      sessionId: string;
      createdAt: string;
    }>();
    expect(await t.list()).toEqual({
      items: [
        {
          id: created.sessionId,
          title: 'Work',
          createdAt: created.createdAt,
          updatedAt: created.createdAt,
          messageCount: 0,
          sizeBytes: 0,
          status: 'new',
        },
      ],
      nextCursor: null,
    });
    expect(t.volume.listings).toBe(0);
  });

  it('indexes transcripts with their summary, and reads an unchanged one only once', async () => {
    const t = await start();
    t.volume.write(ID, transcript, MTIME);
    const first = await t.list();
    expect(first.items).toEqual([
      {
        id: ID,
        title: 'Please run a tool: list the files in the workspace and then tell me what you…',
        createdAt: '2026-11-27T01:14:58.300Z',
        updatedAt: '2026-11-27T02:00:00.000Z',
        messageCount: 5,
        sizeBytes: transcript.length,
        status: 'idle',
      },
    ]);
    await t.list();
    expect(t.volume.reads).toEqual([{ id: ID, from: null }]);

    t.app.get(RunRegistry).claim('dev', ID);
    expect((await t.list()).items).toMatchObject([{ id: ID, status: 'running' }]);
  });

  it('reads a grown transcript on from where it stopped, and a rewritten one from the start', async () => {
    const t = await start();
    const head = transcript.subarray(0, transcript.indexOf('\n', transcript.length / 2) + 1);
    t.volume.write(ID, head, MTIME);
    await t.list();
    t.volume.write(ID, transcript, MTIME + 5000);
    expect((await t.list()).items[0]).toMatchObject({
      messageCount: 5,
      sizeBytes: transcript.length,
    });
    expect(t.volume.reads[1]).toEqual({
      id: ID,
      from: expect.objectContaining({ bytes: head.length }),
    });

    t.volume.write(ID, older, MTIME + 9000);
    expect((await t.list()).items[0]).toMatchObject({
      title: 'An older question',
      messageCount: 1,
      sizeBytes: older.length,
    });
    expect(t.volume.reads[2]).toEqual({ id: ID, from: null });
  });

  it('drops a transcript gone from disk, but keeps a reserved session as new', async () => {
    const t = await start();
    const { sessionId } = (await t.send('POST', '/api/sessions', { env: 'dev' })).json<{
      sessionId: string;
    }>();
    t.volume.write(sessionId, older, MTIME - 60_000);
    t.volume.write(ID, transcript, MTIME);
    expect((await t.list()).items.map((item) => [item.id, item.status])).toEqual([
      [ID, 'idle'],
      [sessionId, 'idle'],
    ]);
    t.volume.delete(ID);
    t.volume.delete(sessionId);
    expect((await t.list()).items.map((item) => [item.id, item.status, item.messageCount])).toEqual(
      [[sessionId, 'new', 0]],
    );
  });

  it('pages newest first with a stable cursor, and rejects bad paging input', async () => {
    const t = await start();
    t.volume.write(ID, transcript, MTIME);
    t.volume.write(OLDER, older, MTIME - 60_000);
    for (let i = 0; i < 3; i++) await t.send('POST', '/api/sessions', { env: 'dev' });
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page = await t.list(
        cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2',
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(seen.slice(-2)).toEqual([ID, OLDER]);
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=garbage', 'other=1']) {
      const res = await t.send('GET', `/api/sessions/dev?${query}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });

  it('answers from the index when Docker fails during the scan', async () => {
    const t = await start();
    t.volume.write(ID, transcript, MTIME);
    await t.list();
    t.volume.failWith = new DockerUnavailableError();
    expect((await t.list()).items.map((item) => item.id)).toEqual([ID]);
  });

  it('reads a stopped container once through the full read, then trusts the index', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cca-medium-sessions-'));
    dataDirs.push(dataDir);
    const volume = new FakeTranscripts();
    volume.write(ID, transcript, MTIME);
    const t = await start(dataDir, volume);
    t.state.value = 'stopped';
    expect((await t.list()).items).toMatchObject([{ id: ID, messageCount: 5 }]);
    await t.list();
    expect(volume.fullReads).toBe(1);
    expect(volume.listings).toBe(0);
    await t.app.close();

    // After a restart the index is still there: no read at all while the container is stopped.
    const again = await start(dataDir, volume);
    again.state.value = 'stopped';
    expect((await again.list()).items).toMatchObject([{ id: ID, messageCount: 5 }]);
    expect(volume.fullReads).toBe(1);
  });

  it('returns a session with a page of its messages and the skipped lines', async () => {
    const t = await start();
    t.volume.write(ID, transcript, MTIME);
    const res = await t.send('GET', `/api/sessions/dev/${ID.toUpperCase()}?limit=2`);
    expect(res.statusCode).toBe(200);
    const page = res.json<{ nextCursor: string }>();
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
    const next = await t.send('GET', `/api/sessions/dev/${ID}?limit=2&cursor=${page.nextCursor}`);
    const last = await t.send(
      'GET',
      `/api/sessions/dev/${ID}?limit=2&cursor=${next.json<{ nextCursor: string }>().nextCursor}`,
    );
    expect(last.json()).toMatchObject({
      messages: [{ index: 4, type: 'system' }],
      nextCursor: null,
    });
    const bad = await t.send(
      'GET',
      `/api/sessions/dev/${ID}?cursor=${Buffer.from('{"byte":-1}').toString('base64url')}`,
    );
    expect(bad.statusCode).toBe(400);
  });

  it('answers 404 SESSION_NOT_FOUND for an id neither reserved nor on disk', async () => {
    const t = await start();
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await t.send(method, `/api/sessions/dev/${OTHER_ID}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    }
  });

  it('deletes a session on disk (starting the container) and a bare reservation (not touching it)', async () => {
    const t = await start();
    const deleted: SessionDeleted[] = [];
    t.app.get(ServiceEvents).on('session.deleted', (event) => deleted.push(event));
    t.volume.write(ID, transcript, MTIME);
    await t.list();
    t.state.value = 'stopped';
    expect((await t.send('DELETE', `/api/sessions/dev/${ID}`)).statusCode).toBe(204);
    expect(t.containers.ensureRunning).toHaveBeenCalledWith('dev');
    expect(t.volume.removed).toEqual([ID]);
    expect((await t.list()).items).toEqual([]);

    const { sessionId } = (await t.send('POST', '/api/sessions', { env: 'dev' })).json<{
      sessionId: string;
    }>();
    expect((await t.send('DELETE', `/api/sessions/staging/${sessionId}`)).statusCode).toBe(404);
    expect((await t.send('DELETE', `/api/sessions/dev/${sessionId}`)).statusCode).toBe(204);
    expect(t.volume.removed).toEqual([ID]);
    expect(t.containers.ensureRunning).toHaveBeenCalledTimes(1);
    // Each delete told once (its warm CLI is closed, webhooks deliver it); the 404 told nothing.
    expect(deleted.map(({ env, sessionId: id }) => [env, id])).toEqual([
      ['dev', ID],
      ['dev', sessionId],
    ]);
  });

  it('prepares runs: new, reserved, resumed, or 404', async () => {
    const t = await start();
    const sessions = t.app.get(SessionsService);
    const { sessionId } = (await t.send('POST', '/api/sessions', { env: 'dev' })).json<{
      sessionId: string;
    }>();
    t.volume.write(ID, transcript, MTIME);
    expect((await sessions.prepareRun('dev')).resume).toBe(false);
    expect(await sessions.prepareRun('dev', sessionId)).toEqual({ sessionId, resume: false });
    expect(await sessions.prepareRun('dev', ID.toUpperCase())).toEqual({
      sessionId: ID,
      resume: true,
    });
    await expect(sessions.prepareRun('staging', ID)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    await expect(sessions.prepareRun('dev', OTHER_ID)).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
  });

  describe('forks', () => {
    const USER_ID = '1b21e35c-876a-4a51-99cc-754d79bc334f';
    const ASSISTANT_ID = '54f7d469-f7d4-48b0-9efa-56d4644a2407';
    const fork = (t: SessionsApp, id: string, body?: object, env = 'dev') =>
      t.send('POST', `/api/sessions/${env}/${id}/fork`, body);

    it('forks a session into a new one with its history, listed at once, the parent untouched', async () => {
      const t = await start();
      t.volume.write(ID, transcript, MTIME);
      t.state.value = 'stopped';
      const res = await fork(t, ID.toUpperCase());
      expect(res.statusCode).toBe(201);
      const forked = res.json<{ id: string; sizeBytes: number }>();
      expect(forked).toEqual({
        id: expect.stringMatching(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        ),
        title:
          'Please run a tool: list the files in the workspace and then tell me what you found there, in detail please (fork)',
        createdAt: '2026-11-27T01:14:58.369Z',
        updatedAt: expect.any(String),
        messageCount: 5,
        sizeBytes: expect.any(Number),
        status: 'idle',
        forkedFrom: { sessionId: ID, upToMessageId: null },
      });
      expect(forked.id).not.toBe(ID);
      expect(t.containers.ensureRunning).toHaveBeenCalledWith('dev');
      expect(t.volume.bytesOf(ID)).toBe(transcript);

      const { forkedFrom: _, ...summary } = forked as Record<string, unknown>;
      expect((await t.list()).items).toEqual([summary, expect.objectContaining({ id: ID })]);
      const detail = await t.send('GET', `/api/sessions/dev/${forked.id}`);
      const parent = await t.send('GET', `/api/sessions/dev/${ID}`);
      const conversation = (res_: typeof detail) =>
        res_
          .json<{ messages: Array<Record<string, unknown>> }>()
          .messages.map(({ uuid: _uuid, timestamp: _time, ...message }) => message);
      expect(conversation(detail)).toEqual(conversation(parent));
      // Fresh ids: none of the fork's messages has one of the parent's.
      const idsOf = (res_: typeof detail) =>
        res_.json<{ messages: Array<{ uuid: string }> }>().messages.map((message) => message.uuid);
      expect(idsOf(detail).filter((uuid) => idsOf(parent).includes(uuid))).toEqual([]);
      expect(idsOf(parent).slice(0, 2)).toEqual([USER_ID, ASSISTANT_ID]);
    });

    it('forks at a message with a title, keeping only the history up to it', async () => {
      const t = await start();
      t.volume.write(ID, transcript, MTIME);
      const res = await fork(t, ID, { upToMessageId: ASSISTANT_ID.toUpperCase(), title: 'Branch' });
      expect(res.statusCode).toBe(201);
      const forked = res.json<{ id: string }>();
      expect(forked).toMatchObject({
        title: 'Branch',
        messageCount: 2,
        forkedFrom: { sessionId: ID, upToMessageId: ASSISTANT_ID },
      });
      const detail = await t.send('GET', `/api/sessions/dev/${forked.id}`);
      expect(
        detail.json<{ messages: Array<{ type: string; text?: string }> }>().messages,
      ).toMatchObject([
        { type: 'user', text: expect.stringMatching(/^Please run a tool/) },
        { type: 'assistant', text: 'Let me look.' },
      ]);
    });

    it('answers each bad fork with its code, and forks nothing', async () => {
      const t = await start();
      t.volume.write(ID, transcript, MTIME);
      t.volume.write(OLDER, Buffer.alloc(FORK_MAX_TRANSCRIPT_BYTES + 1, 0x20), MTIME);
      const { sessionId: reserved } = (await t.send('POST', '/api/sessions', { env: 'dev' })).json<{
        sessionId: string;
      }>();
      const expectError = async (sent: ReturnType<typeof fork>, status: number, code: string) => {
        const res = await sent;
        expect({ status: res.statusCode, body: res.json<object>() }).toMatchObject({
          status,
          body: {
            statusCode: status,
            code,
            message: expect.any(String),
            requestId: expect.any(String),
          },
        });
      };
      await expectError(fork(t, ID, {}, 'prod'), 404, 'ENV_NOT_FOUND');
      await expectError(fork(t, OTHER_ID), 404, 'SESSION_NOT_FOUND');
      await expectError(fork(t, ID, {}, 'staging'), 404, 'SESSION_NOT_FOUND');
      await expectError(fork(t, 'abc'), 400, 'VALIDATION_FAILED');
      await expectError(fork(t, ID, { upToMessageId: 'abc' }), 400, 'VALIDATION_FAILED');
      await expectError(fork(t, ID, { title: 'x'.repeat(201) }), 400, 'VALIDATION_FAILED');
      await expectError(fork(t, ID, { other: 1 }), 400, 'VALIDATION_FAILED');
      await expectError(fork(t, ID, { upToMessageId: OTHER_ID }), 404, 'MESSAGE_NOT_FOUND');
      await expectError(fork(t, reserved), 409, 'SESSION_EMPTY');
      t.volume.write(OTHER_ID, Buffer.from('{"type":"queue-operation"}\n'), MTIME);
      await expectError(fork(t, OTHER_ID), 409, 'SESSION_EMPTY');
      t.volume.delete(OTHER_ID);
      await expectError(fork(t, OLDER), 413, 'TRANSCRIPT_TOO_LARGE');
      t.volume.delete(OLDER);
      const release = t.app.get(RunRegistry).claim('dev', ID);
      await expectError(fork(t, ID), 409, 'SESSION_BUSY');
      release();
      expect((await t.list()).items.map((item) => item.id).sort()).toEqual([ID, reserved].sort());
      expect(t.containers.ensureRunning).not.toHaveBeenCalled();
      // A fork holds nothing: after forks, failed or not, a run can claim the parent.
      expect((await fork(t, ID)).statusCode).toBe(201);
      t.app.get(RunRegistry).claim('dev', ID)();
    });
  });
});
