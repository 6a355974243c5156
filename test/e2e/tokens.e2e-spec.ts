import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { components } from '../../client/src';
import { Clock } from '../../src/common/clock';
import { DATABASE_FILE } from '../../src/store/sqlite-store';
import { appWithFakeUpstreamSuite, envParams, startTestApp, TestApp } from '../support/test-app';

type MintToken = components['schemas']['MintTokenDto'];
type MintedToken = components['schemas']['MintedTokenDto'];

/** The system's time, moved forward by the test instead of waited for. */
class MovableClock extends Clock {
  private aheadMs = 0;
  private heldAt: number | null = null;
  now(): number {
    return (this.heldAt ?? Date.now()) + this.aheadMs;
  }
  advance(ms: number): void {
    this.aheadMs += ms;
  }
  /** Until `release`, only `advance` moves the clock: a slow request costs no time. */
  hold(): void {
    this.heldAt = Date.now();
  }
  release(): void {
    this.heldAt = null;
  }
}

async function mint(t: TestApp, body: MintToken): Promise<MintedToken> {
  const { data, response } = await t.client.POST('/api/tokens', { body });
  if (response.status !== 201 || !data) throw new Error(`mint answered ${response.status}`);
  return data;
}

/** A request with a scoped token instead of the master token. */
const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('scoped tokens (the real app over HTTP, real engine and CLI)', () => {
  const clock = new MovableClock();
  // Two runs per token: the master's run in each environment, then the scoped token's own two.
  const suite = appWithFakeUpstreamSuite(
    { TOKEN_RUN_QUOTA: '2', THROTTLE_CLAUDE_LIMIT: '1000' },
    ['dev', 'staging'],
    { overrides: [{ provide: Clock, useValue: clock }] },
  );

  it('mints with a master token a token shown once and kept as its SHA-256 only, and lists it without it', async () => {
    const t = suite.t;
    const minted = await mint(t, {
      name: 'lifeos-web: ada',
      environments: ['dev'],
      actions: ['read', 'run'],
      ttlSeconds: 600,
    });
    expect(minted).toMatchObject({
      name: 'lifeos-web: ada',
      environments: ['dev'],
      actions: ['read', 'run'],
    });
    expect(minted.token).toMatch(/^cca_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(minted.expiresAt) - Date.parse(minted.createdAt)).toBe(600_000);

    const listed = await t.request('GET', '/api/tokens');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(minted.token);
    expect((listed.body as { items: unknown[] }).items).toContainEqual({
      id: minted.id,
      name: 'lifeos-web: ada',
      environments: ['dev'],
      actions: ['read', 'run'],
      createdAt: minted.createdAt,
      expiresAt: minted.expiresAt,
      revokedAt: null,
    });

    const store = new Database(join(t.config.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const row = store.prepare('SELECT * FROM api_tokens WHERE id = ?').get(minted.id);
      expect(JSON.stringify(row)).not.toContain(minted.token.slice(4));
      expect(row).toMatchObject({
        token_hash: createHash('sha256').update(minted.token).digest('hex'),
      });
    } finally {
      store.close();
    }
  });

  it('lists the tokens a page at a time, newest first, each once', async () => {
    const { t } = suite;
    const minted: string[] = [];
    for (const name of ['page a', 'page b', 'page c']) {
      minted.push((await mint(t, { name, environments: ['dev'], actions: ['read'] })).id);
      // Each its own creation time: two mints may land in one millisecond.
      clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { data } = await t.client.GET('/api/tokens', {
        params: { query: { limit: 2, cursor } },
      });
      if (!data) throw new Error('no page');
      expect(data.items.length).toBeLessThanOrEqual(2);
      seen.push(...data.items.map(({ id }) => id));
      cursor = data.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(Math.ceil(seen.length / 2));
    expect(new Set(seen).size).toBe(seen.length);
    // Newest first: the three just minted lead, the last minted first.
    expect(seen.slice(0, 3)).toEqual([...minted].reverse());
  });

  it('lets a scoped token do what its actions allow in its environments, and refuses the rest with 403 SCOPE_DENIED', async () => {
    const t = suite.t;
    const { token } = await mint(t, {
      name: 'dev reader',
      environments: ['dev'],
      actions: ['read'],
    });

    const own = await t.request('GET', '/api/containers/dev', as(token));
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ env: 'dev', running: true });

    const refusals = [
      // Another environment, by path, body and filter.
      await t.request('GET', '/api/containers/staging', as(token)),
      await t.request('GET', '/api/sessions/staging', as(token)),
      await t.request('GET', '/api/executions?env=staging', as(token)),
      // Actions it lacks: run, admin.
      await t.request('POST', '/api/sessions', { ...as(token), body: { env: 'dev' } }),
      await t.request('POST', '/api/containers/dev/start', as(token)),
      await t.request('POST', '/api/containers/dev/stop', as(token)),
      await t.request('GET', '/api/webhooks/deliveries', as(token)),
      // Tokens are minted, listed and revoked with a master token only.
      await t.request('POST', '/api/tokens', {
        ...as(token),
        body: { name: 'escalate', environments: ['*'], actions: ['admin'] },
      }),
      await t.request('GET', '/api/tokens', as(token)),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe(403);
      expect(refusal.body).toMatchObject({ statusCode: 403, code: 'SCOPE_DENIED' });
    }
    expect((refusals[0].body as { message: string }).message).toBe(
      'This token may act in dev only, not in environment "staging"',
    );
    // The container it may not stop still runs.
    expect((await t.client.GET('/api/containers/{env}', envParams('dev'))).data?.running).toBe(
      true,
    );

    // With the run action, a body without an env is the validation's 400, not a 403.
    const runner = await mint(t, { name: 'dev runner', environments: ['dev'], actions: ['run'] });
    const noEnv = await t.request('POST', '/api/sessions', { ...as(runner.token), body: {} });
    expect(noEnv.status).toBe(400);
    expect(noEnv.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    const reserved = await t.request('POST', '/api/sessions', {
      ...as(runner.token),
      body: { env: 'dev' },
    });
    expect(reserved.status).toBe(201);
    const elsewhere = await t.request('POST', '/api/sessions', {
      ...as(runner.token),
      body: { env: 'staging' },
    });
    expect(elsewhere.status).toBe(403);
  });

  it("shows a scoped token only its environments' runs, and counts its runs as its own", async () => {
    const t = suite.t;
    const devRun = await t.client.POST('/api/execute', { body: { env: 'dev', prompt: 'in dev' } });
    const stagingRun = await t.client.POST('/api/execute', {
      body: { env: 'staging', prompt: 'in staging' },
    });
    expect([devRun.data?.success, stagingRun.data?.success]).toEqual([true, true]);
    const stagingId = (
      await t.client.GET('/api/executions', { params: { query: { env: 'staging' } } })
    ).data?.items[0].id;
    expect(stagingId).toBeDefined();

    const { token } = await mint(t, {
      name: 'dev app',
      environments: ['dev'],
      actions: ['read', 'run'],
    });
    const listed = await t.request('GET', '/api/executions', as(token));
    const envs = (listed.body as { items: { env: string }[] }).items.map(({ env }) => env);
    expect(envs).toContain('dev');
    expect(envs).not.toContain('staging');
    for (const path of [`/api/executions/${stagingId}`, `/api/executions/${stagingId}/events`]) {
      const hidden = await t.request('GET', path, as(token));
      expect(hidden.status).toBe(404);
      expect(hidden.body).toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    }
    const cancel = await t.request('POST', `/api/executions/${stagingId}/cancel`, as(token));
    expect(cancel.status).toBe(404);

    // The master token has used its quota of 2; the scoped token's runs count for its own id.
    const refusedMaster = await t.client.POST('/api/execute', {
      body: { env: 'dev', prompt: 'x' },
    });
    expect(refusedMaster.response.status).toBe(429);
    for (const prompt of ['mine 1', 'mine 2']) {
      const mine = await t.request('POST', '/api/execute', {
        ...as(token),
        body: { env: 'dev', prompt },
      });
      expect(mine.body).toMatchObject({ success: true, output: `echo: ${prompt}` });
    }
    const third = await t.request('POST', '/api/execute', {
      ...as(token),
      body: { env: 'dev', prompt: 'mine 3' },
    });
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'RUN_QUOTA_EXHAUSTED' });
  });

  it('refuses a revoked token from the next request on, as an unknown one (401)', async () => {
    const t = suite.t;
    const minted = await mint(t, { name: 'to revoke', environments: ['*'], actions: ['read'] });
    expect((await t.request('GET', '/api/executions', as(minted.token))).status).toBe(200);

    const revoked = await t.request('DELETE', `/api/tokens/${minted.id}`);
    expect(revoked.status).toBe(204);
    const after = await t.request('GET', '/api/executions', as(minted.token));
    const unknown = await t.request('GET', '/api/executions', as(`cca_${'x'.repeat(43)}`));
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid bearer token' });
    expect(unknown.body).toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid bearer token' });

    const listed = (await t.client.GET('/api/tokens')).data?.items.find(
      ({ id }) => id === minted.id,
    );
    expect(listed?.revokedAt).toEqual(expect.any(String));
    // Again is harmless; an id that names no token is 404.
    expect((await t.request('DELETE', `/api/tokens/${minted.id}`)).status).toBe(204);
    const missing = await t.request('DELETE', '/api/tokens/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'TOKEN_NOT_FOUND' });
  });

  it('refuses an expired token from the moment it expires, as an unknown one (401)', async () => {
    const t = suite.t;
    clock.hold();
    try {
      const { token } = await mint(t, {
        name: 'short',
        environments: ['*'],
        actions: ['read'],
        ttlSeconds: 60,
      });
      clock.advance(59_999);
      expect((await t.request('GET', '/api/executions', as(token))).status).toBe(200);
      clock.advance(1);
      const expired = await t.request('GET', '/api/executions', as(token));
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid bearer token' });
    } finally {
      clock.release();
    }
  });

  it.each<[string, Partial<MintToken>, RegExp]>([
    [
      'an environment that is not configured',
      { environments: ['prod'] },
      /"prod" is not a configured environment \(dev, staging\)/,
    ],
    [
      '"*" beside names',
      { environments: ['*', 'dev'] },
      /"\*" means every environment and stands alone/,
    ],
    [
      'an unknown action',
      { actions: ['delete' as 'read'] },
      /actions must be among read, run, admin/,
    ],
    ['a ttl under a minute', { ttlSeconds: 59 }, /ttlSeconds must not be less than 60/],
    [
      'a ttl over 30 days',
      { ttlSeconds: 2_592_001 },
      /ttlSeconds must not be greater than 2592000/,
    ],
    ['no name', { name: '' }, /name must be longer than or equal to 1 characters/],
  ])('refuses to mint with %s (400 VALIDATION_FAILED)', async (_case, change, detail) => {
    const body = { name: 'n', environments: ['dev'], actions: ['read'], ...change };
    const res = await suite.t.request('POST', '/api/tokens', { body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((res.body as { details: string[] }).details.join('\n')).toMatch(detail);
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'cursor=garbage', 'other=1'])(
    'refuses to list tokens with %s (400 VALIDATION_FAILED)',
    async (query) => {
      const res = await suite.t.request('GET', `/api/tokens?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    },
  );
});

describe('scoped tokens across a restart', () => {
  it('keeps live tokens working and revoked ones refused, as the store says', async () => {
    const first = await startTestApp();
    let second: TestApp | undefined;
    try {
      const kept = await mint(first, { name: 'kept', environments: ['*'], actions: ['read'] });
      const revoked = await mint(first, {
        name: 'revoked',
        environments: ['*'],
        actions: ['read'],
      });
      expect((await first.request('DELETE', `/api/tokens/${revoked.id}`)).status).toBe(204);
      await first.close();

      second = await startTestApp({ API_TOKEN: first.token, DATA_DIR: first.config.dataDir });
      expect((await second.request('GET', '/api/executions', as(kept.token))).status).toBe(200);
      expect((await second.request('GET', '/api/executions', as(revoked.token))).status).toBe(401);
    } finally {
      await first.close();
      await second?.close();
    }
  });
});

describe('scoped tokens and the per-token rate limit', () => {
  it("counts a scoped token's requests in a bucket of its own, apart from the master token's", async () => {
    const t = await startTestApp({ THROTTLE_TOKEN_LIMIT: '3' });
    try {
      const { token } = await mint(t, {
        name: 'own bucket',
        environments: ['*'],
        actions: ['read'],
      });
      // The mint was the master's first request of three.
      for (let i = 0; i < 2; i += 1) {
        expect((await t.request('GET', '/api/executions')).status).toBe(200);
      }
      expect((await t.request('GET', '/api/executions')).status).toBe(429);
      for (let i = 0; i < 3; i += 1) {
        expect((await t.request('GET', '/api/executions', as(token))).status).toBe(200);
      }
      const limited = await t.request('GET', '/api/executions', as(token));
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      await t.close();
    }
  });
});
