import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { KeyedLock } from '../common/keyed-lock';
import { DockerOperationError } from '../docker/docker.errors';
import { DockerService } from '../docker/docker.service';
import { ContainerInfo, VolumeMount } from '../docker/docker.types';
import {
  AGENT_CONFIG_DIR,
  AGENT_CREDENTIALS_DIR,
  AGENT_PROJECTS_DIR,
  AGENT_USER,
  ENV_LABEL,
  MANAGED_LABEL,
} from '../agent/agent-layout';
import { AgentAuthMethod } from './dto/agent-auth.dto';
import { ContainerStatusDto } from './dto/container-status.dto';
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
  // Start and stop of one environment never interleave (two starts would race to create).
  private readonly lifecycle = new KeyedLock();
  private readonly authChecks = new Map<string, AuthCheck>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
    private readonly states: ContainerStates,
    private readonly environments: EnvironmentPipe,
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
    return `${this.config.agent.containerPrefix}${env}`;
  }

  /** The named volumes of an environment's container and where they are mounted. */
  volumeMounts(env: string): VolumeMount[] {
    const prefix = this.config.agent.volumePrefix;
    return [
      { volume: `${prefix}credentials`, target: AGENT_CREDENTIALS_DIR },
      { volume: `${prefix}config`, target: AGENT_CONFIG_DIR },
      { volume: `${prefix}sessions-${env}`, target: AGENT_PROJECTS_DIR },
    ];
  }

  /** The container's status as the service keeps it (see ContainerStates). */
  async getStatus(env: string): Promise<ContainerStatusDto> {
    return this.statusOf(env, await this.states.get(env));
  }

  private async statusOf(env: string, info: ContainerInfo | null): Promise<ContainerStatusDto> {
    return { ...this.toStatus(env, info), auth: { method: await this.authMethod(env, info) } };
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

  /** The name of the environment's container, started (and created) first when it does not run. */
  async ensureRunning(env: string): Promise<string> {
    const name = this.containerName(env);
    const existing = await this.states.get(env);
    // Under the lock it looks again: another request may be starting it.
    if (!existing?.running) await this.lifecycle.run(env, () => this.startLocked(env));
    return name;
  }

  /** Only under the environment's lifecycle lock. */
  private async startLocked(env: string): Promise<void> {
    const name = this.containerName(env);
    const existing = await this.states.refresh(env);
    if (!existing) await this.create(env);
    if (!existing?.running) {
      await this.startCreated(name);
      // A container (re)started may come with other credentials: check them afresh.
      this.authChecks.delete(env);
      await this.states.refresh(env);
    }
  }

  /** Stops the container if it runs, and returns its status. Idempotent. */
  stop(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      const name = this.containerName(env);
      const existing = await this.states.refresh(env);
      if (existing?.running) await this.docker.stopContainer(name, STOP_GRACE_SECONDS);
      return this.statusOf(env, await this.states.refresh(env));
    });
  }

  private async create(env: string): Promise<void> {
    const { agent } = this.config;
    if (!(await this.docker.imageExists(agent.image))) {
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        ErrorCode.AGENT_IMAGE_MISSING,
        `The agent image ${agent.image} is not on the Docker host; build it with scripts/build-images.sh`,
      );
    }
    const labels = { [MANAGED_LABEL]: 'true', [ENV_LABEL]: env };
    const mounts = this.volumeMounts(env);
    await this.docker.ensureNetwork(agent.network, { [MANAGED_LABEL]: 'true' });
    for (const { volume } of mounts) {
      await this.docker.ensureVolume(volume, { [MANAGED_LABEL]: 'true' });
    }
    await this.docker.createContainer({
      name: this.containerName(env),
      image: agent.image,
      user: AGENT_USER,
      workdir: agent.workdir,
      network: agent.network,
      labels,
      mounts,
    });
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

  private toStatus(env: string, info: ContainerInfo | null): Omit<ContainerStatusDto, 'auth'> {
    return {
      env,
      name: this.containerName(env),
      exists: info !== null,
      running: info?.running ?? false,
      state: info?.state ?? 'missing',
      image: info?.image ?? this.config.agent.image,
      startedAt: info?.startedAt ?? null,
      createdAt: info?.createdAt ?? null,
    };
  }
}
