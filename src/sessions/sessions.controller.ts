import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { CONTAINER_START_ERRORS } from '../containers/containers.controller';
import { EnvironmentPipe } from '../containers/environment.pipe';
import { CreatedSessionDto, CreateSessionDto } from './dto/create-session.dto';
import { ForkedSessionDto, ForkSessionDto } from './dto/fork-session.dto';
import { GetSessionQueryDto, SessionDetailDto } from './dto/session-detail.dto';
import { ListSessionsQueryDto, SessionListDto } from './dto/session-summary.dto';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { SessionForkService } from './session-fork.service';
import { SessionsService } from './sessions.service';
import {
  RequiresScope,
  ScopeEnvironment,
  TokenAction,
} from '../common/routes/required-scope.decorator';

const ENV_PARAM = {
  name: 'env',
  description: 'A configured environment, e.g. `dev`',
  example: 'dev',
};
const ID_PARAM = { name: 'id', description: 'The session id', format: 'uuid' };

@ApiTags('sessions')
@ApiAuthenticated()
// Every route but the reservation (store only) reads or writes the volume through Docker.
@ApiErrors({ 400: [ErrorCode.VALIDATION_FAILED] })
@Controller('api/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly forks: SessionForkService,
  ) {}

  /** Reserves a new session id in an environment, optionally with a title. */
  @Post()
  @RequiresScope(TokenAction.run, ScopeEnvironment.body)
  @ApiCreatedResponse({ type: CreatedSessionDto })
  @ApiErrors({ 404: [ErrorCode.ENV_NOT_FOUND] })
  createSession(@Body() body: CreateSessionDto): Promise<CreatedSessionDto> {
    return this.sessions.createSession(body);
  }

  /** The environment's sessions, newest first; works while its container is stopped. */
  @Get(':env')
  @RequiresScope(TokenAction.read, ScopeEnvironment.path)
  @ApiOkResponse({ type: SessionListDto })
  @ApiParam(ENV_PARAM)
  @ApiErrors({
    404: [ErrorCode.ENV_NOT_FOUND],
    503: [ErrorCode.DOCKER_UNAVAILABLE],
    504: [ErrorCode.DOCKER_TIMEOUT],
  })
  listSessions(
    @Param('env', EnvironmentPipe) env: string,
    @Query() query: ListSessionsQueryDto,
  ): Promise<SessionListDto> {
    return this.sessions.listSessions(env, query);
  }

  /** One session with a page of its messages. */
  @Get(':env/:id')
  @RequiresScope(TokenAction.read, ScopeEnvironment.path)
  @ApiOkResponse({ type: SessionDetailDto })
  @ApiParam(ENV_PARAM)
  @ApiParam(ID_PARAM)
  @ApiErrors({
    404: [ErrorCode.ENV_NOT_FOUND, ErrorCode.SESSION_NOT_FOUND],
    503: [ErrorCode.DOCKER_UNAVAILABLE],
    504: [ErrorCode.DOCKER_TIMEOUT],
  })
  getSession(
    @Param('env', EnvironmentPipe) env: string,
    @Param('id', UuidParamPipe) id: string,
    @Query() query: GetSessionQueryDto,
  ): Promise<SessionDetailDto> {
    return this.sessions.getSession(env, id, query);
  }

  /** Deletes a session's transcripts and reservation; starts the container if it is stopped. */
  @Delete(':env/:id')
  @RequiresScope(TokenAction.run, ScopeEnvironment.path)
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiParam(ENV_PARAM)
  @ApiParam(ID_PARAM)
  @ApiErrors(
    {
      404: [ErrorCode.ENV_NOT_FOUND, ErrorCode.SESSION_NOT_FOUND],
      409: [ErrorCode.SESSION_BUSY, ErrorCode.CONTAINER_NOT_MANAGED],
      503: CONTAINER_START_ERRORS,
      504: [ErrorCode.DOCKER_TIMEOUT],
    },
    { 409: "a prompt is running in it, or the environment's container is not the service's" },
  )
  deleteSession(
    @Param('env', EnvironmentPipe) env: string,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<void> {
    return this.sessions.deleteSession(env, id);
  }

  /**
   * Forks a session into a new one that keeps its history, whole or up to a message; the parent
   * stays as it is. Starts the container if it is stopped.
   */
  @Post(':env/:id/fork')
  @RequiresScope(TokenAction.run, ScopeEnvironment.path)
  @ApiBody({ type: ForkSessionDto, required: false })
  @ApiCreatedResponse({ type: ForkedSessionDto })
  @ApiParam(ENV_PARAM)
  @ApiParam(ID_PARAM)
  @ApiErrors(
    {
      404: [ErrorCode.ENV_NOT_FOUND, ErrorCode.SESSION_NOT_FOUND, ErrorCode.MESSAGE_NOT_FOUND],
      409: [ErrorCode.SESSION_BUSY, ErrorCode.SESSION_EMPTY, ErrorCode.CONTAINER_NOT_MANAGED],
      413: [ErrorCode.TRANSCRIPT_TOO_LARGE],
      502: [ErrorCode.DOCKER_ERROR],
      503: CONTAINER_START_ERRORS,
      504: [ErrorCode.DOCKER_TIMEOUT],
    },
    {
      409: "a prompt is running in it, it has no messages yet, or the environment's container is not the service's",
      502: 'the new transcript could not be written',
    },
  )
  forkSession(
    @Param('env', EnvironmentPipe) env: string,
    @Param('id', UuidParamPipe) id: string,
    @Body() body: ForkSessionDto = {},
  ): Promise<ForkedSessionDto> {
    return this.forks.forkSession(env, id, body);
  }
}
