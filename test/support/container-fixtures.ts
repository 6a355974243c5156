import { MANAGED_LABEL } from '../../src/agent/agent-layout';
import { ContainerInfo } from '../../src/docker/docker.types';

/** An environment's agent container, made by the service, as Docker reports it running. */
export const runningContainer: ContainerInfo = {
  id: 'abc',
  name: 'claude-agent-dev',
  state: 'running',
  running: true,
  image: 'claudecode-agent:2.1.332',
  createdAt: '2026-11-27T00:00:00Z',
  startedAt: '2026-11-27T00:00:01Z',
  labels: { [MANAGED_LABEL]: 'true' },
};
