import { Clock } from '../../../src/common/clock';
import { BusChannel, BusHandler, ReplicaBus } from '../../../src/common/coordination/replica-bus';
import {
  LiveTokens,
  TOKEN_CHANGED,
  tokenHash,
  UNKNOWN_TOKEN_TTL_MS,
} from '../../../src/tokens/live-tokens';
import { StoredToken, TokensRepository } from '../../../src/tokens/tokens.repository';
import { strictMock } from '../../support/strict-mock';

const TOKEN = `cca_${'k'.repeat(43)}`;
const NOW = Date.parse('2026-12-01T00:00:00Z');

const stored = (revokedAt: string | null = null): StoredToken => ({
  id: 'token-1',
  tokenHash: tokenHash(TOKEN),
  name: 'app',
  environments: ['dev'],
  actions: ['read'],
  createdAt: '2026-11-30T00:00:00.000Z',
  expiresAt: '2026-12-02T00:00:00.000Z',
  revokedAt,
});

/** A bus of several replicas, in memory: the test delivers and cuts the link. */
class FakeSharedBus extends ReplicaBus {
  readonly replicaId = 'this-replica';
  readonly shared = true;
  connected = true;
  readonly handlers = new Map<string, BusHandler<unknown>>();
  reconnect: () => void = () => undefined;

  publish(): Promise<number> {
    return Promise.resolve(1);
  }

  subscribe<T>(channel: BusChannel<T>, handler: BusHandler<T>) {
    this.handlers.set(channel.name, handler as BusHandler<unknown>);
    return Promise.resolve(() => Promise.resolve());
  }

  onReconnect(listener: () => void): () => void {
    this.reconnect = listener;
    return () => undefined;
  }

  deliver<T>(channel: BusChannel<T>, message: T, from = 'other-replica'): void {
    this.handlers.get(channel.name)?.(message, from);
  }
}

describe('LiveTokens with replicas (a shared bus)', () => {
  let now: number;
  let bus: FakeSharedBus;
  let byHash: jest.Mock<Promise<StoredToken | null>, [string]>;
  let tokens: LiveTokens;

  beforeEach(async () => {
    now = NOW;
    bus = new FakeSharedBus();
    byHash = jest.fn((_hash: string) => Promise.resolve<StoredToken | null>(null));
    const repository = strictMock<TokensRepository>('TokensRepository', {
      live: jest.fn((_now: string) => Promise.resolve<StoredToken[]>([])),
      byHash,
    });
    const clock: Clock = { now: () => now };
    tokens = new LiveTokens(repository, clock, bus);
    await tokens.onModuleInit();
  });

  it('finds a token minted elsewhere in the store once, then answers from memory', async () => {
    byHash.mockResolvedValue(stored());
    await expect(tokens.verify(TOKEN)).resolves.toMatchObject({ id: 'token-1' });
    expect(tokens.verify(TOKEN)).toMatchObject({ id: 'token-1' });
    expect(byHash).toHaveBeenCalledTimes(1);
  });

  it('refuses an unknown or revoked token from memory for a while, then asks the store again', async () => {
    byHash.mockResolvedValue(stored('2026-11-30T12:00:00.000Z'));
    await expect(tokens.verify(TOKEN)).resolves.toBeNull();
    expect(tokens.verify(TOKEN)).toBeNull();
    expect(byHash).toHaveBeenCalledTimes(1);
    now += UNKNOWN_TOKEN_TTL_MS;
    await expect(tokens.verify(TOKEN)).resolves.toBeNull();
    expect(byHash).toHaveBeenCalledTimes(2);
  });

  it('forgets a token another replica announces, and asks the store on its next use', async () => {
    byHash.mockResolvedValue(stored());
    await tokens.verify(TOKEN);
    byHash.mockResolvedValue(stored('2026-12-01T00:00:00.000Z'));
    bus.deliver(TOKEN_CHANGED, {
      tokenHash: tokenHash(TOKEN),
      announcement: '0b6f8a52-6a0c-4c55-9a4e-1f4c6d2b7e10',
    });
    await expect(tokens.verify(TOKEN)).resolves.toBeNull();
  });

  it('does not keep a store answer that an announcement made stale while it was on its way', async () => {
    let answer: (token: StoredToken) => void = () => undefined;
    byHash.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const pending = tokens.verify(TOKEN);
    bus.deliver(TOKEN_CHANGED, {
      tokenHash: tokenHash(TOKEN),
      announcement: '0b6f8a52-6a0c-4c55-9a4e-1f4c6d2b7e10',
    });
    byHash.mockResolvedValue(stored('2026-12-01T00:00:00.000Z'));
    answer(stored());
    await expect(pending).resolves.toBeNull();
  });

  it('asks the store on every check while its link is down, and forgets everything when it is back', async () => {
    byHash.mockResolvedValue(stored());
    await tokens.verify(TOKEN);
    bus.connected = false;
    await expect(tokens.verify(TOKEN)).resolves.toMatchObject({ id: 'token-1' });
    await expect(tokens.verify(TOKEN)).resolves.toMatchObject({ id: 'token-1' });
    expect(byHash).toHaveBeenCalledTimes(3);
    bus.connected = true;
    bus.reconnect();
    byHash.mockResolvedValue(null);
    await expect(tokens.verify(TOKEN)).resolves.toBeNull();
  });
});
