import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import { createServer, Server, Socket } from 'node:net';
import { loadConfig } from '../../src/common/config/load-config';
import { Coordination } from '../../src/common/coordination/coordination.module';
import {
  RedisConnections,
  RedisUnavailableError,
} from '../../src/common/coordination/redis-connections';
import { RedisReplicaBus } from '../../src/common/coordination/redis-replica-bus';
import { BusChannel, ReplicaBus } from '../../src/common/coordination/replica-bus';
import { connectTestRedis, killConnection, testRedisSettings } from '../support/test-redis';

jest.setTimeout(20_000);

interface Greeting {
  text: string;
}

const GREETINGS: BusChannel<Greeting> = {
  name: 'greetings',
  parse: (value) => {
    const { text } = (value ?? {}) as Partial<Greeting>;
    if (typeof text !== 'string') throw new Error('not a {text}');
    return { text };
  },
};
const MARKERS: BusChannel<Greeting> = { ...GREETINGS, name: 'markers' };

/** What a handler received, with a promise for the next one. */
class Inbox {
  readonly received: { text: string; from: string }[] = [];
  private waiters: (() => void)[] = [];

  readonly handler = (message: Greeting, from: string): void => {
    this.received.push({ text: message.text, from });
    this.waiters.splice(0).forEach((wake) => wake());
  };

  async until(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((wake) => this.waiters.push(wake));
  }
}

describe('the replica bus over a real Redis', () => {
  const settings = testRedisSettings();
  let a: Coordination;
  let b: Coordination;
  let busA: ReplicaBus;
  let busB: ReplicaBus;

  beforeAll(async () => {
    a = await connectTestRedis('replica-a', settings);
    b = await connectTestRedis('replica-b', settings);
    const prefix = settings.REDIS_KEY_PREFIX;
    busA = new RedisReplicaBus(a.redis as RedisConnections, 'replica-a', prefix);
    busB = new RedisReplicaBus(b.redis as RedisConnections, 'replica-b', prefix);
  });
  afterAll(async () => {
    await a?.onApplicationShutdown();
    await b?.onApplicationShutdown();
  });
  afterEach(() => jest.restoreAllMocks());

  it("delivers a message to every replica's subscribers, the sender's too, naming the sender", async () => {
    const onA = new Inbox();
    const onB = new Inbox();
    const stopA = await busA.subscribe(GREETINGS, onA.handler);
    const stopB = await busB.subscribe(GREETINGS, onB.handler);
    // Redis counts the replicas it reached: both subscribe.
    expect(await busA.publish(GREETINGS, { text: 'hello' })).toBe(2);
    await Promise.all([onA.until(1), onB.until(1)]);
    expect(onA.received).toEqual([{ text: 'hello', from: 'replica-a' }]);
    expect(onB.received).toEqual([{ text: 'hello', from: 'replica-a' }]);
    await stopA();
    await stopB();
  });

  it('stops delivering to a subscriber once it unsubscribes', async () => {
    const greetings = new Inbox();
    const markers = new Inbox();
    const stop = await busB.subscribe(GREETINGS, greetings.handler);
    const stopMarkers = await busB.subscribe(MARKERS, markers.handler);
    await busA.publish(GREETINGS, { text: 'before' });
    await greetings.until(1);
    await stop();
    await busA.publish(GREETINGS, { text: 'after' });
    // Redis delivers one publisher's messages in order: the marker comes after "after" would.
    await busA.publish(MARKERS, { text: 'marker' });
    await markers.until(1);
    expect(greetings.received.map(({ text }) => text)).toEqual(['before']);
    await stopMarkers();
  });

  it('logs and drops a message that is not JSON, or not of its channel, and goes on', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const inbox = new Inbox();
    const stop = await busB.subscribe(GREETINGS, inbox.handler);
    const wire = `${settings.REDIS_KEY_PREFIX}bus:greetings`;
    await a.redis?.commands.publish(wire, '{not json');
    await a.redis?.commands.publish(wire, JSON.stringify({ from: 'x', message: { text: 42 } }));
    await busA.publish(GREETINGS, { text: 'good' });
    await inbox.until(1);
    expect(inbox.received).toEqual([{ text: 'good', from: 'replica-a' }]);
    const dropped = warn.mock.calls.map(([line]) => String(line));
    expect(dropped).toEqual([
      expect.stringMatching(/^Dropped a message on greetings \(9 bytes\): .*JSON/),
      expect.stringMatching(/^Dropped a message on greetings \(\d+ bytes\): not a \{text\}$/),
    ]);
    await stop();
  });

  it("keeps a handler's failure from the channel's other handlers", async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const inbox = new Inbox();
    const stopFailing = await busB.subscribe(GREETINGS, () => {
      throw new Error('handler broke');
    });
    const stop = await busB.subscribe(GREETINGS, inbox.handler);
    await busA.publish(GREETINGS, { text: 'still here' });
    await inbox.until(1);
    expect(error).toHaveBeenCalledWith(
      'A handler of greetings failed on a message from replica-a: handler broke',
    );
    await stopFailing();
    await stop();
  });

  it('resubscribes after its link to Redis is cut, reports it, and delivers again', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const inbox = new Inbox();
    const stop = await busB.subscribe(GREETINGS, inbox.handler);
    const reconnected = new Promise<void>((resolve) => busB.onReconnect(resolve));
    const closed = once(b.redis!.subscriber, 'close');
    // As a Redis restart looks from B: its subscriber connection is dropped by the server.
    await killConnection(a, 'claudecode-api:replica-b:subscriber');
    await closed;
    expect(busB.connected).toBe(false);
    await reconnected;
    expect(busB.connected).toBe(true);
    await busA.publish(GREETINGS, { text: 'after the cut' });
    await inbox.until(1);
    expect(inbox.received).toEqual([{ text: 'after the cut', from: 'replica-a' }]);
    await stop();
  });
});

describe('the Redis connection at boot', () => {
  let silent: Server | undefined;
  const accepted: Socket[] = [];
  afterEach(() => {
    accepted.splice(0).forEach((socket) => socket.destroy());
    silent?.close();
  });

  it('stops the boot when nothing listens at REDIS_URL, naming it without the password', async () => {
    const port = await freePort();
    const config = redisConfig(`redis://:pa55word@127.0.0.1:${port}/0`);
    const boot = Coordination.connect(config);
    await expect(boot).rejects.toThrow(RedisUnavailableError);
    await expect(boot).rejects.toThrow(
      `Redis at redis://127.0.0.1:${port}/0 (REDIS_URL) is unreachable: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('stops the boot after REDIS_TIMEOUT_MS when the server never answers', async () => {
    silent = createServer((socket) => accepted.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as { port: number };
    const boot = Coordination.connect(redisConfig(`redis://127.0.0.1:${port}`, '300'));
    await expect(boot).rejects.toThrow(
      `Redis at redis://127.0.0.1:${port} (REDIS_URL) is unreachable: no answer within 300 ms (REDIS_TIMEOUT_MS)`,
    );
  });
});

function redisConfig(url: string, timeoutMs = '1000') {
  return loadConfig({ API_TOKEN: 'r'.repeat(32), REDIS_URL: url, REDIS_TIMEOUT_MS: timeoutMs })
    .coordination;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
