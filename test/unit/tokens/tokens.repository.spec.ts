import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config';
import { DatabaseService } from '../../../src/store/database.service';
import { StoredToken, TokensRepository } from '../../../src/tokens/tokens.repository';

describe('TokensRepository', () => {
  const database = new DatabaseService(
    loadConfig({ API_TOKEN: 'r'.repeat(32), DATA_DIR: mkdtempSync(join(tmpdir(), 'cca-repo-')) }),
  );
  const repository = new TokensRepository(database);
  afterAll(() => database.onApplicationShutdown());

  const insert = (id: string, expiresAt: string, revokedAt: string | null = null) => {
    const token: StoredToken = {
      id,
      tokenHash: `hash-${id}`,
      name: id,
      environments: ['dev'],
      actions: ['read'],
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt,
      revokedAt: null,
    };
    repository.insert(token);
    if (revokedAt) repository.revoke(id, revokedAt);
  };

  it('keeps what expired or was revoked after the cutoff, and prunes what did before it', () => {
    const cutoff = '2026-06-01T00:00:00.000Z';
    insert('live', '2026-12-01T00:00:00.000Z');
    insert('expired-long-ago', '2026-05-31T00:00:00.000Z');
    insert('expired-lately', '2026-06-02T00:00:00.000Z');
    insert('revoked-long-ago', '2026-12-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z');
    insert('revoked-lately', '2026-12-01T00:00:00.000Z', '2026-06-15T00:00:00.000Z');

    expect(repository.pruneBefore(cutoff)).toBe(2);
    expect(
      repository
        .list(undefined, 100)
        .map(({ id }) => id)
        .sort(),
    ).toEqual(['expired-lately', 'live', 'revoked-lately']);
    // Only what neither expired nor was revoked by `now` is live.
    expect(repository.live('2026-06-10T00:00:00.000Z').map(({ id }) => id)).toEqual(['live']);
  });

  it('keeps the first revocation time when a token is revoked again', () => {
    insert('twice', '2026-12-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z');
    expect(repository.revoke('twice', '2026-08-01T00:00:00.000Z')).toBe(true);
    expect(repository.get('twice')?.revokedAt).toBe('2026-07-01T00:00:00.000Z');
    expect(repository.revoke('no-such-token', '2026-08-01T00:00:00.000Z')).toBe(false);
  });
});
