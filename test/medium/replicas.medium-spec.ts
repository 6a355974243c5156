import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokensRepository } from '../../src/tokens/tokens.repository';
import { testRedisSettings } from '../support/test-redis';
import { ExecutionsApp, executionsApps, TOKEN } from './executions-app';

// Two API replicas in one process, sharing one Redis (and, for the tokens, one store), as two
// processes behind a proxy would. Needs a Redis at TEST_REDIS_URL (scripts/ensure-redis.sh).
jest.setTimeout(30_000);

describe('two replicas on one Redis', () => {
  const boot = executionsApps();
  const dataDirs: string[] = [];
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** Two replicas with the same Redis prefix, and the same store when `sharedStore`. */
  async function replicas(
    settings: Record<string, string>,
    sharedStore = false,
  ): Promise<[ExecutionsApp, ExecutionsApp]> {
    const redis = testRedisSettings();
    const dataDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'cca-replicas-'));
      dataDirs.push(dir);
      return dir;
    };
    const storeOf = sharedStore ? dataDir() : undefined;
    const a = await boot({
      ...redis,
      ...settings,
      REPLICA_ID: 'a',
      DATA_DIR: storeOf ?? dataDir(),
    });
    const b = await boot({
      ...redis,
      ...settings,
      REPLICA_ID: 'b',
      DATA_DIR: storeOf ?? dataDir(),
    });
    return [a, b];
  }

  it('counts a token limit across both: N through A and B together, then 429 on either', async () => {
    const [a, b] = await replicas({ THROTTLE_TOKEN_LIMIT: '5' });
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (const replica of [a, b, a, b, a]) {
      const reply = await replica.request('GET', '/api/tokens');
      statuses.push(reply.statusCode);
      remaining.push(String(reply.headers['x-ratelimit-remaining-token']));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);

    for (const replica of [b, a]) {
      const refused = await replica.request('GET', '/api/tokens');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
  });

  describe('scoped tokens on one store', () => {
    async function mintOn(replica: ExecutionsApp): Promise<{ id: string; token: string }> {
      const minted = await replica.request('POST', '/api/tokens', {
        name: 'app',
        environments: ['dev'],
        actions: ['read'],
      });
      expect(minted.statusCode).toBe(201);
      return minted.json<{ id: string; token: string }>();
    }

    const asToken = (replica: ExecutionsApp, token: string) =>
      replica.app.inject({
        method: 'GET',
        url: '/api/executions?env=dev',
        headers: { authorization: `Bearer ${token}` },
      });

    it('honours on B a token minted on A, and refuses it on B from the request after its revocation on A', async () => {
      const [a, b] = await replicas({}, true);
      const { id, token } = await mintOn(a);
      expect((await asToken(b, token)).statusCode).toBe(200);
      expect((await asToken(a, token)).statusCode).toBe(200);

      const revoked = await a.app.inject({
        method: 'DELETE',
        url: `/api/tokens/${id}`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(revoked.statusCode).toBe(204);
      const refused = await asToken(b, token);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      expect((await asToken(a, token)).statusCode).toBe(401);
    });

    it('asks the store once for a token it does not know, then refuses it from memory for a while', async () => {
      const [, b] = await replicas({}, true);
      const lookups = jest.spyOn(b.app.get(TokensRepository), 'byHash');
      const guess = `cca_${'x'.repeat(43)}`;
      expect((await asToken(b, guess)).statusCode).toBe(401);
      expect((await asToken(b, guess)).statusCode).toBe(401);
      expect(lookups).toHaveBeenCalledTimes(1);
    });
  });
});
