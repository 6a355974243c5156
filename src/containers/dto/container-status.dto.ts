import { ApiProperty } from '@nestjs/swagger';
import { ContainerState } from '../../docker/docker.types';
import { AgentAuthDto } from './agent-auth.dto';

/** What bounds the environment's container (AGENT_LIMITS, AGENT_LIMITS_<ENV>). */
export class ContainerLimitsDto {
  /** Memory in bytes, swap included (there is none on top). */
  @ApiProperty({ type: 'integer' })
  memoryBytes!: number;

  /** CPUs it may use at once. */
  cpus!: number;

  /** Processes and threads at once. */
  @ApiProperty({ type: 'integer' })
  pids!: number;

  /** Open files per process. */
  @ApiProperty({ type: 'integer' })
  nofile!: number;

  /** Size of its /tmp (memory-backed) in bytes. */
  @ApiProperty({ type: 'integer' })
  tmpBytes!: number;

  /** CPU weight under contention (the API's is higher). */
  @ApiProperty({ type: 'integer' })
  cpuShares!: number;
}

/** The agent container of one environment. */
export class ContainerStatusDto {
  /** The environment, e.g. `dev`. */
  env!: string;

  /** The container's name, e.g. `claude-agent-dev`. */
  name!: string;

  /**
   * The Docker host of the pool (DOCKER_HOSTS) the container lives on, or will be made on;
   * `local` when the service has one engine.
   */
  host!: string;

  /** Whether the container exists at all. */
  exists!: boolean;

  /** Whether it is running and can take executions. */
  running!: boolean;

  @ApiProperty({
    enum: [...Object.values(ContainerState), 'missing'],
    enumName: 'ContainerStateName',
    description: "Docker's state of the container, or `missing` when it does not exist",
  })
  state!: ContainerState | 'missing';

  /** The image the container was created from, or the configured image when it does not exist. */
  image!: string;

  /** ISO time of the last start, or null. */
  startedAt!: string | null;

  /** ISO time of its creation, or null when it does not exist. */
  createdAt!: string | null;

  auth!: AgentAuthDto;

  /**
   * False when a container of this name exists that the service did not create (it lacks the
   * label `com.claudecode-api.managed=true`): the service will not use, re-create, stop or remove
   * it (409 CONTAINER_NOT_MANAGED) until it is removed or renamed. True otherwise, a missing
   * container included.
   */
  managed!: boolean;

  /**
   * The hash of the settings the container was made from (image id, limits, mounts, network,
   * user, workdir, tmpfs), or null when it does not exist or predates the hash.
   */
  settingsHash!: string | null;

  /**
   * Whether the container was made from the current settings; false: its next start re-creates
   * it (its volumes, and so its sessions, stay). Null when it does not exist or the agent image
   * cannot be read.
   */
  matchesSettings!: boolean | null;

  limits!: ContainerLimitsDto;

  /**
   * ISO time since which nothing has used the running container (no run, no event stream; warm
   * and spare CLIs do not count), or null while something does or when it does not run.
   */
  idleSince!: string | null;

  /**
   * ISO time at which the service stops the container for idleness (`idleSince` + IDLE_STOP_MS),
   * unless something uses it first; null when it is not idle or IDLE_STOP_MS is 0.
   */
  idleStopAt!: string | null;
}
