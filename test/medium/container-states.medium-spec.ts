import { loadConfig } from '../../src/common/config/load-config';
import { ContainerPlacement } from '../../src/containers/container-placement';
import { ContainerStates } from '../../src/containers/container-states';
import { DockerService } from '../../src/docker/docker.service';
import { ContainerInfo, DockerEvent } from '../../src/docker/docker.types';
import { runningContainer } from '../support/container-fixtures';
import { FakeRunExecutor } from '../support/fake-run-executor';
import { strictMock } from '../support/strict-mock';
import { waitUntil } from '../support/wait';

const running = runningContainer;
const stopped: ContainerInfo = { ...running, state: 'exited', running: false };

/** A Docker whose event stream the test drives, and whose container the test changes. */
function fakeDocker() {
  let current: ContainerInfo | null = running;
  let emit: (event: DockerEvent) => void = () => undefined;
  let endStream: () => void = () => undefined;
  const docker = strictMock<DockerService>('DockerService', {
    inspectContainer: jest.fn((_name: string) => Promise.resolve(current)),
    watchEvents: jest.fn(
      (_host: string, _filters: Record<string, string[]>, onEvent: (e: DockerEvent) => void) => {
        emit = onEvent;
        const ended = new Promise<void>((resolve) => (endStream = resolve));
        return Promise.resolve({ stop: () => endStream(), ended });
      },
    ),
  });
  return {
    docker,
    set: (info: ContainerInfo | null) => (current = info),
    event: (name: string, action: string) =>
      emit({ type: 'container', action, id: 'abc', attributes: { name } }),
    endStream: () => endStream(),
  };
}

describe('ContainerStates: container status kept from the event stream', () => {
  const config = loadConfig({ API_TOKEN: 'x'.repeat(32), ENVIRONMENTS: 'dev,staging' });
  let states: ContainerStates | undefined;
  afterEach(() => states?.onModuleDestroy());

  async function synced(fake: ReturnType<typeof fakeDocker>): Promise<ContainerStates> {
    states = new ContainerStates(config, fake.docker, new ContainerPlacement(config, fake.docker));
    states.onApplicationBootstrap();
    // One inspect per environment once the stream is open.
    await waitUntil(
      () => Promise.resolve(fake.docker.inspectContainer.mock.calls.length === 2),
      'the first inspect of each environment',
    );
    await new Promise((resolve) => setImmediate(resolve));
    return states;
  }

  it('answers reads from the state it keeps, without asking Docker', async () => {
    const fake = fakeDocker();
    const kept = await synced(fake);
    for (let i = 0; i < 5; i++) expect(await kept.get('dev')).toEqual(running);
    expect(fake.docker.inspectContainer).toHaveBeenCalledTimes(2);
    expect(fake.docker.watchEvents).toHaveBeenCalledWith(
      'local',
      {
        type: ['container'],
        label: ['com.claudecode-api.managed=true'],
        event: expect.arrayContaining(['start', 'die', 'destroy']),
      },
      expect.any(Function),
    );
  });

  it("tells the runner a container runs only when it is the service's (no spare CLI goes into another's)", async () => {
    const runner = new FakeRunExecutor();
    const told = jest.spyOn(runner, 'containerRunning');
    const fake = fakeDocker();
    states = new ContainerStates(
      config,
      fake.docker,
      new ContainerPlacement(config, fake.docker),
      runner,
    );
    await states.refresh('dev');
    fake.set({ ...running, labels: {} });
    await states.refresh('dev');
    expect(told.mock.calls).toEqual([
      ['claude-agent-dev', true],
      ['claude-agent-dev', false],
    ]);
  });

  it('follows a change made behind its back as soon as the event arrives', async () => {
    const fake = fakeDocker();
    const kept = await synced(fake);
    fake.set(stopped);
    fake.event('claude-agent-dev', 'die');
    await waitUntil(async () => (await kept.get('dev'))?.running === false, 'the stop');
    fake.set(null);
    fake.event('claude-agent-dev', 'destroy');
    await waitUntil(async () => (await kept.get('dev')) === null, 'the removal');
    // Another service's container is not ours to follow.
    fake.event('someone-else', 'start');
    expect(fake.docker.inspectContainer).toHaveBeenCalledTimes(4);
  });

  it('inspects live while the stream is down, then reads everything afresh once it is back', async () => {
    const fake = fakeDocker();
    const kept = await synced(fake);
    fake.endStream();
    fake.set(stopped);
    // No event will come: the read must not trust the old state.
    await waitUntil(async () => (await kept.get('dev'))?.running === false, 'a live read');
    fake.set(running);
    await waitUntil(async () => {
      if (fake.docker.watchEvents.mock.calls.length < 2) return false;
      const calls = fake.docker.inspectContainer.mock.calls.length;
      const info = await kept.get('dev');
      // Served from the state again: no new inspect for the read itself.
      return info?.running === true && fake.docker.inspectContainer.mock.calls.length === calls;
    }, 'the state to be kept again');
  });
});
