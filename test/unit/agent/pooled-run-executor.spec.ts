import { PooledRunExecutor } from '../../../src/agent/pooled-run-executor';
import { loadConfig } from '../../../src/common/config/load-config';
import { ServiceEvents } from '../../../src/common/events/service-events';
import { Metrics } from '../../../src/common/metrics/metrics';
import { DockerService } from '../../../src/docker/docker.service';
import { strictMock } from '../../support/strict-mock';

describe('PooledRunExecutor.kill', () => {
  const signalMarked = jest.fn<Promise<void>, Parameters<DockerService['signalMarked']>>(() =>
    Promise.resolve(),
  );
  const signalRun = jest.fn<Promise<void>, Parameters<DockerService['signalRun']>>(() =>
    Promise.resolve(),
  );
  let executor: PooledRunExecutor;

  beforeEach(() => {
    signalMarked.mockClear();
    const config = loadConfig({ API_TOKEN: 'k'.repeat(32), REPLICA_ID: 'api-1' });
    const docker = strictMock<DockerService>('DockerService', { signalMarked, signalRun });
    executor = new PooledRunExecutor(config, docker, new Metrics(), new ServiceEvents());
  });

  afterEach(() => executor.onApplicationShutdown());

  const killedPrefixes = () =>
    signalMarked.mock.calls.map(([, prefix, spared]) => [prefix, spared]);

  it("kills the warm CLIs of the replica that ran the run, not another replica's, never its own", async () => {
    await executor.kill('claude-agent-dev', 'run-1', 'api-2');
    expect(signalRun).toHaveBeenCalledWith('claude-agent-dev', 'run-1', 'SIGKILL', 'node');
    const [[prefix, spared]] = killedPrefixes();
    // 'api-2:' is not a prefix of a marker of replica 'api-2-b' (':' is never in a replica id).
    expect(prefix).toBe('warm-api-2:');
    expect(spared).toMatch(/^warm-api-1:[0-9a-f-]{36}-$/);
  });

  it('with no owner known (runs from before owners), kills every warm CLI but its own', async () => {
    await executor.kill('claude-agent-dev', 'run-1', null);
    const [[prefix, spared]] = killedPrefixes();
    expect(prefix).toBe('warm-');
    expect(spared).toMatch(/^warm-api-1:/);
  });
});
