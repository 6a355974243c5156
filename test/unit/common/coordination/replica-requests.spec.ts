import { HttpStatus, Logger } from '@nestjs/common';
import type {
  BusChannel,
  BusHandler,
  Unsubscribe,
} from '../../../../src/common/coordination/replica-bus';
import {
  BusSubscribers,
  encodeEnvelope,
  ReplicaBus,
} from '../../../../src/common/coordination/replica-bus';
import {
  REPLICA_REQUESTS,
  ReplicaDidNotAnswer,
  ReplicaRequestKind,
  ReplicaRequests,
} from '../../../../src/common/coordination/replica-requests';
import { ApiError } from '../../../../src/common/errors/api-error';
import { ErrorCode } from '../../../../src/common/errors/error-codes';

/** Replicas in one process: each its own bus, all on one set of subscribers, as on one Redis. */
class LoopbackBus extends ReplicaBus {
  readonly shared = true;
  readonly connected = true;

  constructor(
    readonly replicaId: string,
    private readonly network: BusSubscribers[],
    private readonly subscribers = new BusSubscribers(new Logger('test')),
  ) {
    super();
    network.push(subscribers);
  }

  publish<T>(channel: BusChannel<T>, message: T): Promise<number> {
    const payload = encodeEnvelope(this.replicaId, message);
    // Later, as over a socket: never inside the publisher's call.
    setImmediate(() => this.network.forEach((peer) => peer.deliver(channel.name, payload)));
    return Promise.resolve(this.network.length);
  }

  subscribe<T>(channel: BusChannel<T>, handler: BusHandler<T>): Promise<Unsubscribe> {
    const { remove } = this.subscribers.add(channel, handler);
    return Promise.resolve(() => Promise.resolve(void remove()));
  }

  onReconnect(): () => void {
    return () => undefined;
  }
}

const ECHO: ReplicaRequestKind<string, string> = {
  name: 'test.echo',
  parsePayload: (value) => {
    if (typeof value !== 'string') throw new Error('not a string');
    return value;
  },
  parseResult: (value) => String(value),
};

/** Generous: the tests never wait for it but where a replica says nothing. */
const WITHIN_MS = 2000;

describe('ReplicaRequests (request and reply over the bus)', () => {
  afterEach(() => jest.restoreAllMocks());

  /** Replicas `a` and `b` on one network; `b` answers with `handler`. */
  async function replicas(handler: (payload: string) => Promise<string>) {
    const network: BusSubscribers[] = [];
    const a = new ReplicaRequests(new LoopbackBus('a', network), WITHIN_MS);
    const b = new ReplicaRequests(new LoopbackBus('b', network), WITHIN_MS);
    b.handle(ECHO, handler);
    await Promise.all([a.onModuleInit(), b.onModuleInit()]);
    return { a, b };
  }

  it("resolves with the addressee's result", async () => {
    const { a } = await replicas((text) => Promise.resolve(`b heard ${text}`));
    await expect(a.ask('b', ECHO, 'hello', WITHIN_MS)).resolves.toBe('b heard hello');
  });

  it("throws the addressee's ApiError again, with its status, code, message, details and headers", async () => {
    const refusal = new ApiError(HttpStatus.CONFLICT, ErrorCode.APPROVAL_ANSWERED, 'answered', {
      details: ['one'],
      headers: { 'Retry-After': '3' },
    });
    const { a } = await replicas(() => Promise.reject(refusal));
    const thrown = await a.ask('b', ECHO, 'hello', WITHIN_MS).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(ApiError);
    expect(thrown).toMatchObject({
      statusCode: 409,
      code: 'APPROVAL_ANSWERED',
      message: 'answered',
      options: { details: ['one'], headers: { 'Retry-After': '3' } },
    });
  });

  it('answers any other failure as a bare 500, and logs it where it happened', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { a } = await replicas(() => Promise.reject(new Error('secret detail')));
    const thrown = await a.ask('b', ECHO, 'hello', WITHIN_MS).catch((error: unknown) => error);
    expect(thrown).toMatchObject({
      statusCode: 500,
      code: 'INTERNAL_ERROR',
      message: 'Internal server error',
    });
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('secret detail'));
  });

  it('gives up on a replica that does not take the request, and on one that does not finish it', async () => {
    const { a } = await replicas(() => new Promise<string>(() => undefined));
    await expect(a.ask('gone', ECHO, 'hello', WITHIN_MS)).rejects.toThrow(
      new ReplicaDidNotAnswer('gone', `did not take the request within ${WITHIN_MS} ms`),
    );
    await expect(a.ask('b', ECHO, 'hello', 50)).rejects.toThrow(
      new ReplicaDidNotAnswer('b', 'did not finish the request within 50 ms'),
    );
  });

  it('gives up at once when no other replica listens', async () => {
    const alone = new ReplicaRequests(new LoopbackBus('a', []), WITHIN_MS);
    await alone.onModuleInit();
    await expect(alone.ask('b', ECHO, 'hello', WITHIN_MS)).rejects.toThrow(
      'Replica b is not reachable: no other replica listens',
    );
  });

  it('reads only messages of its shape, and errors of a known code', () => {
    const parse = REPLICA_REQUESTS.parse;
    expect(parse({ type: 'taken', to: 'a', id: '1' })).toEqual({ type: 'taken', to: 'a', id: '1' });
    expect(() => parse({ type: 'taken', to: 'a' })).toThrow('not a {to, id}');
    expect(() => parse({ type: 'other', to: 'a', id: '1' })).toThrow('unknown type other');
    expect(() => parse({ type: 'request', to: 'a', id: '1' })).toThrow('a request without a kind');
    const failed = (error: object) => parse({ type: 'failed', to: 'a', id: '1', error });
    expect(() => failed({ statusCode: 200, code: 'NOT_FOUND', message: 'x' })).toThrow(
      'error.statusCode is not a 4xx or 5xx status',
    );
    expect(() => failed({ statusCode: 404, code: 'MADE_UP', message: 'x' })).toThrow(
      'error.code is not an error code',
    );
  });
});
