import { Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { ContainersService } from './containers.service';
import { ContainerStatusDto } from './dto/container-status.dto';
import { EnvironmentPipe } from './environment.pipe';

@ApiTags('containers')
@ApiAuthenticated()
@ApiParam({ name: 'env', description: 'A configured environment, e.g. `dev`', example: 'dev' })
@ApiNotFoundResponse({
  description: 'ENV_NOT_FOUND: not a configured environment',
  type: ErrorResponseDto,
})
@ApiServiceUnavailableResponse({
  description: 'DOCKER_UNAVAILABLE, CONTAINER_UNAVAILABLE or AGENT_IMAGE_MISSING',
  type: ErrorResponseDto,
})
@Controller('api/containers/:env')
export class ContainersController {
  constructor(private readonly containers: ContainersService) {}

  /** The state of the environment's agent container. */
  @Get()
  getContainerStatus(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.getStatus(env);
  }

  /** Creates the agent container if needed and starts it. Calling it again is harmless. */
  @Post('start')
  @HttpCode(HttpStatus.OK)
  startContainer(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.start(env);
  }

  /** Stops the agent container; its volumes stay. Calling it again is harmless. */
  @Post('stop')
  @HttpCode(HttpStatus.OK)
  stopContainer(@Param('env', EnvironmentPipe) env: string): Promise<ContainerStatusDto> {
    return this.containers.stop(env);
  }
}
