import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ContainerIdleStopped } from '../common/events/service-events';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { KeyedLock } from '../common/keyed-lock';
import { DockerOperationError } from '../docker/docker.errors';
import { DockerService } from '../docker/docker.service';
import { ContainerInfo, ContainerSpec } from '../docker/docker.types';
import {
  AGENT_CREDENTIALS_DIR,
  agentContainerName,
  MANAGED_LABEL,
  SETTINGS_HASH_LABEL,
} from '../agent/agent-layout';
import { agentContainerSpec } from './agent-container-spec';
import { checkManaged, containerExists, containerNotFound, isManaged } from './containers.errors';
import { ContainerActivity } from './container-activity';
import { AgentAuthMethod } from './dto/agent-auth.dto';
import { ContainerLimitsDto, ContainerStatusDto } from './dto/container-status.dto';
import { ContainerPlacement } from './container-placement';
import { ContainerStates } from './container-states';
import { EnvironmentPipe } from './environment.pipe';

const STOP_GRACE_SECONDS = 10;
/** How long a credentials-file check is trusted before it is made again (in the background). */
const AUTH_CHECK_TTL_MS = 5000;

/** Whether an environment's container exists, and runs. */
export type RunState = 'missing' | 'stopped' | 'running';

interface AuthCheck {
  method: AgentAuthMethod;
  checkedAt: number;
  refreshing: boolean;
}

/** The lifecycle of the one long-lived agent container per environment. */
@Injectable()
export class ContainersService {
  private readonly logger = new Logger(ContainersService.name);
  // Start and stop of one environment never interleave (two starts would race to create).
  private readonly lifecycle = new KeyedLock();
  /** Environments whose container an idle stop is stopping: the state kept still says running. */
  private readonly stopping = new Set<string>();
  private readonly authChecks = new Map<string, AuthCheck>();
  /** The agent image's id on each host as last read; null when that engine lacks it. */
  private readonly imageIds = new Map<string, string | null>();
  /** Each environment's expected settings hash, made once per image id: reads are hot. */
  private readonly expectedHashes = new Map<string, { imageId: string; hash: string }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
    private readonly states: ContainerStates,
    private readonly environments: EnvironmentPipe,
    private readonly activity: ContainerActivity,
    private readonly placement: ContainerPlacement,
  ) {}

  /** Throws 404 ENV_NOT_FOUND unless the environment is configured. */
  checkEnvironment(env: string): void {
    this.environments.transform(env);
  }

  async runState(env: string): Promise<RunState> {
    const info = await this.states.get(env);
    return info === null ? 'missing' : info.running ? 'running' : 'stopped';
  }

  containerName(env: string): string {
    return agentContainerName(this.config.agent, env);
  }

  /** The container's status as the service keeps it (see ContainerStates). */
  async getStatus(env: string): Promise<ContainerStatusDto> {
    return this.statusOf(env, await this.states.get(env));
  }

  private async statusOf(env: string, info: ContainerInfo | null): Promise<ContainerStatusDto> {
    const settingsHash = info?.labels[SETTINGS_HASH_LABEL] ?? null;
    const expected = info ? await this.knownSettingsHash(env) : null;
    const method = await this.authMethod(env, info);
    const idleSince = this.activity.idleSince(env, info);
    const idleStopAt = this.activity.stopAt(idleSince);
    const host = this.placement.knownHostOf(env) ?? (await this.placement.hostOf(env));
    // Every value is ready before the literal: an await inside it, or a spread, makes V8 build
    // the object slowly, and this is the hottest read.
    return {
      env,
      name: this.containerName(env),
      host,
      exists: info !== null,
      running: info?.running ?? false,
      state: info?.state ?? 'missing',
      image: info?.image ?? this.config.agent.image,
      startedAt: info?.startedAt ?? null,
      createdAt: info?.createdAt ?? null,
      auth: { method },
      managed: info === null || isManaged(info),
      settingsHash,
      matchesSettings: expected === null ? null : settingsHash === expected,
      limits: this.limitsOf(env),
      idleSince: idleSince === null ? null : new Date(idleSince).toISOString(),
      idleStopAt: idleStopAt === null ? null : new Date(idleStopAt).toISOString(),
    };
  }

  /**
   * The hash the environment's container would carry if made now, from the image id last read
   * (each start reads it afresh); null when the image cannot be read.
   */
  private async knownSettingsHash(env: string): Promise<string | null> {
    let imageId: string | null | undefined;
    try {
      const host = await this.placement.hostOf(env);
      imageId = this.imageIds.get(host);
      if (imageId === undefined) imageId = await this.readImageId(host);
    } catch {
      return null;
    }
    if (imageId === null) return null;
    let expected = this.expectedHashes.get(env);
    if (expected?.imageId !== imageId) {
      const spec = agentContainerSpec(this.config.agent, env, imageId);
      expected = { imageId, hash: spec.labels[SETTINGS_HASH_LABEL] };
      this.expectedHashes.set(env, expected);
    }
    return expected.hash;
  }

  private async readImageId(host: string): Promise<string | null> {
    const imageId = await this.docker.imageId(host, this.config.agent.image);
    this.imageIds.set(host, imageId);
    return imageId;
  }

  private limitsOf(env: string): ContainerLimitsDto {
    const limits = this.config.agent.limits[env];
    return {
      memoryBytes: limits.memoryBytes,
      cpus: limits.cpus,
      pids: limits.pids,
      nofile: limits.nofile,
      tmpBytes: limits.tmpMib * 1024 * 1024,
      cpuShares: limits.cpuShares,
    };
  }

  /** What the CLI would authenticate with, in its own order of preference; no secret leaves. */
  private async authMethod(env: string, info: ContainerInfo | null): Promise<AgentAuthMethod> {
    const agentEnv = this.config.agent.env;
    if (agentEnv.ANTHROPIC_API_KEY) return AgentAuthMethod.api_key;
    if (agentEnv.CLAUDE_CODE_OAUTH_TOKEN) return AgentAuthMethod.oauth_token;
    if (!info) return AgentAuthMethod.none;
    const known = this.authChecks.get(env);
    if (!known) return this.checkCredentialsFile(env);
    if (Date.now() - known.checkedAt > AUTH_CHECK_TTL_MS && !known.refreshing) {
      // Answered from the last check; the next read gets the new one.
      known.refreshing = true;
      this.checkCredentialsFile(env).catch(() => (known.refreshing = false));
    }
    return known.method;
  }

  private async checkCredentialsFile(env: string): Promise<AgentAuthMethod> {
    const file = await this.docker.statPath(
      this.containerName(env),
      `${AGENT_CREDENTIALS_DIR}/.credentials.json`,
    );
    const method =
      file && !file.isDirectory && file.size > 0
        ? AgentAuthMethod.credentials_file
        : AgentAuthMethod.none;
    this.authChecks.set(env, { method, checkedAt: Date.now(), refreshing: false });
    return method;
  }

  /** Creates the container if needed, starts it, and returns its status. Idempotent. */
  start(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      await this.startLocked(env);
      return this.statusOf(env, await this.states.get(env));
    });
  }

  /** Creates the container and starts it (`docker run -d`); 409 when it exists already. */
  create(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      const existing = await this.states.refresh(env);
      checkManaged(existing);
      if (existing) throw containerExists(this.containerName(env));
      await this.startLocked(env);
      return this.statusOf(env, await this.states.get(env));
    });
  }

  /**
   * Stops and removes the container; its volumes (credentials, config, sessions, workspace)
   * stay, so a later create or start finds the sessions again. 404 when there is none.
   */
  remove(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      const name = this.containerName(env);
      const existing = await this.states.refresh(env);
      if (!existing) throw containerNotFound(env);
      checkManaged(existing);
      // Stopped first, with the same grace as a stop: the CLIs in it end cleanly.
      if (existing.running) await this.docker.stopContainer(name, STOP_GRACE_SECONDS);
      await this.docker.removeContainer(name);
      this.authChecks.delete(env);
      return this.statusOf(env, await this.states.refresh(env));
    });
  }

  /**
   * Holds the environment's container while something uses it: an idle stop leaves a held
   * container running. The returned function lets go of it, once.
   */
  hold(env: string): () => void {
    return this.activity.hold(env);
  }

  /** Runs `task` on the environment's container, started first, and held until the task ends. */
  async whileRunning<T>(env: string, task: (containerName: string) => Promise<T>): Promise<T> {
    const letGo = this.hold(env);
    try {
      return await task(await this.ensureRunning(env));
    } finally {
      letGo();
    }
  }

  /**
   * The name of the environment's container, started (and created) first when it does not run.
   * Called while holding the container (see `hold`), it stays running until let go.
   */
  async ensureRunning(env: string): Promise<string> {
    const name = this.containerName(env);
    const existing = await this.states.get(env);
    // Runs never go into a container the service did not make.
    checkManaged(existing);
    // Under the lock it looks again: another request may be starting it, or an idle stop
    // stopping it (then it is started again once stopped).
    if (!existing?.running || this.stopping.has(env)) {
      await this.lifecycle.run(env, () => this.startLocked(env));
    }
    return name;
  }

  /**
   * Only under the environment's lifecycle lock. A stopped container made from other settings
   * (image, limits, mounts, network…) is removed and made afresh; its volumes stay.
   */
  private async startLocked(env: string): Promise<void> {
    const name = this.containerName(env);
    let existing = await this.states.refresh(env);
    // Someone else's container is never started, nor re-created for its other settings.
    checkManaged(existing);
    if (existing?.running) return;
    const spec = await this.currentSpec(env);
    if (
      existing &&
      spec &&
      existing.labels[SETTINGS_HASH_LABEL] !== spec.labels[SETTINGS_HASH_LABEL]
    ) {
      this.logger.log(`Re-creating ${name}: it was made from other settings`);
      await this.docker.removeContainer(name);
      existing = null;
    }
    if (!existing) await this.createFrom(env, spec);
    await this.startCreated(name);
    // A container (re)started may come with other credentials: check them afresh.
    this.authChecks.delete(env);
    await this.states.refresh(env);
  }

  /**
   * Stops and starts the container again (re-created if its settings changed): its tmpfs is
   * emptied and every process in it ends, runs in flight included.
   */
  restart(env: string): Promise<void> {
    return this.lifecycle.run(env, async () => {
      if ((await this.states.refresh(env))?.running) {
        await this.docker.stopContainer(this.containerName(env), STOP_GRACE_SECONDS);
      }
      await this.startLocked(env);
    });
  }

  /** Stops the container if it runs, and returns its status. Idempotent. */
  stop(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      const name = this.containerName(env);
      const existing = await this.states.refresh(env);
      checkManaged(existing);
      if (existing?.running) await this.docker.stopContainer(name, STOP_GRACE_SECONDS);
      return this.statusOf(env, await this.states.refresh(env));
    });
  }

  /**
   * Stops the container when nothing has held it for IDLE_STOP_MS, and tells when; null when it
   * is not due (held again, stopped, or idle for less). Decided under the lifecycle lock, which
   * starts wait on, so a run that took hold of the container meanwhile keeps it running.
   */
  stopIfIdle(env: string): Promise<ContainerIdleStopped | null> {
    return this.lifecycle.run(env, async () => {
      const info = await this.states.get(env);
      // Someone else's container is not the service's to stop.
      if (info && !isManaged(info)) return null;
      const idleSince = this.activity.idleSince(env, info);
      const stopAt = this.activity.stopAt(idleSince);
      if (idleSince === null || stopAt === null || stopAt > Date.now()) return null;
      // From this check on, a run that takes hold finds it stopping and waits for the lock.
      this.stopping.add(env);
      try {
        await this.docker.stopContainer(this.containerName(env), STOP_GRACE_SECONDS);
        // As a manual stop does: the kept state, and the runner's warm and spare CLIs, follow.
        await this.states.refresh(env);
      } finally {
        this.stopping.delete(env);
      }
      return {
        env,
        idleSince: new Date(idleSince).toISOString(),
        stoppedAt: new Date().toISOString(),
      };
    });
  }

  /** The container the current settings make, or null when the agent image is missing. */
  private async currentSpec(env: string): Promise<ContainerSpec | null> {
    const imageId = await this.readImageId(await this.placement.hostOf(env));
    return imageId === null ? null : agentContainerSpec(this.config.agent, env, imageId);
  }

  private async createFrom(env: string, spec: ContainerSpec | null): Promise<void> {
    const { agent } = this.config;
    const host = await this.placement.hostOf(env);
    if (!spec) {
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        ErrorCode.AGENT_IMAGE_MISSING,
        `The agent image ${agent.image} is not on the Docker host; build it with scripts/build-images.sh`,
      );
    }
    await this.docker.ensureNetwork(host, agent.network, { [MANAGED_LABEL]: 'true' });
    for (const { volume } of spec.mounts) {
      await this.docker.ensureVolume(host, volume, { [MANAGED_LABEL]: 'true' });
    }
    await this.docker.createContainer(spec);
  }

  private async startCreated(name: string): Promise<void> {
    try {
      await this.docker.startContainer(name);
    } catch (error) {
      if (!(error instanceof DockerOperationError)) throw error;
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        ErrorCode.CONTAINER_UNAVAILABLE,
        `The container ${name} could not be started`,
      );
    }
  }
}
