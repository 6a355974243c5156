import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { ContainerMcp } from './container-mcp';
import { ContainersService } from './containers.service';
import { ContainerStatusDto } from './dto/container-status.dto';
import { McpStatusDto } from './dto/mcp-status.dto';
import { EnvironmentPipe } from './environment.pipe';
import {
  RequiresScope,
  ScopeEnvironment,
  TokenAction,
} from '../common/routes/required-scope.decorator';

/** The 503s of starting an environment's container, and creating it first when needed. */
export const CONTAINER_START_ERRORS = [
  ErrorCode.DOCKER_UNAVAILABLE,
  ErrorCode.CONTAINER_UNAVAILABLE,
  ErrorCode.AGENT_IMAGE_MISSING,
] as const;

@ApiTags('containers')
@ApiAuthenticated()
@ApiParam({ name: 'env', description: 'A configured environment, e.g. `dev`', example: 'dev' })
@ApiErrors(
  {
    404: [ErrorCode.ENV_NOT_FOUND],
    503: [ErrorCode.DOCKER_UNAVAILABLE],
    504: [ErrorCode.DOCKER_TIMEOUT],
  },
  { 404: 'not a configured environment' },
)
@Controller('api/containers/:env')
export class ContainersController {
  constructor(
    private readonly containers: ContainersService,
    private readonly mcp: ContainerMcp,
  ) {}

  /** The state of the environment's agent container. */
  @Get()
  @RequiresScope(TokenAction.read, ScopeEnvironment.path)
  getContainerStatus(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.getStatus(env);
  }

  /**
   * Creates the agent container and starts it, like `docker run -d`. Its volumes are created
   * when missing, or found again (with their sessions) after a remove.
   */
  @Post()
  @RequiresScope(TokenAction.admin, ScopeEnvironment.path)
  @ApiErrors({
    409: [ErrorCode.CONTAINER_EXISTS, ErrorCode.CONTAINER_NOT_MANAGED],
    503: CONTAINER_START_ERRORS,
  })
  createContainer(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.create(env);
  }

  /** Stops and removes the agent container; its volumes (and so its sessions) stay. */
  @Delete()
  @RequiresScope(TokenAction.admin, ScopeEnvironment.path)
  @HttpCode(HttpStatus.OK)
  @ApiErrors({ 404: [ErrorCode.CONTAINER_NOT_FOUND], 409: [ErrorCode.CONTAINER_NOT_MANAGED] })
  removeContainer(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.remove(env);
  }

  /**
   * The environment's MCP servers (MCP_CONFIG, MCP_CONFIG_<ENV>) and their tools, as Claude Code
   * in the running container reports them. Never starts the container; takes up to 30 s when a
   * Claude Code process must be started for the read and a server is slow to connect.
   */
  @Get('mcp')
  @RequiresScope(TokenAction.read, ScopeEnvironment.path)
  @ApiErrors({
    409: [ErrorCode.CONTAINER_NOT_RUNNING, ErrorCode.CONTAINER_NOT_MANAGED],
    503: [ErrorCode.CONTAINER_UNAVAILABLE],
  })
  getMcpStatus(@Param('env', EnvironmentPipe) env: string): Promise<McpStatusDto> {
    return this.mcp.getStatus(env);
  }

  /** Creates the agent container if needed and starts it. Calling it again is harmless. */
  @Post('start')
  @RequiresScope(TokenAction.run, ScopeEnvironment.path)
  @HttpCode(HttpStatus.OK)
  @ApiErrors({ 409: [ErrorCode.CONTAINER_NOT_MANAGED], 503: CONTAINER_START_ERRORS })
  startContainer(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.start(env);
  }

  /** Stops the agent container; its volumes stay. Calling it again is harmless. */
  @Post('stop')
  @RequiresScope(TokenAction.admin, ScopeEnvironment.path)
  @HttpCode(HttpStatus.OK)
  @ApiErrors({ 409: [ErrorCode.CONTAINER_NOT_MANAGED] })
  stopContainer(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.stop(env);
  }
}
