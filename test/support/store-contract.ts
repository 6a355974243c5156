import { loadConfig } from '../../src/common/config/load-config';
import { ErrorCode } from '../../src/common/errors/error-codes';
import { endWithoutRun } from '../../src/executions/execution-outcome';
import { ExecutionStatus } from '../../src/executions/execution-status';
import { ExecutionEnd, ExecutionsRepository } from '../../src/executions/executions.repository';
import { RunBudgets } from '../../src/executions/run-budgets';
import { IndexedFile, SessionsRepository } from '../../src/sessions/sessions.repository';
import { SqlStore } from '../../src/store/sql-store';
import { StoredToken, TokensRepository } from '../../src/tokens/tokens.repository';
import { WebhookDeliveriesRepository } from '../../src/webhooks/webhook-deliveries.repository';

/** A fresh, migrated and empty store of one engine, and how to let go of it. */
export interface StoreUnderTest {
  store: SqlStore;
  close(): Promise<void>;
}

/** Lets the event loop turn, so that whatever is free to go on does. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A run's end that reports no cost, but its status: a test adds the status it needs. */
export const END: Omit<ExecutionEnd, 'status'> = {
  ...endWithoutRun('cancelled'),
  ...{ exitCode: 0, result: 'ok', error: null, errorCode: null },
};

/**
 * What every store engine must do, as the repositories and the SqlStore contract use it. Each
 * engine's spec calls this with a factory of fresh stores; engine-only checks (files, pragmas,
 * connection settings) belong in that spec, not here.
 */
export function describeStoreContract(
  engine: string,
  makeStore: () => Promise<StoreUnderTest>,
): void {
  describe(`the store contract, on ${engine}`, () => {
    let subject: StoreUnderTest;
    let store: SqlStore;

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });

    afterEach(() => subject.close());

    const scans = () =>
      store.all<{ env: string; scanned_at: string }>(
        'SELECT env, scanned_at FROM session_scans ORDER BY env',
      );

    describe('SqlStore', () => {
      it('binds ? placeholders in order and answers rows, one row or none, and changes', async () => {
        const insert = 'INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)';
        expect(await store.run(insert, ['a', '1'])).toEqual({ changes: 1 });
        await store.run(insert, ['b', '1']);
        await store.run(insert, ['c', '2']);
        const update = await store.run(
          'UPDATE session_scans SET scanned_at = ? WHERE scanned_at = ?',
          ['3', '1'],
        );
        expect(update.changes).toBe(2);
        expect(
          await store.get('SELECT env, scanned_at FROM session_scans WHERE env = ?', ['c']),
        ).toEqual({
          env: 'c',
          scanned_at: '2',
        });
        expect(
          await store.get('SELECT env FROM session_scans WHERE env = ?', ['z']),
        ).toBeUndefined();
        expect(await scans()).toEqual([
          { env: 'a', scanned_at: '3' },
          { env: 'b', scanned_at: '3' },
          { env: 'c', scanned_at: '2' },
        ]);
        expect((await store.run('DELETE FROM session_scans WHERE env = ?', ['z'])).changes).toBe(0);
      });

      it('commits a transaction whose work resolves, and answers what it answered', async () => {
        const answer = await store.transaction(async (tx) => {
          await tx.run('INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)', ['a', '1']);
          return tx.get<{ env: string }>('SELECT env FROM session_scans');
        });
        expect(answer).toEqual({ env: 'a' });
        expect(await scans()).toEqual([{ env: 'a', scanned_at: '1' }]);
      });

      it('rolls back all of a transaction whose work throws, and rethrows', async () => {
        const failing = store.transaction(async (tx) => {
          await tx.run('INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)', ['a', '1']);
          throw new Error('the work failed');
        });
        await expect(failing).rejects.toThrow('the work failed');
        expect(await scans()).toEqual([]);
        // The store goes on after a rollback.
        await store.run('INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)', ['b', '1']);
        expect(await scans()).toEqual([{ env: 'b', scanned_at: '1' }]);
      });

      it('never lets a statement issued outside a transaction be rolled back with it', async () => {
        let inside: () => void = () => undefined;
        const begun = new Promise<void>((resolve) => (inside = resolve));
        const failing = store.transaction(async (tx) => {
          await tx.run('INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)', ['in', '1']);
          inside();
          // Room for the statement outside to run, were it to run now.
          for (let i = 0; i < 5; i += 1) await turn();
          throw new Error('rolled back');
        });
        await begun;
        const outside = store.run('INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)', [
          'out',
          '1',
        ]);
        await expect(failing).rejects.toThrow('rolled back');
        await outside;
        expect(await scans()).toEqual([{ env: 'out', scanned_at: '1' }]);
      });

      it('runs transactions that lock the same name one after the other', async () => {
        await store.run('INSERT INTO session_scans (env, scanned_at) VALUES (?, ?)', ['n', '0']);
        let firstRead: () => void = () => undefined;
        const read = new Promise<void>((resolve) => (firstRead = resolve));
        const increment = (signal: () => void) =>
          store.transaction(async (tx) => {
            await tx.lock('counter');
            const row = await tx.get<{ scanned_at: string }>(
              'SELECT scanned_at FROM session_scans WHERE env = ?',
              ['n'],
            );
            signal();
            // Room for the other transaction to read the same value, were it not held back.
            for (let i = 0; i < 5; i += 1) await turn();
            await tx.run('UPDATE session_scans SET scanned_at = ? WHERE env = ?', [
              String(Number(row?.scanned_at) + 1),
              'n',
            ]);
          });
        const first = increment(firstRead);
        await read;
        await Promise.all([first, increment(() => undefined)]);
        expect(await scans()).toEqual([{ env: 'n', scanned_at: '2' }]);
      });

      it('quotes a JSON text value through its dialect', async () => {
        await new ExecutionsRepository(store).insert(
          {
            id: 'j',
            env: 'dev',
            sessionId: 's',
            request: { env: 'dev', prompt: 'it\'s "here"' },
            createdAt: 'now',
            ownerReplica: 'replica-a',
          },
          'a-token',
        );
        const expression = store.dialect.jsonText('request', 'prompt');
        expect(await store.get(`SELECT ${expression} AS prompt FROM executions`)).toEqual({
          prompt: 'it\'s "here"',
        });
      });
    });

    describe('ExecutionsRepository', () => {
      let repository: ExecutionsRepository;
      beforeEach(() => {
        repository = new ExecutionsRepository(store);
      });

      const insert = (
        id: string,
        createdAt: string,
        fields: { env?: string; sessionId?: string; tokenId?: string } = {},
      ) =>
        repository.insert(
          {
            id,
            env: fields.env ?? 'dev',
            sessionId: fields.sessionId ?? `s-${id}`,
            request: { env: fields.env ?? 'dev', prompt: `prompt ${id}` },
            createdAt,
            ownerReplica: 'replica-a',
          },
          fields.tokenId ?? 'a-token',
        );

      it('prunes finished runs older than the cutoff with their events, and keeps unfinished ones', async () => {
        await insert('old-done', '2020-01-01T00:00:00.000Z');
        await repository.appendEvent('old-done', { seq: 1, type: 'system', data: '{}' }, true);
        await repository.finish(
          'old-done',
          { ...END, status: 'succeeded' },
          '2020-01-01T00:00:01.000Z',
        );
        await insert('old-running', '2020-01-01T00:00:00.000Z');
        await repository.markRunning('old-running', '2020-01-01T00:00:00.500Z');
        await insert('recent', '2026-11-01T00:00:00.000Z');
        await repository.finish('recent', { ...END, status: 'failed' }, '2026-11-01T00:00:01.000Z');

        expect(await repository.pruneBefore('2026-01-01T00:00:00.000Z')).toBe(1);
        expect(await repository.get('old-done')).toBeNull();
        expect(await repository.eventsAfter('old-done', 0)).toEqual([]);
        expect(await repository.get('old-running')).toMatchObject({
          status: 'running',
          startedAt: '2020-01-01T00:00:00.500Z',
        });
        expect((await repository.get('recent'))?.status).toBe('failed');
      });

      it('stores events within bounds, counts the dropped ones, and lists newest first with filters', async () => {
        await insert('a', '2026-11-02T00:00:00.000Z');
        await repository.appendEvent('a', { seq: 1, type: 'system', data: '{"n":1}' }, true);
        await repository.appendEvent('a', { seq: 2, type: 'assistant', data: '{"n":2}' }, false);
        expect(await repository.eventsAfter('a', 0)).toEqual([
          { seq: 1, type: 'system', data: '{"n":1}' },
        ]);
        expect(await repository.get('a')).toMatchObject({
          prompt: 'prompt a',
          request: { env: 'dev', prompt: 'prompt a' },
          eventCount: 2,
          eventsDropped: 1,
          status: 'queued',
          truncated: false,
        });

        await insert('b', '2026-11-03T00:00:00.000Z', { env: 'staging' });
        const ids = async (filter: Parameters<ExecutionsRepository['list']>[0]) =>
          (await repository.list(filter)).map((run) => run.id);
        expect(await ids({ limit: 2 })).toEqual(['b', 'a']);
        expect(await ids({ limit: 5, sessionId: 's-a' })).toEqual(['a']);
        expect(await ids({ limit: 5, env: 'staging' })).toEqual(['b']);
        expect(await ids({ limit: 5, inEnvironments: ['dev', 'prod'] })).toEqual(['a']);
        expect(await ids({ limit: 5, inEnvironments: [] })).toEqual([]);
        expect(await ids({ limit: 5, status: ExecutionStatus.queued })).toEqual(['b', 'a']);
        expect(
          await ids({ limit: 5, before: { createdAt: '2026-11-03T00:00:00.000Z', id: 'b' } }),
        ).toEqual(['a']);
        expect((await repository.inFlight()).map((run) => run.id).sort()).toEqual(['a', 'b']);
        await repository.delete('b');
        expect(await repository.get('b')).toBeNull();
      });

      it('replays events page by page: at most 100 events, and no more once 256 KiB are read', async () => {
        await insert('many', '2026-11-02T00:00:00.000Z');
        for (let seq = 1; seq <= 130; seq += 1) {
          await repository.appendEvent('many', { seq, type: 't', data: `{"seq":${seq}}` }, true);
        }
        const first = await repository.eventsAfter('many', 0);
        expect(first.map((event) => event.seq)).toEqual([...Array(100).keys()].map((i) => i + 1));
        const rest = await repository.eventsAfter('many', 100);
        expect(rest.map((event) => event.seq)).toEqual([...Array(30).keys()].map((i) => i + 101));

        await insert('large', '2026-11-02T00:00:00.000Z');
        const big = 'x'.repeat(100 * 1024);
        for (let seq = 1; seq <= 4; seq += 1) {
          await repository.appendEvent('large', { seq, type: 't', data: big }, true);
        }
        // The third event passes 256 KiB: it is the page's last.
        expect((await repository.eventsAfter('large', 0)).map((event) => event.seq)).toEqual([
          1, 2, 3,
        ]);
        expect((await repository.eventsAfter('large', 3)).map((event) => event.seq)).toEqual([4]);
      });

      it('records an end once: a later end of an ended run changes nothing', async () => {
        await insert('reaped', '2026-11-02T00:00:00.000Z');
        await repository.markRunning('reaped', '2026-11-02T00:00:01.000Z');
        const interrupted = { ...END, status: 'interrupted' as const, error: 'owner lost' };
        expect(await repository.finish('reaped', interrupted, '2026-11-02T00:00:02.000Z')).toBe(
          true,
        );
        const late = { ...END, status: 'succeeded' as const, result: 'late' };
        expect(await repository.finish('reaped', late, '2026-11-02T00:00:03.000Z')).toBe(false);
        await repository.markRunning('reaped', '2026-11-02T00:00:04.000Z');
        expect(await repository.get('reaped')).toMatchObject({
          status: 'interrupted',
          error: 'owner lost',
          result: 'ok',
          finishedAt: '2026-11-02T00:00:02.000Z',
        });
      });

      it("records an end with what the run itself spent of its session's running cost", async () => {
        await insert('first', '2026-11-02T00:00:00.000Z', { sessionId: 'shared' });
        await repository.finish(
          'first',
          {
            ...END,
            status: 'succeeded',
            costUsd: 0.5,
            usage: { input_tokens: 3 },
            structuredOutput: { a: 1 },
            resultMessage: '{"type":"result"}',
          },
          '2026-11-02T00:01:00.000Z',
        );
        await insert('second', '2026-11-02T00:02:00.000Z', { sessionId: 'shared' });
        expect(await repository.finishedAt('second')).toBeNull();
        await repository.finish(
          'second',
          {
            ...END,
            status: 'failed',
            truncated: true,
            costUsd: 1.25,
            error: 'boom',
            errorCode: 'CLI_FAILED',
          },
          '2026-11-02T00:03:00.000Z',
        );
        expect(await repository.get('first')).toMatchObject({
          costUsd: 0.5,
          spentUsd: 0.5,
          usage: { input_tokens: 3 },
          structuredOutput: { a: 1 },
          resultMessage: '{"type":"result"}',
          finishedAt: '2026-11-02T00:01:00.000Z',
        });
        expect(await repository.get('second')).toMatchObject({
          status: 'failed',
          truncated: true,
          costUsd: 1.25,
          spentUsd: 0.75,
          error: 'boom',
          errorCode: 'CLI_FAILED',
        });
        expect(await repository.finishedAt('second')).toBe('2026-11-02T00:03:00.000Z');
        expect(await repository.finishedAt('no-such-run')).toBeNull();
        expect(await repository.spentSince('dev', '2026-11-02T00:00:00.000Z')).toBe(1.25);
        expect(await repository.spentSince('dev', '2026-11-02T00:02:00.000Z')).toBe(0.75);
        expect(await repository.spentSince('staging', '2026-11-01T00:00:00.000Z')).toBe(0);
        expect(await repository.spendingSince('dev', '2026-11-01T00:00:00.000Z')).toEqual([
          { finishedAt: '2026-11-02T00:01:00.000Z', spentUsd: 0.5 },
          { finishedAt: '2026-11-02T00:03:00.000Z', spentUsd: 0.75 },
        ]);
        expect(await repository.submittedSince('a-token', '2026-11-02T00:01:00.000Z')).toEqual([
          '2026-11-02T00:02:00.000Z',
        ]);
        expect(
          await repository.submittedSince('another-token', '2020-01-01T00:00:00.000Z'),
        ).toEqual([]);
      });

      it('lets only one of two submits at once through a quota with room for one', async () => {
        const config = loadConfig({ API_TOKEN: 'c'.repeat(32), TOKEN_RUN_QUOTA: '1' });
        const budgets = new RunBudgets(config, repository, store);
        const submit = (id: string) =>
          budgets.checkAndRecord('dev', 'quota-token', async (tx) => {
            await repository.insert(
              {
                id,
                env: 'dev',
                sessionId: id,
                request: { env: 'dev', prompt: id },
                createdAt: new Date().toISOString(),
                ownerReplica: 'replica-a',
              },
              'quota-token',
              tx,
            );
            return id;
          });
        const outcomes = await Promise.allSettled([submit('one'), submit('two')]);
        expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
        const refused = outcomes.find((outcome) => outcome.status === 'rejected');
        expect(refused?.reason).toMatchObject({ code: ErrorCode.RUN_QUOTA_EXHAUSTED });
        expect(await repository.list({ limit: 5 })).toHaveLength(1);
      });
    });

    describe('TokensRepository', () => {
      let repository: TokensRepository;
      beforeEach(() => {
        repository = new TokensRepository(store);
      });

      const insert = async (
        id: string,
        expiresAt: string,
        revokedAt: string | null = null,
        createdAt = '2026-01-01T00:00:00.000Z',
      ) => {
        const token: StoredToken = {
          id,
          tokenHash: `hash-${id}`,
          name: `name ${id}`,
          environments: ['dev', 'staging'],
          actions: ['read', 'run'],
          createdAt,
          expiresAt,
          revokedAt: null,
        };
        await repository.insert(token);
        if (revokedAt) await repository.revoke(id, revokedAt);
        return token;
      };

      it('keeps a token as it was minted, and pages newest first', async () => {
        const kept = await insert(
          't1',
          '2026-12-01T00:00:00.000Z',
          null,
          '2026-01-01T00:00:01.000Z',
        );
        await insert('t2', '2026-12-01T00:00:00.000Z', null, '2026-01-01T00:00:02.000Z');
        await insert('t3', '2026-12-01T00:00:00.000Z', null, '2026-01-01T00:00:02.000Z');
        expect(await repository.get('t1')).toEqual(kept);
        expect(await repository.get('no-such-token')).toBeNull();
        const ids = async (before: { createdAt: string; id: string } | undefined, limit: number) =>
          (await repository.list(before, limit)).map(({ id }) => id);
        expect(await ids(undefined, 2)).toEqual(['t3', 't2']);
        expect(await ids({ createdAt: '2026-01-01T00:00:02.000Z', id: 't2' }, 5)).toEqual(['t1']);
      });

      it('keeps what expired or was revoked after the cutoff, and prunes what did before it', async () => {
        const cutoff = '2026-06-01T00:00:00.000Z';
        await insert('live', '2026-12-01T00:00:00.000Z');
        await insert('expired-long-ago', '2026-05-31T00:00:00.000Z');
        await insert('expired-lately', '2026-06-02T00:00:00.000Z');
        await insert('revoked-long-ago', '2026-12-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z');
        await insert('revoked-lately', '2026-12-01T00:00:00.000Z', '2026-06-15T00:00:00.000Z');

        expect(await repository.pruneBefore(cutoff)).toBe(2);
        expect((await repository.list(undefined, 100)).map(({ id }) => id).sort()).toEqual([
          'expired-lately',
          'live',
          'revoked-lately',
        ]);
        // Only what neither expired nor was revoked by `now` is live.
        expect((await repository.live('2026-06-10T00:00:00.000Z')).map(({ id }) => id)).toEqual([
          'live',
        ]);
      });

      it('keeps the first revocation time when a token is revoked again', async () => {
        await insert('twice', '2026-12-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z');
        expect(await repository.revoke('twice', '2026-08-01T00:00:00.000Z')).toBe(true);
        expect((await repository.get('twice'))?.revokedAt).toBe('2026-07-01T00:00:00.000Z');
        expect(await repository.revoke('no-such-token', '2026-08-01T00:00:00.000Z')).toBe(false);
      });
    });

    describe('SessionsRepository', () => {
      let repository: SessionsRepository;
      beforeEach(() => {
        repository = new SessionsRepository(store);
      });

      // An mtime in ms is past 32 bits: it must come back as the same number.
      const file = (id: string, mtimeMs: number, size = 10): IndexedFile => {
        const summary = {
          title: `title ${id}`,
          firstTimestamp: '2026-01-02T00:00:00.000Z',
          messageCount: 3,
          skippedLines: 1,
        };
        return { id, size, mtimeMs, summary, read: { bytes: size, summary } };
      };

      it('indexes transcripts found on disk, with what a list shows, by session', async () => {
        const mtimeMs = 1_767_225_600_123;
        await repository.saveTranscripts('dev', [file('a', mtimeMs)]);
        const found = await repository.find('dev', 'a');
        expect(found).toMatchObject({
          env: 'dev',
          id: 'a',
          reserved: false,
          title: null,
          createdAt: '2026-01-02T00:00:00.000Z',
          updatedAt: new Date(Math.floor(mtimeMs / 1000) * 1000).toISOString(),
          transcript: { size: 10, mtimeMs, summary: file('a', mtimeMs).summary },
        });
        expect(found?.transcript?.read).toEqual({ bytes: 10, summary: file('a', mtimeMs).summary });
        const indexed = await repository.transcripts('dev');
        expect([...indexed.keys()]).toEqual(['a']);
        expect(indexed.get('a')?.mtimeMs).toBe(mtimeMs);
        expect(await repository.find('staging', 'a')).toBeNull();

        await repository.saveTranscripts('dev', [file('a', mtimeMs + 5000, 20)]);
        expect((await repository.find('dev', 'a'))?.transcript).toMatchObject({
          size: 20,
          mtimeMs: mtimeMs + 5000,
        });
      });

      it('keeps a reservation through its transcript coming and going; others leave the index', async () => {
        const reserved = await repository.reserve('dev', 'r', 'Kept');
        expect(await repository.find('dev', 'r')).toEqual(reserved);
        await repository.saveTranscripts('dev', [
          file('r', 1_767_225_600_000),
          file('u', 1_767_225_600_000),
        ]);
        expect(await repository.find('dev', 'r')).toMatchObject({
          reserved: true,
          title: 'Kept',
          createdAt: reserved.createdAt,
        });

        await repository.dropTranscripts('dev', ['r', 'u']);
        expect(await repository.find('dev', 'r')).toEqual(reserved);
        expect(await repository.find('dev', 'u')).toBeNull();
        expect(await repository.transcripts('dev')).toEqual(new Map());

        expect(await repository.delete('dev', 'r')).toBe(true);
        expect(await repository.delete('dev', 'r')).toBe(false);
      });

      it('pages newest first by update time, then id', async () => {
        const second = 1_767_225_600_000;
        await repository.saveTranscripts('dev', [
          file('a', second),
          file('b', second),
          file('c', second + 1000),
        ]);
        await repository.saveTranscripts('staging', [file('z', second + 9000)]);
        const ids = async (limit: number, after?: { updatedAt: string; id: string }) =>
          (await repository.page('dev', limit, after)).map(({ id }) => id);
        expect(await ids(2)).toEqual(['c', 'b']);
        expect(await ids(5, { updatedAt: new Date(second).toISOString(), id: 'b' })).toEqual(['a']);
      });

      it('remembers which environments were scanned', async () => {
        expect(await repository.wasScanned('dev')).toBe(false);
        await repository.markScanned('dev');
        await repository.markScanned('dev');
        expect(await repository.wasScanned('dev')).toBe(true);
        expect(await repository.wasScanned('staging')).toBe(false);
      });
    });

    describe('WebhookDeliveriesRepository', () => {
      let repository: WebhookDeliveriesRepository;
      beforeEach(() => {
        repository = new WebhookDeliveriesRepository(store);
      });

      const enqueue = (id: string, createdAt: string, eventType = 'run.ended') =>
        repository.enqueue({ id, eventType, payload: `{"id":"${id}"}`, createdAt });

      it('hands out the delivery due longest, once, and says when the next is due', async () => {
        expect(await repository.claimDue('2026-01-01T00:00:00.000Z')).toBeNull();
        expect(await repository.nextDueAt()).toBeNull();
        await enqueue('msg_b', '2026-01-01T00:00:02.000Z');
        await enqueue('msg_a', '2026-01-01T00:00:01.000Z');
        expect(await repository.nextDueAt()).toBe('2026-01-01T00:00:01.000Z');
        // Not due yet.
        expect(await repository.claimDue('2026-01-01T00:00:00.000Z')).toBeNull();

        const claimed = await repository.claimDue('2026-01-01T00:00:05.000Z');
        expect(claimed).toEqual({
          id: 'msg_a',
          eventType: 'run.ended',
          payload: '{"id":"msg_a"}',
          status: 'delivering',
          attempts: 0,
          createdAt: '2026-01-01T00:00:01.000Z',
          nextAttemptAt: '2026-01-01T00:00:01.000Z',
          lastAttemptAt: null,
          lastResponseStatus: null,
          lastError: null,
          deliveredAt: null,
        });
        expect((await repository.claimDue('2026-01-01T00:00:05.000Z'))?.id).toBe('msg_b');
        expect(await repository.claimDue('2026-01-01T00:00:05.000Z')).toBeNull();
        expect(await repository.nextDueAt()).toBeNull();

        expect(await repository.release('msg_a')).toBe(1);
        expect(await repository.release('msg_a')).toBe(0);
        expect(await repository.release()).toBe(1);
        expect((await repository.get('msg_b'))?.status).toBe('pending');
      });

      it('records attempts: delivered, pending until the retry, or failed with the reason cut short', async () => {
        await enqueue('msg_ok', '2026-01-01T00:00:01.000Z');
        await enqueue('msg_retry', '2026-01-01T00:00:02.000Z');
        await enqueue('msg_failed', '2026-01-01T00:00:03.000Z');
        await repository.recordAttempt(
          'msg_ok',
          { ok: true, responseStatus: 204 },
          '2026-01-01T00:01:00.000Z',
          null,
        );
        await repository.recordAttempt(
          'msg_retry',
          { ok: false, responseStatus: 500, error: 'HTTP 500' },
          '2026-01-01T00:01:00.000Z',
          '2026-01-01T00:02:00.000Z',
        );
        await repository.recordAttempt(
          'msg_failed',
          { ok: false, responseStatus: null, error: 'e'.repeat(2000) },
          '2026-01-01T00:01:00.000Z',
          null,
        );
        expect(await repository.get('msg_ok')).toMatchObject({
          status: 'delivered',
          attempts: 1,
          lastResponseStatus: 204,
          lastError: null,
          nextAttemptAt: null,
          deliveredAt: '2026-01-01T00:01:00.000Z',
        });
        expect(await repository.get('msg_retry')).toMatchObject({
          status: 'pending',
          attempts: 1,
          lastError: 'HTTP 500',
          nextAttemptAt: '2026-01-01T00:02:00.000Z',
          lastAttemptAt: '2026-01-01T00:01:00.000Z',
        });
        const failed = await repository.get('msg_failed');
        expect(failed).toMatchObject({
          status: 'failed',
          lastResponseStatus: null,
          nextAttemptAt: null,
        });
        expect(failed?.lastError).toHaveLength(500);
        expect(await repository.get('msg_none')).toBeNull();
      });

      it('lists newest first with filters, and prunes only finished deliveries before the cutoff', async () => {
        await enqueue('msg_1', '2026-01-01T00:00:01.000Z', 'run.ended');
        await enqueue('msg_2', '2026-01-01T00:00:02.000Z', 'session.deleted');
        await enqueue('msg_3', '2026-01-01T00:00:03.000Z', 'run.ended');
        await repository.recordAttempt(
          'msg_1',
          { ok: true, responseStatus: 200 },
          '2026-01-01T00:01:00.000Z',
          null,
        );
        const ids = async (filter: Parameters<WebhookDeliveriesRepository['list']>[0]) =>
          (await repository.list(filter)).map(({ id }) => id);
        expect(await ids({ limit: 2 })).toEqual(['msg_3', 'msg_2']);
        expect(await ids({ limit: 5, eventType: 'run.ended' })).toEqual(['msg_3', 'msg_1']);
        expect(await ids({ limit: 5, status: 'pending' })).toEqual(['msg_3', 'msg_2']);
        expect(
          await ids({ limit: 5, before: { createdAt: '2026-01-01T00:00:02.000Z', id: 'msg_2' } }),
        ).toEqual(['msg_1']);

        expect(await repository.pruneBefore('2026-01-01T00:00:05.000Z')).toBe(1);
        expect(await ids({ limit: 5 })).toEqual(['msg_3', 'msg_2']);
      });
    });
  });
}
