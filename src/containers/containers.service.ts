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

const STOP_GRACE_SECONDS = 10;

/** The lifecycle of the one long-lived agent container per environment. */
@Injectable()
export class ContainersService {
  // Start and stop of one environment never interleave (two starts would race to create).
  private readonly lifecycle = new KeyedLock();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerService,
  ) {}

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

  async getStatus(env: string): Promise<ContainerStatusDto> {
    const info = await this.docker.inspectContainer(this.containerName(env));
    return { ...this.toStatus(env, info), auth: { method: await this.authMethod(env, info) } };
  }

  /** What the CLI would authenticate with, in its own order of preference; no secret leaves. */
  private async authMethod(env: string, info: ContainerInfo | null): Promise<AgentAuthMethod> {
    const agentEnv = this.config.agent.env;
    if (agentEnv.ANTHROPIC_API_KEY) return AgentAuthMethod.api_key;
    if (agentEnv.CLAUDE_CODE_OAUTH_TOKEN) return AgentAuthMethod.oauth_token;
    if (!info) return AgentAuthMethod.none;
    const file = await this.docker.statPath(
      this.containerName(env),
      `${AGENT_CREDENTIALS_DIR}/.credentials.json`,
    );
    return file && !file.isDirectory && file.size > 0
      ? AgentAuthMethod.credentials_file
      : AgentAuthMethod.none;
  }

  /** Creates the container if needed, starts it, and returns its status. Idempotent. */
  start(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      await this.startLocked(env);
      return this.getStatus(env);
    });
  }

  /** The name of the environment's container, started (and created) first when it does not run. */
  async ensureRunning(env: string): Promise<string> {
    const name = this.containerName(env);
    const existing = await this.docker.inspectContainer(name);
    // Under the lock it looks again: another request may be starting it.
    if (!existing?.running) await this.lifecycle.run(env, () => this.startLocked(env));
    return name;
  }

  /** Only under the environment's lifecycle lock. */
  private async startLocked(env: string): Promise<void> {
    const name = this.containerName(env);
    const existing = await this.docker.inspectContainer(name);
    if (!existing) await this.create(env);
    if (!existing?.running) await this.startCreated(name);
  }

  /** Stops the container if it runs, and returns its status. Idempotent. */
  stop(env: string): Promise<ContainerStatusDto> {
    return this.lifecycle.run(env, async () => {
      const name = this.containerName(env);
      const existing = await this.docker.inspectContainer(name);
      if (existing?.running) await this.docker.stopContainer(name, STOP_GRACE_SECONDS);
      return this.getStatus(env);
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
