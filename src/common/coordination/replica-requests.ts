import { HttpStatus, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { BusChannel, ReplicaBus, Unsubscribe } from './replica-bus';

/** A kind of request one replica makes of another, and how its payload and result are read. */
export interface ReplicaRequestKind<P, R> {
  /** Unique among the kinds, e.g. `run.stop`. */
  readonly name: string;
  /** Throws when the value is no payload of this kind (the request then fails as a 500). */
  readonly parsePayload: (value: unknown) => P;
  readonly parseResult: (value: unknown) => R;
}

/** The error a replica answered with: an ApiError's, so every replica replies alike. */
interface WireError {
  statusCode: number;
  code: ErrorCode;
  message: string;
  details?: string[];
  headers?: Record<string, string>;
}

/**
 * What travels on the one channel, addressed to one replica (`to`) and tied to its request by
 * `id`: a request, then `taken` as soon as the addressee has it, then its result or its error.
 */
type RequestMessage = { to: string; id: string } & (
  { type: 'request'; kind: string; payload: unknown } | ReplyBody
);

type ReplyBody =
  { type: 'taken' } | { type: 'result'; value: unknown } | { type: 'failed'; error: WireError };

const ERROR_CODES = new Set<string>(Object.values(ErrorCode));

function parseWireError(value: unknown): WireError {
  const error = (value ?? {}) as Partial<WireError>;
  const status = error.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
    throw new Error('error.statusCode is not a 4xx or 5xx status');
  }
  if (typeof error.code !== 'string' || !ERROR_CODES.has(error.code)) {
    throw new Error('error.code is not an error code');
  }
  if (typeof error.message !== 'string') throw new Error('error.message is not a string');
  const details = Array.isArray(error.details)
    ? error.details.filter((detail): detail is string => typeof detail === 'string')
    : undefined;
  const headers =
    error.headers && typeof error.headers === 'object'
      ? Object.fromEntries(
          Object.entries(error.headers).filter(([, header]) => typeof header === 'string'),
        )
      : undefined;
  return { statusCode: status, code: error.code, message: error.message, details, headers };
}

export const REPLICA_REQUESTS: BusChannel<RequestMessage> = {
  name: 'replica.requests',
  parse: (value) => {
    const message = (value ?? {}) as Record<string, unknown>;
    const { type, to, id } = message;
    if (typeof to !== 'string' || typeof id !== 'string') throw new Error('not a {to, id}');
    switch (type as RequestMessage['type']) {
      case 'request':
        if (typeof message.kind !== 'string') throw new Error('a request without a kind');
        return { type: 'request', to, id, kind: message.kind, payload: message.payload };
      case 'taken':
        return { type: 'taken', to, id };
      case 'result':
        return { type: 'result', to, id, value: message.value };
      case 'failed':
        return { type: 'failed', to, id, error: parseWireError(message.error) };
    }
    throw new Error(`unknown type ${String(type)}`);
  },
};

/** The addressee of a request did not take it, or did not finish it, in time. */
export class ReplicaDidNotAnswer extends Error {
  constructor(
    readonly replica: string,
    /** What happened, e.g. `did not take the request within 5000 ms`. */
    readonly reason: string,
  ) {
    super(`Replica ${replica} ${reason}`);
    this.name = 'ReplicaDidNotAnswer';
  }
}

type Handler = (payload: unknown, from: string) => Promise<unknown>;

interface Waiting {
  taken: () => void;
  settle: (outcome: { value: unknown } | { error: Error }) => void;
}

/**
 * Requests to one other replica, answered over the bus: what only that replica can do (it holds
 * the run in memory). A replica that does not take a request within REDIS_TIMEOUT_MS, or does
 * not finish it within the time the asker gives, fails it with `ReplicaDidNotAnswer`, never a
 * hang. An ApiError thrown where it ran is thrown again, alike, where it was asked. Without
 * REDIS_URL there is no other replica to ask.
 */
export class ReplicaRequests implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ReplicaRequests.name);
  private readonly handlers = new Map<string, Handler>();
  private readonly waiting = new Map<string, Waiting>();
  private stopListening: Unsubscribe = () => Promise.resolve();

  constructor(
    private readonly bus: ReplicaBus,
    /** How long the addressee may take to say it has a request (REDIS_TIMEOUT_MS). */
    private readonly takenWithinMs: number,
  ) {}

  /** Answers the requests of `kind` made of this replica (register before the app starts). */
  handle<P, R>(kind: ReplicaRequestKind<P, R>, handler: (payload: P, from: string) => Promise<R>) {
    if (this.handlers.has(kind.name)) throw new Error(`${kind.name} has a handler already`);
    this.handlers.set(kind.name, (payload, from) => handler(kind.parsePayload(payload), from));
  }

  async onModuleInit(): Promise<void> {
    if (!this.bus.shared) return;
    this.stopListening = await this.bus.subscribe(REPLICA_REQUESTS, (message, from) =>
      this.received(message, from),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopListening();
  }

  /**
   * Asks replica `to` and resolves with its result once it has one. Throws its ApiError, or
   * `ReplicaDidNotAnswer` when no replica is there to take it or it is not answered in time.
   */
  async ask<P, R>(
    to: string,
    kind: ReplicaRequestKind<P, R>,
    payload: P,
    resultWithinMs: number,
  ): Promise<R> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<unknown>((resolve, reject) => {
      const giveUp = (reason: string) => reject(new ReplicaDidNotAnswer(to, reason));
      timer = setTimeout(
        () => giveUp(`did not take the request within ${this.takenWithinMs} ms`),
        this.takenWithinMs,
      );
      this.waiting.set(id, {
        taken: () => {
          clearTimeout(timer);
          timer = setTimeout(
            () => giveUp(`did not finish the request within ${resultWithinMs} ms`),
            resultWithinMs,
          );
        },
        settle: (outcome) => ('error' in outcome ? reject(outcome.error) : resolve(outcome.value)),
      });
    });
    // Awaited below, unless the publish fails first.
    answered.catch(() => undefined);
    try {
      const request = { type: 'request' as const, to, id, kind: kind.name, payload };
      let reached: number;
      try {
        reached = await this.bus.publish(REPLICA_REQUESTS, request);
      } catch (error) {
        throw new ReplicaDidNotAnswer(to, `could not be asked: ${(error as Error).message}`);
      }
      // None but this replica listens: the addressee is not there.
      if (reached - (this.bus.connected ? 1 : 0) <= 0) {
        throw new ReplicaDidNotAnswer(to, 'is not reachable: no other replica listens');
      }
      return kind.parseResult(await answered);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  private received(message: RequestMessage, from: string): void {
    if (message.to !== this.bus.replicaId) return;
    switch (message.type) {
      case 'request':
        void this.answer(message, from);
        return;
      case 'taken':
        this.waiting.get(message.id)?.taken();
        return;
      case 'result':
        this.waiting.get(message.id)?.settle({ value: message.value });
        return;
      case 'failed': {
        const { statusCode, code, message: text, details, headers } = message.error;
        this.waiting.get(message.id)?.settle({
          error: new ApiError(statusCode, code, text, { details, headers }),
        });
        return;
      }
    }
  }

  /** Says it has the request, runs it, and sends its result or its error back. */
  private async answer(
    request: Extract<RequestMessage, { type: 'request' }>,
    asker: string,
  ): Promise<void> {
    const reply = (body: ReplyBody) =>
      this.bus
        .publish(REPLICA_REQUESTS, { ...body, to: asker, id: request.id })
        .catch((error: Error) => {
          this.logger.warn(`Could not answer ${asker}'s ${request.kind} request: ${error.message}`);
        });
    await reply({ type: 'taken' });
    const handler = this.handlers.get(request.kind);
    try {
      if (!handler) throw new Error(`this replica handles no ${request.kind} request`);
      await reply({ type: 'result', value: (await handler(request.payload, asker)) ?? null });
    } catch (error) {
      if (!(error instanceof ApiError)) {
        this.logger.error(`${asker}'s ${request.kind} request failed: ${String(error)}`);
      }
      await reply({ type: 'failed', error: toWireError(error) });
    }
  }
}

/** As the exception filter answers: an ApiError as it is, anything else a bare 500. */
function toWireError(error: unknown): WireError {
  if (!(error instanceof ApiError)) {
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      code: ErrorCode.INTERNAL_ERROR,
      message: 'Internal server error',
    };
  }
  const { statusCode, code, message, options } = error;
  return { statusCode, code, message, details: options.details, headers: options.headers };
}
