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
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { EnvironmentPipe } from '../containers/environment.pipe';
import { CreatedSessionDto, CreateSessionDto } from './dto/create-session.dto';
import { GetSessionQueryDto, SessionDetailDto } from './dto/session-detail.dto';
import { ListSessionsQueryDto, SessionListDto } from './dto/session-summary.dto';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { SessionsService } from './sessions.service';

const ENV_PARAM = {
  name: 'env',
  description: 'A configured environment, e.g. `dev`',
  example: 'dev',
};
const ID_PARAM = { name: 'id', description: 'The session id', format: 'uuid' };

@ApiTags('sessions')
@ApiAuthenticated()
@ApiBadRequestResponse({ description: 'VALIDATION_FAILED', type: ErrorResponseDto })
@ApiServiceUnavailableResponse({ description: 'DOCKER_UNAVAILABLE', type: ErrorResponseDto })
@Controller('api/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  /** Reserves a new session id in an environment, optionally with a title. */
  @Post()
  @ApiCreatedResponse({ type: CreatedSessionDto })
  @ApiNotFoundResponse({ description: 'ENV_NOT_FOUND', type: ErrorResponseDto })
  createSession(@Body() body: CreateSessionDto): CreatedSessionDto {
    return this.sessions.createSession(body);
  }

  /** The environment's sessions, newest first; works while its container is stopped. */
  @Get(':env')
  @ApiOkResponse({ type: SessionListDto })
  @ApiParam(ENV_PARAM)
  @ApiNotFoundResponse({ description: 'ENV_NOT_FOUND', type: ErrorResponseDto })
  listSessions(
    @Param('env', EnvironmentPipe) env: string,
    @Query() query: ListSessionsQueryDto,
  ): Promise<SessionListDto> {
    return this.sessions.listSessions(env, query);
  }

  /** One session with a page of its messages. */
  @Get(':env/:id')
  @ApiOkResponse({ type: SessionDetailDto })
  @ApiParam(ENV_PARAM)
  @ApiParam(ID_PARAM)
  @ApiNotFoundResponse({
    description: 'ENV_NOT_FOUND or SESSION_NOT_FOUND',
    type: ErrorResponseDto,
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
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiParam(ENV_PARAM)
  @ApiParam(ID_PARAM)
  @ApiNotFoundResponse({
    description: 'ENV_NOT_FOUND or SESSION_NOT_FOUND',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({
    description: 'SESSION_BUSY: a prompt is running in it',
    type: ErrorResponseDto,
  })
  deleteSession(
    @Param('env', EnvironmentPipe) env: string,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<void> {
    return this.sessions.deleteSession(env, id);
  }
}
