import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { AcceptsEventsToken } from '../common/auth/events-token.decorator';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { sendSse } from '../common/http/sse';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { RunsClaude } from '../common/throttling/runs-claude.decorator';
import { ExecutionDto, ExecutionListDto, SubmittedExecutionDto } from './dto/execution.dto';
import { ListExecutionsQueryDto } from './dto/list-executions-query.dto';
import { SubmitExecutionDto } from './dto/submit-execution.dto';
import { ExecutionEvents } from './execution-events';
import { ExecutionsService } from './executions.service';

@ApiTags('executions')
@ApiAuthenticated()
@ApiBadRequestResponse({ description: 'VALIDATION_FAILED', type: ErrorResponseDto })
@Controller('api/executions')
export class ExecutionsController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly events: ExecutionEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Queues a run and answers at once. Follow it with `GET /api/executions/{id}/events`, or poll
   * `GET /api/executions/{id}`. Runs on one session wait for each other.
   */
  @Post()
  @RunsClaude()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: SubmittedExecutionDto })
  @ApiNotFoundResponse({
    description: 'ENV_NOT_FOUND or SESSION_NOT_FOUND',
    type: ErrorResponseDto,
  })
  @ApiPayloadTooLargeResponse({
    description: 'PROMPT_TOO_LARGE or PAYLOAD_TOO_LARGE (the body limit)',
    type: ErrorResponseDto,
  })
  @ApiTooManyRequestsResponse({ description: 'QUEUE_FULL or RATE_LIMITED', type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({
    description: 'DOCKER_UNAVAILABLE or SHUTTING_DOWN',
    type: ErrorResponseDto,
  })
  submitExecution(@Body() request: SubmitExecutionDto): Promise<SubmittedExecutionDto> {
    return this.executions.submitInBackground(request);
  }

  /** The run history, newest first. */
  @Get()
  @ApiOkResponse({ type: ExecutionListDto })
  listExecutions(@Query() query: ListExecutionsQueryDto): ExecutionListDto {
    return this.executions.list(query);
  }

  /** One run: its status, timestamps, result, cost and usage. */
  @Get(':id')
  @ApiOkResponse({ type: ExecutionDto })
  @ApiNotFoundResponse({ description: 'EXECUTION_NOT_FOUND', type: ErrorResponseDto })
  getExecution(@Param('id', UuidParamPipe) id: string): ExecutionDto {
    return this.executions.get(id);
  }

  /**
   * Stops a run: a queued one leaves the queue; a running one is interrupted, and its CLI killed
   * if it does not stop within a grace period. The session stays resumable.
   */
  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ExecutionDto })
  @ApiNotFoundResponse({ description: 'EXECUTION_NOT_FOUND', type: ErrorResponseDto })
  @ApiConflictResponse({
    description: 'EXECUTION_FINISHED: the run has already ended',
    type: ErrorResponseDto,
  })
  cancelExecution(@Param('id', UuidParamPipe) id: string): Promise<ExecutionDto> {
    return this.executions.cancel(id);
  }

  /**
   * The run's messages as Server-Sent Events: each event's `event:` is the message type
   * (`system`, `assistant`, `user`, `result`, `stream_event`…), its `id:` a per-run sequence
   * number and its `data:` the message as JSON. A reconnect with `Last-Event-ID` resumes after
   * that id; a finished run is replayed. A final `end` event carries the run's state, then the
   * stream closes. Comments keep idle connections open. Besides the bearer header, the
   * run-scoped `access_token` from `submitExecution` is accepted (for EventSource).
   */
  @Get(':id/events')
  @AcceptsEventsToken()
  @ApiQuery({ name: 'access_token', required: false, description: 'The run-scoped eventsToken' })
  @ApiOkResponse({
    description: 'An event stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ description: 'EXECUTION_NOT_FOUND', type: ErrorResponseDto })
  streamExecutionEvents(
    @Param('id', UuidParamPipe) id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return sendSse(
      request,
      reply,
      this.events.open(id, lastEventId),
      this.config.history.heartbeatMs,
    );
  }
}
