import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisConfig } from '../config/coordination-config';

/** Thrown at boot when REDIS_URL is set and Redis does not answer; its message names the cause. */
export class RedisUnavailableError extends Error {
  constructor(safeUrl: string, reason: string) {
    super(`Redis at ${safeUrl} (REDIS_URL) is unreachable: ${reason}`);
    this.name = 'RedisUnavailableError';
  }
}

/** After boot, a lost connection is retried at once, then at most every 2 s, for as long as it takes. */
const reconnectDelayMs = (attempt: number): number => Math.min(attempt * 200, 2000);

/**
 * The two connections to Redis: one for commands, one in subscriber mode (Redis lets a subscribed
 * connection do nothing else). At boot each must answer within REDIS_TIMEOUT_MS, else the boot
 * stops; later, a lost connection is retried without end, while commands fail fast (no offline
 * queue, REDIS_TIMEOUT_MS per command) so no request waits on Redis.
 */
export class RedisConnections {
  private constructor(
    readonly commands: Redis,
    readonly subscriber: Redis,
  ) {}

  /** Connects both; CLIENT LIST names them `claudecode-api:<replicaId>:<role>`. */
  static async open(config: RedisConfig, replicaId: string): Promise<RedisConnections> {
    const commands = connection(config, replicaId, 'commands');
    const subscriber = connection(config, replicaId, 'subscriber');
    // Both settled, so no attempt outlives a failed boot.
    const [first, second] = await Promise.allSettled([
      connectWithin(commands, config),
      connectWithin(subscriber, config),
    ]);
    const failure = [first, second].find((result) => result.status === 'rejected');
    if (failure) {
      commands.disconnect();
      subscriber.disconnect();
      throw failure.reason;
    }
    return new RedisConnections(commands, subscriber);
  }

  async close(): Promise<void> {
    for (const client of [this.commands, this.subscriber]) {
      // A deliberate close is no outage to report.
      client
        .removeAllListeners('close')
        .removeAllListeners('error')
        .on('error', () => undefined);
    }
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    // A connection that was down has no QUIT to send: it stops retrying here.
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}

function connection(config: RedisConfig, replicaId: string, role: string): Redis {
  const logger = new Logger(`Redis ${role}`);
  let connected = false;
  let healthy = false;
  const client = new Redis(config.url, {
    lazyConnect: true,
    connectionName: `claudecode-api:${replicaId}:${role}`,
    connectTimeout: config.timeoutMs,
    commandTimeout: role === 'commands' ? config.timeoutMs : undefined,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // None at boot: connectWithin reports the first failure.
    retryStrategy: (attempt) => (connected ? reconnectDelayMs(attempt) : null),
  });
  client.on('ready', () => {
    if (connected && !healthy) logger.log(`Reconnected to ${config.safeUrl}`);
    connected = true;
    healthy = true;
  });
  // One line per outage, not one per retry.
  client.on('error', (error: Error) => {
    if (!healthy) return;
    healthy = false;
    logger.warn(`Lost ${config.safeUrl}: ${error.message}; retrying`);
  });
  client.on('close', () => {
    if (!healthy) return;
    healthy = false;
    logger.warn(`Lost ${config.safeUrl}; retrying`);
  });
  return client;
}

async function connectWithin(client: Redis, config: RedisConfig): Promise<void> {
  let lastError: Error | undefined;
  const remember = (error: Error) => (lastError = error);
  client.on('error', remember);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${config.timeoutMs} ms (REDIS_TIMEOUT_MS)`)),
      config.timeoutMs,
    );
  });
  try {
    await Promise.race([client.connect(), deadline]);
  } catch (error) {
    // ioredis rejects with "Connection is closed."; the error event before it says why.
    const reason = (lastError ?? (error as Error)).message;
    throw new RedisUnavailableError(config.safeUrl, reason);
  } finally {
    clearTimeout(timer);
    client.off('error', remember);
  }
}
