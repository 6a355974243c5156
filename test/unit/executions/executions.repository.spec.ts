import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config';
import { ExecutionsRepository } from '../../../src/executions/executions.repository';
import { DatabaseService } from '../../../src/store/database.service';

describe('ExecutionsRepository', () => {
  const database = new DatabaseService(
    loadConfig({ API_TOKEN: 'r'.repeat(32), DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-repo-')) }),
  );
  const repository = new ExecutionsRepository(database);
  afterAll(() => database.onApplicationShutdown());

  const insert = (id: string, createdAt: string) =>
    repository.insert(
      {
        id,
        env: 'dev',
        sessionId: `s-${id}`,
        request: { env: 'dev', prompt: id },
        createdAt,
      },
      'a-token',
    );
  const end = {
    exitCode: 0,
    result: 'ok',
    truncated: false,
    costUsd: null,
    usage: null,
    structuredOutput: null,
    resultMessage: null,
    error: null,
    errorCode: null,
  };

  it('prunes finished runs older than the cutoff with their events, and keeps unfinished ones', () => {
    insert('old-done', '2020-01-01T00:00:00.000Z');
    repository.appendEvent('old-done', { seq: 1, type: 'system', data: '{}' }, true);
    repository.finish('old-done', { ...end, status: 'succeeded' }, '2020-01-01T00:00:01.000Z');
    insert('old-running', '2020-01-01T00:00:00.000Z');
    repository.markRunning('old-running', '2020-01-01T00:00:00.500Z');
    insert('recent', '2026-11-01T00:00:00.000Z');
    repository.finish('recent', { ...end, status: 'failed' }, '2026-11-01T00:00:01.000Z');

    expect(repository.pruneBefore('2026-01-01T00:00:00.000Z')).toBe(1);
    expect(repository.get('old-done')).toBeNull();
    expect(repository.eventsAfter('old-done', 0)).toEqual([]);
    expect(repository.get('old-running')?.status).toBe('running');
    expect(repository.get('recent')?.status).toBe('failed');
  });

  it('stores events within bounds, counts the dropped ones, and lists newest first with filters', () => {
    insert('a', '2026-11-02T00:00:00.000Z');
    repository.appendEvent('a', { seq: 1, type: 'system', data: '{"n":1}' }, true);
    repository.appendEvent('a', { seq: 2, type: 'assistant', data: '{"n":2}' }, false);
    expect(repository.eventsAfter('a', 0)).toEqual([{ seq: 1, type: 'system', data: '{"n":1}' }]);
    expect(repository.get('a')).toMatchObject({
      eventCount: 2,
      eventsDropped: 1,
      status: 'queued',
    });

    insert('b', '2026-11-03T00:00:00.000Z');
    expect(repository.list({ limit: 2 }).map((run) => run.id)).toEqual(['b', 'a']);
    expect(repository.list({ limit: 5, sessionId: 's-a' }).map((run) => run.id)).toEqual(['a']);
    const beforeB = repository
      .list({ limit: 5, before: { createdAt: '2026-11-03T00:00:00.000Z', id: 'b' } })
      .map((run) => run.id);
    expect(beforeB).toContain('a');
    expect(beforeB).not.toContain('b');
  });
});
