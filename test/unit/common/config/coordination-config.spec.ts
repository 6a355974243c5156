import { loadConfig } from '../../../../src/common/config/load-config';
import { CONFIG_TOKEN, configProblems } from '../../../support/config-problems';

describe('coordination settings (REDIS_URL, REDIS_TIMEOUT_MS, REDIS_KEY_PREFIX, REPLICA_ID)', () => {
  it('keeps everything in this process without REDIS_URL, under a replica id of its own', () => {
    const first = loadConfig({ API_TOKEN: CONFIG_TOKEN }).coordination;
    const second = loadConfig({ API_TOKEN: CONFIG_TOKEN }).coordination;
    expect(first.redis).toBeNull();
    expect(first.replicaId).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{8}$/);
    expect(second.replicaId).not.toBe(first.replicaId);
  });

  it('reads Redis with its timeout and prefix, and a URL for the logs without the password', () => {
    const { coordination } = loadConfig({
      API_TOKEN: CONFIG_TOKEN,
      REDIS_URL: 'rediss://app:s3cret@cache.internal:6380/2',
      REDIS_TIMEOUT_MS: '1500',
      REDIS_KEY_PREFIX: 'team-a:',
      REPLICA_ID: 'api-1',
    });
    expect(coordination).toEqual({
      replicaId: 'api-1',
      redis: {
        url: 'rediss://app:s3cret@cache.internal:6380/2',
        safeUrl: 'rediss://cache.internal:6380/2',
        timeoutMs: 1500,
        keyPrefix: 'team-a:',
      },
    });
  });

  it.each([
    'http://cache:6379',
    'cache:6379',
    'redis://',
    'redis://cache:6379/db',
    'redis://cache:6379/0?password=x',
    'unix:///run/redis.sock',
  ])('refuses REDIS_URL=%s at boot, without repeating it', (url) => {
    const problems = configProblems({ REDIS_URL: url });
    expect(problems).toEqual([
      'REDIS_URL must be a redis:// or rediss:// URL such as redis://:password@redis:6379/0',
    ]);
  });

  it('never repeats a refused URL, which may hold a password', () => {
    const problems = configProblems({ REDIS_URL: 'http://:hunter2-secret@cache:6379' });
    expect(problems.join('\n')).not.toContain('hunter2-secret');
  });

  it('refuses a REPLICA_ID or REDIS_KEY_PREFIX that would not make a clean name', () => {
    expect(configProblems({ REPLICA_ID: 'api 1', REDIS_KEY_PREFIX: 'a b' })).toEqual([
      'REDIS_KEY_PREFIX must be letters, digits and : . _ - (at most 64)',
      'REPLICA_ID must be letters, digits and . _ - (at most 64), starting with a letter or digit',
    ]);
  });
});
