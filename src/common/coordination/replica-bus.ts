import { Logger } from '@nestjs/common';

/**
 * A kind of message between replicas. Messages travel as JSON; `parse` turns a received value
 * back into one, and throws when it is not one (the message is then logged and dropped).
 */
export interface BusChannel<T> {
  /** Its name on the wire (under REDIS_KEY_PREFIX), e.g. `tokens.changed`. */
  readonly name: string;
  readonly parse: (value: unknown) => T;
}

/** A channel whose messages are objects of the given string fields (others are dropped). */
export function stringFieldsChannel<Field extends string>(
  name: string,
  fields: readonly Field[],
): BusChannel<Record<Field, string>> {
  return {
    name,
    parse: (value) => {
      const received = (value ?? {}) as Partial<Record<Field, unknown>>;
      const message = {} as Record<Field, string>;
      for (const field of fields) {
        const text = received[field];
        if (typeof text !== 'string') throw new Error(`not a {${fields.join(', ')}}`);
        message[field] = text;
      }
      return message;
    },
  };
}

/** A delivered message and the replica that sent it. */
export type BusHandler<T> = (message: T, from: string) => void;

/** Stops a subscription; its handler gets nothing more. */
export type Unsubscribe = () => Promise<void>;

/**
 * Messages between the API replicas: published on a channel, delivered to every subscriber of
 * that channel on every replica, the sender's own included. At most once: a replica whose link is
 * down misses what is sent meanwhile, so state that must not be missed lives in the store, and a
 * subscriber resyncs from it when `onReconnect` calls it.
 */
export abstract class ReplicaBus {
  /** This replica (REPLICA_ID, or the host name and a random part), for logs and `from`. */
  abstract readonly replicaId: string;
  /** Whether other replicas may exist (a Redis bus), so what this one holds may change elsewhere. */
  abstract readonly shared: boolean;
  /** Whether a message published now would reach this replica (false while its link is down). */
  abstract readonly connected: boolean;
  /**
   * Resolves once the message is handed to every replica subscribed to `channel`, with how many
   * replicas that is (this one included, when it subscribes).
   */
  abstract publish<T>(channel: BusChannel<T>, message: T): Promise<number>;
  /** Resolves once subscribed: from then on, every message on `channel` reaches `handler`. */
  abstract subscribe<T>(channel: BusChannel<T>, handler: BusHandler<T>): Promise<Unsubscribe>;
  /** Calls `listener` each time a lost link is back, after this replica has resubscribed. */
  abstract onReconnect(listener: () => void): () => void;
}

/** What travels: the sender and the message. */
interface Envelope {
  from: string;
  message: unknown;
}

export function encodeEnvelope(from: string, message: unknown): string {
  return JSON.stringify({ from, message } satisfies Envelope);
}

/**
 * The handlers of each channel, and the delivery of a received envelope to them: parsed and
 * checked once, then handed to each handler. A bad envelope is logged and dropped, and a handler
 * that throws is logged without keeping the others from the message.
 */
export class BusSubscribers {
  private readonly handlers = new Map<string, Set<(value: unknown, from: string) => void>>();
  /** A channel name has one parser: its first subscriber's (channels are module constants). */
  private readonly parsers = new Map<string, (value: unknown) => unknown>();

  constructor(private readonly logger: Logger) {}

  /** Adds `handler`; true when it is the channel's first (the transport must subscribe). */
  add<T>(
    channel: BusChannel<T>,
    handler: BusHandler<T>,
  ): { first: boolean; remove: () => boolean } {
    const entry = (value: unknown, from: string) => handler(value as T, from);
    let set = this.handlers.get(channel.name);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.handlers.set(channel.name, set);
      this.parsers.set(channel.name, channel.parse);
    }
    set.add(entry);
    const handlers = set;
    return {
      first,
      /** Removes it; true when it was the channel's last (the transport may unsubscribe). */
      remove: () => {
        if (!handlers.delete(entry) || handlers.size > 0) return false;
        if (this.handlers.get(channel.name) !== handlers) return false;
        this.handlers.delete(channel.name);
        this.parsers.delete(channel.name);
        return true;
      },
    };
  }

  /** False when the channel has no handler here. */
  deliver(channelName: string, payload: string): boolean {
    const handlers = this.handlers.get(channelName);
    const parse = this.parsers.get(channelName);
    if (!handlers || !parse) return false;
    let from: string;
    let message: unknown;
    try {
      const envelope = JSON.parse(payload) as Partial<Envelope> | null;
      if (typeof envelope?.from !== 'string' || !('message' in envelope)) {
        throw new Error('not an envelope of {from, message}');
      }
      from = envelope.from;
      message = parse(envelope.message);
    } catch (error) {
      this.logger.warn(
        `Dropped a message on ${channelName} (${payload.length} bytes): ${(error as Error).message}`,
      );
      return true;
    }
    for (const handler of [...handlers]) {
      try {
        handler(message, from);
      } catch (error) {
        this.logger.error(
          `A handler of ${channelName} failed on a message from ${from}: ${(error as Error).message}`,
        );
      }
    }
    return true;
  }
}

/**
 * The bus of a single replica (no REDIS_URL): delivered in this process, through the same JSON
 * and checks as over Redis, so a subscriber sees the same either way.
 */
export class InProcessReplicaBus extends ReplicaBus {
  readonly shared = false;
  readonly connected = true;
  private readonly subscribers = new BusSubscribers(new Logger('ReplicaBus'));

  constructor(readonly replicaId: string) {
    super();
  }

  publish<T>(channel: BusChannel<T>, message: T): Promise<number> {
    const reached = this.subscribers.deliver(channel.name, encodeEnvelope(this.replicaId, message));
    return Promise.resolve(reached ? 1 : 0);
  }

  subscribe<T>(channel: BusChannel<T>, handler: BusHandler<T>): Promise<Unsubscribe> {
    const { remove } = this.subscribers.add(channel, handler);
    return Promise.resolve(() => {
      remove();
      return Promise.resolve();
    });
  }

  onReconnect(): () => void {
    // Never disconnected.
    return () => undefined;
  }
}
