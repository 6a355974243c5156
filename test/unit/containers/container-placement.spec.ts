import { loadConfig } from '../../../src/common/config/load-config';
import { ContainerPlacement } from '../../../src/containers/container-placement';
import { DockerUnavailableError } from '../../../src/docker/docker.errors';
import {
  ContainerMemory,
  ContainerRouter,
  DockerService,
} from '../../../src/docker/docker.service';
import { strictMock } from '../../support/strict-mock';

const GIB = 1024 ** 3;

/** What one stub host holds, and whether it answers. */
interface StubHost {
  down?: boolean;
  containers?: string[];
  volumes?: string[];
  memoryBytes?: number;
  agents?: ContainerMemory[];
}

function placementOn(hosts: Record<string, StubHost>, env: Record<string, string> = {}) {
  const config = loadConfig({
    API_TOKEN: 't'.repeat(32),
    ENVIRONMENTS: 'dev,prod',
    DOCKER_HOSTS: Object.keys(hosts)
      .map((name) => `${name}=unix:///run/${name}.sock`)
      .join(','),
    ...env,
  });
  const answer = <T>(host: string, value: (stub: StubHost) => T): Promise<T> =>
    hosts[host].down
      ? Promise.reject(new DockerUnavailableError(host))
      : Promise.resolve(value(hosts[host]));
  let router: ContainerRouter | undefined;
  const docker = strictMock<DockerService>('DockerService', {
    routeContainersWith: jest.fn((given: ContainerRouter) => {
      router = given;
    }),
    containerExistsOn: jest.fn((host: string, name: string) =>
      answer(host, (stub) => stub.containers?.includes(name) ?? false),
    ),
    volumeExistsOn: jest.fn((host: string, name: string) =>
      answer(host, (stub) => stub.volumes?.includes(name) ?? false),
    ),
    hostMemoryBytes: jest.fn((host: string) => answer(host, (stub) => stub.memoryBytes ?? 8 * GIB)),
    containerMemoryLimits: jest.fn((host: string, _label: string) =>
      answer(host, (stub) => stub.agents ?? []),
    ),
  });
  const placement = new ContainerPlacement(config, docker);
  const route = (name: string): Promise<string> => {
    if (!router) throw new Error('the placement set no router');
    return router(name);
  };
  return { placement, docker, route };
}

describe('ContainerPlacement', () => {
  it('puts everything on the only host without asking Docker', async () => {
    const config = loadConfig({ API_TOKEN: 't'.repeat(32) });
    const docker = strictMock<DockerService>('DockerService');
    const placement = new ContainerPlacement(config, docker);
    expect(placement.knownHostOf('dev')).toBe('local');
    expect(await placement.hostOf('prod')).toBe('local');
  });

  it('keeps a pinned environment on its host, even when another host holds its container', async () => {
    const { placement, docker } = placementOn(
      { a: { containers: ['claude-agent-dev'] }, b: {} },
      { DOCKER_HOST_DEV: 'b' },
    );
    expect(placement.knownHostOf('dev')).toBe('b');
    expect(await placement.hostOf('dev')).toBe('b');
    expect(docker.containerExistsOn).not.toHaveBeenCalled();
  });

  it('finds an environment where its container is', async () => {
    const { placement } = placementOn({ a: {}, b: { containers: ['claude-agent-dev'] } });
    expect(await placement.hostOf('dev')).toBe('b');
  });

  it('finds an environment where its own volumes are; the shared credentials volume tells nothing', async () => {
    const { placement } = placementOn({
      a: { volumes: ['claude-credentials'], memoryBytes: 64 * GIB },
      b: { volumes: ['claude-sessions-dev'] },
    });
    expect(await placement.hostOf('dev')).toBe('b');
  });

  it('puts a new environment on the host with the most free memory: MemTotal minus the agents’ limits', async () => {
    const { placement, docker } = placementOn({
      a: { memoryBytes: 16 * GIB, agents: [{ name: 'x', memoryBytes: 10 * GIB }] },
      b: { memoryBytes: 8 * GIB, agents: [{ name: 'y', memoryBytes: 1 * GIB }] },
    });
    expect(await placement.hostOf('dev')).toBe('b');
    expect(docker.containerMemoryLimits).toHaveBeenCalledWith(
      'a',
      'com.claudecode-api.managed=true',
    );
  });

  it('breaks a tie of free memory by the order of DOCKER_HOSTS', async () => {
    const { placement } = placementOn({ b: {}, a: {} });
    expect(await placement.hostOf('dev')).toBe('b');
  });

  it('fails closed while a host that might hold the environment is down, and places it once it is back', async () => {
    const hosts: Record<string, StubHost> = { a: { memoryBytes: 64 * GIB }, b: { down: true } };
    const { placement } = placementOn(hosts);
    await expect(placement.hostOf('dev')).rejects.toThrow(
      'The Docker engine of host b is not reachable; try again shortly',
    );
    expect(placement.knownHostOf('dev')).toBeUndefined();
    hosts.b = { containers: ['claude-agent-dev'] };
    expect(await placement.hostOf('dev')).toBe('b');
  });

  it('does not need a host that is down when another holds the environment', async () => {
    const { placement } = placementOn({
      a: { down: true },
      b: { containers: ['claude-agent-dev'] },
    });
    expect(await placement.hostOf('dev')).toBe('b');
  });

  it('decides once: concurrent and later asks get the same host without asking again', async () => {
    const { placement, docker } = placementOn({ a: {}, b: {} });
    const hosts = await Promise.all([placement.hostOf('dev'), placement.hostOf('dev')]);
    expect(hosts).toEqual(['a', 'a']);
    expect(await placement.hostOf('dev')).toBe('a');
    expect(docker.hostMemoryBytes).toHaveBeenCalledTimes(2);
  });

  it("routes DockerService's container calls by the environment's container name, and refuses others", async () => {
    const { route } = placementOn({ a: {}, b: {} }, { DOCKER_HOST_PROD: 'b' });
    expect(await route('claude-agent-prod')).toBe('b');
    await expect(route('someone-else')).rejects.toThrow(
      "someone-else is no environment's agent container",
    );
  });
});
