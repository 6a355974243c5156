import {
  BusChannel,
  BusHandler,
  InProcessReplicaBus,
  ReplicaBus,
} from '../../../src/common/coordination/replica-bus';
import { ExecutionStatus } from '../../../src/executions/execution-status';
import {
  ExecutionRecord,
  ExecutionsRepository,
  StoredEvent,
} from '../../../src/executions/executions.repository';
import { LocalRunEventHub, RunEvent } from '../../../src/executions/run-event-hub';
import {
  RUN_NOTICES,
  RunNotice,
  runEventHubFor,
  SharedRunEventHub,
} from '../../../src/executions/shared-run-event-hub';
import { strictMock } from '../../support/strict-mock';

const event = (seq: number): RunEvent => ({ seq, type: 'assistant', data: `{"n":${seq}}` });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the run event hub without replicas (no REDIS_URL)', () => {
  it('tells in this process alone, at once: no store read, nothing on the bus', async () => {
    const bus = new InProcessReplicaBus('solo');
    const onBus = jest.fn();
    await bus.subscribe(RUN_NOTICES, onBus);
    // Any call to the store fails the test.
    const hub = runEventHubFor(bus, strictMock<ExecutionsRepository>('ExecutionsRepository'));
    expect(hub).toBeInstanceOf(LocalRunEventHub);

    const told: (number | 'end')[] = [];
    hub.subscribe('run', (told_) => told.push(told_ ? told_.seq : 'end'));
    hub.publish('run', event(1), true);
    hub.publish('run', event(2), false);
    hub.end('run');
    expect(told).toEqual([1, 2, 'end']);
    expect(onBus).not.toHaveBeenCalled();
  });
});

describe('RUN_NOTICES', () => {
  it('takes a stored event, with where to read from, or an end', () => {
    expect(RUN_NOTICES.parse({ runId: 'r-1', seq: 3 })).toEqual({ runId: 'r-1', seq: 3 });
    expect(RUN_NOTICES.parse({ runId: 'r-1', seq: 3, since: 2 })).toEqual({
      runId: 'r-1',
      seq: 3,
      since: 2,
    });
    expect(RUN_NOTICES.parse({ runId: 'r-1', ended: true })).toEqual({ runId: 'r-1', ended: true });
  });

  it.each([
    [null],
    [{ seq: 1 }],
    [{ runId: 'a b', seq: 1 }],
    [{ runId: 'r', seq: 0 }],
    [{ runId: 'r', seq: 1.5 }],
    [{ runId: 'r', seq: '1' }],
    [{ runId: 'r', seq: 2, since: 3 }],
    [{ runId: 'r', ended: 'yes' }],
  ])('refuses %j', (value) => {
    expect(() => RUN_NOTICES.parse(value)).toThrow();
  });
});

/** A shared bus whose messages the test hands over, and a store whose reads it answers. */
function sharedHub() {
  let deliver: BusHandler<RunNotice> = () => undefined;
  const bus = strictMock<ReplicaBus>('ReplicaBus', {
    replicaId: 'a',
    shared: true,
    subscribe: jest.fn(<T>(_channel: BusChannel<T>, handler: BusHandler<T>) => {
      deliver = handler as unknown as BusHandler<RunNotice>;
      return Promise.resolve(() => Promise.resolve());
    }),
    publish: jest.fn((_channel: BusChannel<unknown>, _message: unknown) => Promise.resolve(2)),
    onReconnect: jest.fn((_listener: () => void) => () => undefined),
  });
  const reads: { after: number; answer: (events: StoredEvent[]) => void }[] = [];
  const repository = strictMock<ExecutionsRepository>('ExecutionsRepository', {
    eventsAfter: jest.fn(
      (_id: string, after: number) =>
        new Promise<StoredEvent[]>((answer) => reads.push({ after, answer })),
    ),
    get: jest.fn<Promise<ExecutionRecord | null>, [string]>(() =>
      Promise.resolve({ status: ExecutionStatus.cancelled } as ExecutionRecord),
    ),
  });
  const hub = runEventHubFor(bus, repository) as SharedRunEventHub;
  const told: (number | 'end')[] = [];
  return {
    hub,
    bus,
    reads,
    told,
    listen: () => hub.subscribe('run', (told_) => told.push(told_ ? told_.seq : 'end')),
    fromB: (notice: Omit<RunNotice, 'runId'>, from = 'b') =>
      deliver({ runId: 'run', ...notice } as RunNotice, from),
  };
}

describe('the run event hub with replicas', () => {
  it('tells an end from another replica after the events of a store read under way, in order', async () => {
    const { hub, reads, told, listen, fromB } = sharedHub();
    await hub.onModuleInit();
    listen();
    fromB({ seq: 3 });
    fromB({ seq: 4 });
    fromB({ ended: true });
    await settle();
    // One read at a time, from before the first event noticed.
    expect(reads.map((read) => read.after)).toEqual([2]);
    reads[0].answer([event(3), event(4)]);
    await settle();
    expect(reads.map((read) => read.after)).toEqual([2, 4]);
    expect(told).toEqual([3, 4]);
    reads[1].answer([]);
    await settle();
    // The end reads once more after the last event told, then ends.
    expect(reads.map((read) => read.after)).toEqual([2, 4, 4]);
    reads[2].answer([event(5)]);
    await settle();
    reads[3].answer([]);
    await settle();
    expect(told).toEqual([3, 4, 5, 'end']);
  });

  it('tells an event it records itself at once and announces it once stored; ignores its own notices', async () => {
    const { hub, bus, reads, told, listen, fromB } = sharedHub();
    await hub.onModuleInit();
    listen();
    hub.publish('run', event(1), true);
    fromB({ seq: 1 }, 'a');
    hub.publish('run', event(2), false);
    hub.end('run');
    await settle();
    expect(told).toEqual([1, 2, 'end']);
    expect(bus.publish.mock.calls).toEqual([
      [RUN_NOTICES, { runId: 'run', seq: 1 }],
      [RUN_NOTICES, { runId: 'run', ended: true }],
    ]);
    expect(reads).toEqual([]);
  });
});
