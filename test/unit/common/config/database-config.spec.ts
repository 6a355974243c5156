import { loadConfig } from '../../../../src/common/config/load-config';
import { redactDatabaseUrl } from '../../../../src/common/config/database-config';
import { CONFIG_TOKEN, configProblems } from '../../../support/config-problems';

const URL_PROBLEM =
  'DATABASE_URL must be postgres://user:password@host:5432/database (postgres:// or postgresql://, with a host and a database name)';

describe('the database settings', () => {
  it('keep the embedded SQLite store when DATABASE_URL is unset', () => {
    expect(loadConfig({ API_TOKEN: CONFIG_TOKEN }).database).toEqual({ engine: 'sqlite' });
    expect(loadConfig({ API_TOKEN: CONFIG_TOKEN, DATABASE_URL: '' }).database).toEqual({
      engine: 'sqlite',
    });
  });

  it('choose PostgreSQL with DATABASE_URL, with a pool of 10 and a 10 s connect deadline by default', () => {
    const url = 'postgres://app:s3cret@db.internal:5432/claudecode';
    expect(loadConfig({ API_TOKEN: CONFIG_TOKEN, DATABASE_URL: url }).database).toEqual({
      engine: 'postgres',
      url,
      poolSize: 10,
      connectTimeoutMs: 10000,
    });
    const tuned = loadConfig({
      API_TOKEN: CONFIG_TOKEN,
      DATABASE_URL: 'postgresql://app@db.internal/claudecode?sslmode=require',
      DATABASE_POOL_SIZE: '4',
      DATABASE_CONNECT_TIMEOUT_MS: '2500',
    }).database;
    expect(tuned).toMatchObject({ engine: 'postgres', poolSize: 4, connectTimeoutMs: 2500 });
  });

  it.each([
    ['another scheme', 'mysql://app:s3cret@db.internal:3306/claudecode'],
    ['no host', 'postgres://app:s3cret@/claudecode'],
    ['no database', 'postgres://app:s3cret@db.internal:5432/'],
    ['a path past the database', 'postgres://app:s3cret@db.internal:5432/claudecode/extra'],
    ['not a URL', 'app:s3cret@db.internal'],
  ])('refuse a DATABASE_URL with %s, without repeating its password', (_case, url) => {
    const problems = configProblems({ DATABASE_URL: url });
    expect(problems).toEqual([URL_PROBLEM]);
    expect(problems.join('\n')).not.toContain('s3cret');
  });

  it('show a URL without its password or query', () => {
    expect(redactDatabaseUrl('postgres://app:s3cret@db.internal:5432/claudecode')).toBe(
      'postgres://app:***@db.internal:5432/claudecode',
    );
    expect(redactDatabaseUrl('postgres://app@db.internal/claudecode?password=s3cret')).toBe(
      'postgres://app@db.internal/claudecode',
    );
    expect(redactDatabaseUrl('not a url with s3cret')).not.toContain('s3cret');
  });
});
