import { Inject, Injectable, Logger } from '@nestjs/common';
import { AGENT_CREDENTIALS_DIR, agentContainerName, MANAGED_LABEL } from '../agent/agent-layout';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { DockerService } from '../docker/docker.service';
import { agentVolumeMounts } from './agent-container-spec';

/** What one host told about an environment while placing it. */
type Probe = { host: string; holds: boolean } | { host: string; failure: unknown };

/**
 * On which Docker host of the pool (DOCKER_HOSTS) each environment's container lives:
 * 1. the host DOCKER_HOST_<ENV> pins it to;
 * 2. else the host that holds its container, or else its own volumes (config, sessions,
 *    workspace: they live on one host, and the container must go where they are);
 * 3. else, for a new environment, the host with the most free capacity: the engine's memory
 *    (`docker info` MemTotal) minus the memory limits of the agent containers the service made
 *    there (running or not); ties go to the host listed first.
 * A host that cannot be asked in step 2 might hold the environment: the placement then fails
 * with that host's error (503 DOCKER_UNAVAILABLE naming it) rather than make a second copy
 * elsewhere. A decision holds for the life of the process. With one host, everything is there.
 */
@Injectable()
export class ContainerPlacement {
  private readonly logger = new Logger(ContainerPlacement.name);
  private readonly hosts: readonly string[];
  private readonly placed = new Map<string, string>();
  private readonly deciding = new Map<string, Promise<string>>();
  private readonly envByName: ReadonlyMap<string, string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
  ) {
    this.hosts = config.docker.hosts.map((host) => host.name);
    this.envByName = new Map(
      config.environments.map((env) => [agentContainerName(config.agent, env), env]),
    );
    for (const [env, host] of Object.entries(config.docker.pins)) this.placed.set(env, host);
    if (this.hosts.length === 1) {
      for (const env of config.environments) this.placed.set(env, this.hosts[0]);
    } else {
      docker.routeContainersWith((name) => this.hostOfContainer(name));
    }
  }

  /** The pool's hosts in order. */
  hostNames(): readonly string[] {
    return this.hosts;
  }

  /** The environment's host when it is decided already (pinned, one host, or placed before). */
  knownHostOf(env: string): string | undefined {
    return this.placed.get(env);
  }

  /** The environment's host, placed now if need be (see the class). */
  hostOf(env: string): Promise<string> {
    const known = this.placed.get(env);
    if (known !== undefined) return Promise.resolve(known);
    let decision = this.deciding.get(env);
    if (!decision) {
      decision = this.place(env).finally(() => this.deciding.delete(env));
      this.deciding.set(env, decision);
    }
    return decision;
  }

  /** The host of an environment's container, by the container's name. */
  hostOfContainer(containerName: string): Promise<string> {
    const env = this.envByName.get(containerName);
    if (env === undefined) {
      return Promise.reject(new Error(`${containerName} is no environment's agent container`));
    }
    return this.hostOf(env);
  }

  private async place(env: string): Promise<string> {
    const probes = await Promise.all(this.hosts.map((host) => this.probe(host, env)));
    const holding = probes.filter((probe) => 'holds' in probe && probe.holds);
    if (holding.length > 1) {
      this.logger.warn(
        `${env} has a container or volumes on several hosts (${holding.map((probe) => probe.host).join(', ')}); using ${holding[0].host}`,
      );
    }
    let host = holding[0]?.host;
    if (host === undefined) {
      const failed = probes.find((probe) => 'failure' in probe);
      if (failed && 'failure' in failed) throw failed.failure;
      host = await this.roomiest();
      this.logger.log(`${env} is placed on ${host}, the host with the most free memory`);
    }
    this.placed.set(env, host);
    return host;
  }

  /** Whether the host holds the environment's container or one of its own volumes. */
  private async probe(host: string, env: string): Promise<Probe> {
    try {
      if (await this.docker.containerExistsOn(host, agentContainerName(this.config.agent, env))) {
        return { host, holds: true };
      }
      // The credentials volume is shared by every environment of a host: it tells nothing.
      const own = agentVolumeMounts(this.config.agent, env).filter(
        (mount) => mount.target !== AGENT_CREDENTIALS_DIR,
      );
      const found = await Promise.all(
        own.map((mount) => this.docker.volumeExistsOn(host, mount.volume)),
      );
      return { host, holds: found.some(Boolean) };
    } catch (failure) {
      return { host, failure };
    }
  }

  /** The host with the most free memory (see the class); every host answers by now. */
  private async roomiest(): Promise<string> {
    const free = await Promise.all(
      this.hosts.map(async (host) => {
        const [total, limits] = await Promise.all([
          this.docker.hostMemoryBytes(host),
          this.docker.containerMemoryLimits(host, `${MANAGED_LABEL}=true`),
        ]);
        return total - limits.reduce((sum, container) => sum + container.memoryBytes, 0);
      }),
    );
    // Strictly more wins: a tie keeps the host listed first.
    let best = 0;
    free.forEach((bytes, index) => {
      if (bytes > free[best]) best = index;
    });
    return this.hosts[best];
  }
}
