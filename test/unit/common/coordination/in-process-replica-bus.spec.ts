import { Logger } from '@nestjs/common';
import { BusChannel, InProcessReplicaBus } from '../../../../src/common/coordination/replica-bus';

interface Count {
  n: number;
}

const COUNTS: BusChannel<Count> = {
  name: 'counts',
  parse: (value) => {
    const { n } = (value ?? {}) as Partial<Count>;
    if (typeof n !== 'number') throw new Error('not a {n}');
    return { n };
  },
};

describe('InProcessReplicaBus (one replica, no REDIS_URL)', () => {
  afterEach(() => jest.restoreAllMocks());

  it('delivers to its subscribers as JSON, from itself, until they unsubscribe', async () => {
    const bus = new InProcessReplicaBus('solo');
    const received: [Count, string][] = [];
    const stop = await bus.subscribe(COUNTS, (message, from) => received.push([message, from]));
    const sent = { n: 1 };
    expect(await bus.publish(COUNTS, sent)).toBe(1);
    expect(received).toEqual([[{ n: 1 }, 'solo']]);
    // A copy through JSON, as over Redis: never the sender's object.
    expect(received[0][0]).not.toBe(sent);
    await stop();
    expect(await bus.publish(COUNTS, { n: 2 })).toBe(0);
    expect(received).toHaveLength(1);
    expect(bus).toMatchObject({ shared: false, connected: true, replicaId: 'solo' });
  });

  it('checks a message with its channel, and keeps a failing handler from the others', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const bus = new InProcessReplicaBus('solo');
    const received: Count[] = [];
    await bus.subscribe(COUNTS, () => {
      throw new Error('broken');
    });
    await bus.subscribe(COUNTS, (message) => received.push(message));
    await bus.publish(COUNTS, { n: 'three' } as unknown as Count);
    await bus.publish(COUNTS, { n: 3 });
    expect(received).toEqual([{ n: 3 }]);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/^Dropped a message on counts .*: not a \{n\}$/),
    );
    expect(error).toHaveBeenCalledWith('A handler of counts failed on a message from solo: broken');
  });
});
