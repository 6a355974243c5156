import { loadConfig } from '../../src/common/config/load-config';
import { Coordination } from '../../src/common/coordination/coordination.module';
import { randomBytes } from 'node:crypto';

/** The Redis the tests use (scripts/ensure-redis.sh starts one there). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Settings for the tests' Redis, under a key prefix of their own so parallel runs never meet.
 * REDIS_TIMEOUT_MS is generous: on a loaded machine a boot's first answer took over 3 s. A test
 * that waits for the timeout itself sets a shorter one.
 */
export function testRedisSettings(
  prefix = `cca-test-${randomBytes(4).toString('hex')}:`,
): Record<string, string> {
  return { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, REDIS_TIMEOUT_MS: '10000' };
}

/** A replica's coordination on the tests' Redis; fails loudly, saying how, when there is none. */
export async function connectTestRedis(
  replicaId: string,
  settings: Record<string, string>,
): Promise<Coordination> {
  const config = loadConfig({ API_TOKEN: 'r'.repeat(32), REPLICA_ID: replicaId, ...settings });
  try {
    return await Coordination.connect(config.coordination);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}. The Redis tests need a Redis server: run scripts/ensure-redis.sh, or set TEST_REDIS_URL`,
    );
  }
}

/** Has Redis drop the connection of that name (only ours: the name holds the replica id). */
export async function killConnection(through: Coordination, name: string): Promise<void> {
  const commands = through.redis!.commands;
  const list = (await commands.client('LIST')) as string;
  const line = list.split('\n').find((entry) => entry.includes(` name=${name} `));
  const id = line && /^id=(\d+) /.exec(line)?.[1];
  if (!id) throw new Error(`no Redis connection named ${name}`);
  await commands.client('KILL', 'ID', id);
}
