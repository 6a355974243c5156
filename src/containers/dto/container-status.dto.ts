import { ApiProperty } from '@nestjs/swagger';
import { ContainerState } from '../../docker/docker.types';
import { AgentAuthDto } from './agent-auth.dto';

/** The agent container of one environment. */
export class ContainerStatusDto {
  /** The environment, e.g. `dev`. */
  env!: string;

  /** The container's name, e.g. `claude-agent-dev`. */
  name!: string;

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
}
