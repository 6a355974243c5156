import { Logger } from '@nestjs/common';
import {
  BusChannel,
  BusHandler,
  BusSubscribers,
  encodeEnvelope,
  ReplicaBus,
  Unsubscribe,
} from './replica-bus';
import { RedisConnections } from './redis-connections';

/**
 * The bus over Redis pub/sub: a Redis channel `<REDIS_KEY_PREFIX>bus:<name>` per bus channel,
 * subscribed on the subscriber connection while this replica has a handler for it. ioredis
 * resubscribes after a reconnect; once it has (a PING answered behind the SUBSCRIBEs), the
 * `onReconnect` listeners run, so they resync what they missed from the store.
 */
export class RedisReplicaBus extends ReplicaBus {
  private readonly logger = new Logger('ReplicaBus');
  private readonly subscribers = new BusSubscribers(this.logger);
  private readonly reconnectListeners = new Set<() => void>();
  private linked = true;
  readonly shared = true;

  constructor(
    private readonly redis: RedisConnections,
    readonly replicaId: string,
    private readonly keyPrefix: string,
  ) {
    super();
    const { subscriber } = redis;
    subscriber.on('message', (wireName: string, payload: string) => {
      if (wireName.startsWith(this.wirePrefix)) {
        this.subscribers.deliver(wireName.slice(this.wirePrefix.length), payload);
      }
    });
    subscriber.on('close', () => {
      this.linked = false;
    });
    subscriber.on('ready', () => {
      if (this.linked) return;
      subscriber.ping().then(
        () => this.relinked(),
        (error: Error) => this.logger.warn(`Resubscribing failed: ${error.message}`),
      );
    });
  }

  get connected(): boolean {
    return this.linked && this.redis.subscriber.status === 'ready';
  }

  publish<T>(channel: BusChannel<T>, message: T): Promise<number> {
    // Redis answers how many subscriber connections got it: one per replica.
    return this.redis.commands.publish(
      this.wireName(channel),
      encodeEnvelope(this.replicaId, message),
    );
  }

  async subscribe<T>(channel: BusChannel<T>, handler: BusHandler<T>): Promise<Unsubscribe> {
    const { first, remove } = this.subscribers.add(channel, handler);
    if (first) {
      try {
        await this.redis.subscriber.subscribe(this.wireName(channel));
      } catch (error) {
        remove();
        throw error;
      }
    }
    return async () => {
      if (remove()) await this.redis.subscriber.unsubscribe(this.wireName(channel));
    };
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private get wirePrefix(): string {
    return `${this.keyPrefix}bus:`;
  }

  private wireName(channel: BusChannel<unknown>): string {
    return `${this.wirePrefix}${channel.name}`;
  }

  private relinked(): void {
    this.linked = true;
    this.logger.log('Resubscribed after a lost link; subscribers resync what they missed');
    for (const listener of [...this.reconnectListeners]) {
      try {
        listener();
      } catch (error) {
        this.logger.error(`A reconnect listener failed: ${(error as Error).message}`);
      }
    }
  }
}
