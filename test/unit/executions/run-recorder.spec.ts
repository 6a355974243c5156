import { loadConfig } from '../../../src/common/config/load-config';
import { ServiceEvents } from '../../../src/common/events/service-events';
import { endWithoutRun } from '../../../src/executions/execution-outcome';
import {
  ExecutionEnd,
  ExecutionRecord,
  ExecutionsRepository,
  StoredEvent,
} from '../../../src/executions/executions.repository';
import { LocalRunEventHub } from '../../../src/executions/run-event-hub';
import { RunRecorder } from '../../../src/executions/run-recorder';
import { RunTelemetry } from '../../../src/executions/run-telemetry';
import { strictMock } from '../../support/strict-mock';

describe('RunRecorder: a run written to the store asynchronously', () => {
  it('writes a run in order, relays each event once it is stored, and its end after the last', async () => {
    const written: string[] = [];
    /** Writes that wait until the test lets them finish, the first one slowest. */
    const pending: (() => void)[] = [];
    const slowly = (what: string) => () =>
      new Promise<void>((resolve) => {
        written.push(`${what} begun`);
        pending.push(() => {
          written.push(`${what} done`);
          resolve();
        });
      });
    const repository = strictMock<ExecutionsRepository>('ExecutionsRepository', {
      markRunning: jest.fn<Promise<void>, [string, string]>(slowly('start')),
      appendEvent: jest.fn<Promise<void>, [string, StoredEvent, boolean]>((_id, event) =>
        slowly(`event ${event.seq}`)(),
      ),
      finish: jest.fn<Promise<boolean>, [string, ExecutionEnd, string]>(() =>
        slowly('end')().then(() => true),
      ),
      get: jest.fn<Promise<ExecutionRecord | null>, [string]>(() => Promise.resolve(null)),
    });
    const hub = new LocalRunEventHub();
    const told: string[] = [];
    hub.subscribe('run', (event) => told.push(event ? `event ${event.seq}` : 'end'));
    const recorder = new RunRecorder(
      loadConfig({ API_TOKEN: 'r'.repeat(32) }),
      repository,
      hub,
      new ServiceEvents(),
      strictMock<RunTelemetry>('RunTelemetry', { started: jest.fn() }),
    );

    const tally = recorder.started({ id: 'run', env: 'dev', createdAt: new Date().toISOString() });
    recorder.event('run', tally, 'assistant', { n: 1 });
    recorder.event('run', tally, 'assistant', { n: 2 });
    let ended = false;
    const end = recorder.ended('run', endWithoutRun('cancelled')).then(() => (ended = true));

    // Each write begins only once the one before is done; nothing is told before it is stored.
    const toldBefore = [[], [], ['event 1'], ['event 1', 'event 2']];
    for (let done = 0; done < 4; done += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(pending).toHaveLength(done + 1);
      expect(told).toEqual(toldBefore[done]);
      expect(ended).toBe(false);
      pending[done]();
    }
    await end;
    expect(written).toEqual([
      'start begun',
      'start done',
      'event 1 begun',
      'event 1 done',
      'event 2 begun',
      'event 2 done',
      'end begun',
      'end done',
    ]);
    expect(told).toEqual(['event 1', 'event 2', 'end']);
  });

  it('tells an end another replica recorded first to its listeners, but announces it only once', async () => {
    const repository = strictMock<ExecutionsRepository>('ExecutionsRepository', {
      finish: jest.fn<Promise<boolean>, [string, ExecutionEnd, string]>(() =>
        Promise.resolve(false),
      ),
    });
    const hub = new LocalRunEventHub();
    const told: string[] = [];
    hub.subscribe('run', (event) => told.push(event ? `event ${event.seq}` : 'end'));
    const serviceEvents = new ServiceEvents();
    const announced: string[] = [];
    serviceEvents.on('run.ended', (run) => announced.push(run.id));
    const recorder = new RunRecorder(
      loadConfig({ API_TOKEN: 'r'.repeat(32) }),
      repository,
      hub,
      serviceEvents,
      strictMock<RunTelemetry>('RunTelemetry'),
    );

    await recorder.ended('run', endWithoutRun('cancelled'));
    expect(told).toEqual(['end']);
    expect(announced).toEqual([]);
  });
});
