import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { AcceptsEventsToken } from '../common/routes/events-token.decorator';
import { AuthenticatedRequest, EnvironmentScope } from '../common/auth/authenticated-request';
import { TokenEnvironments, TokenId } from '../common/auth/token-id.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { RunsClaude } from '../common/routes/runs-claude.decorator';
import { AnswerApprovalDto } from './dto/approval.dto';
import { AnswerQuestionDto } from './dto/question.dto';
import { ExecutionDto, ExecutionListDto, SubmittedExecutionDto } from './dto/execution.dto';
import { ListExecutionsQueryDto } from './dto/list-executions-query.dto';
import { SubmitExecutionDto } from './dto/submit-execution.dto';
import { ExecutionEvents } from './execution-events';
import { ApiRunAdmissionErrors } from './executions.errors';
import { ExecutionsService } from './executions.service';
import { DEAD_REPLICA_RUNS_END_WITHIN_S } from './run-control';
import {
  RequiresScope,
  ScopeEnvironment,
  TokenAction,
} from '../common/routes/required-scope.decorator';

/** With replicas: the replica that runs the execution did not answer. */
const OWNER_UNREACHABLE = `the replica that runs it did not answer; if it is gone, its runs end interrupted within ${DEAD_REPLICA_RUNS_END_WITHIN_S} s`;

@ApiTags('executions')
@ApiAuthenticated()
@ApiErrors({ 400: [ErrorCode.VALIDATION_FAILED] })
@Controller('api/executions')
export class ExecutionsController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly events: ExecutionEvents,
  ) {}

  /**
   * Queues a run and answers at once. Follow it with `GET /api/executions/{id}/events`, or poll
   * `GET /api/executions/{id}`. Runs on one session wait for each other (`queuedBehind` says
   * for which), unless `whenSessionBusy: steer` interrupts the running turn.
   */
  @Post()
  @RequiresScope(TokenAction.run, ScopeEnvironment.body)
  @RunsClaude()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: SubmittedExecutionDto })
  @ApiRunAdmissionErrors()
  submitExecution(
    @Body() request: SubmitExecutionDto,
    @TokenId() tokenId: string,
  ): Promise<SubmittedExecutionDto> {
    return this.executions.submitInBackground(request, tokenId);
  }

  /** The run history, newest first. */
  @Get()
  @RequiresScope(TokenAction.read, ScopeEnvironment.query)
  @ApiOkResponse({ type: ExecutionListDto })
  listExecutions(
    @Query() query: ListExecutionsQueryDto,
    @TokenEnvironments() environments: EnvironmentScope,
  ): Promise<ExecutionListDto> {
    return this.executions.list(query, environments);
  }

  /** One run: its status, timestamps, result, cost and usage. */
  @Get(':id')
  @RequiresScope(TokenAction.read, ScopeEnvironment.run)
  @ApiOkResponse({ type: ExecutionDto })
  @ApiErrors({ 404: [ErrorCode.EXECUTION_NOT_FOUND] })
  getExecution(
    @Param('id', UuidParamPipe) id: string,
    @TokenEnvironments() environments: EnvironmentScope,
  ): Promise<ExecutionDto> {
    return this.executions.get(id, environments);
  }

  /**
   * Stops a run: a queued one leaves the queue; a running one is interrupted, and its CLI killed
   * if it does not stop within a grace period. The session stays resumable.
   */
  @Post(':id/cancel')
  @RequiresScope(TokenAction.run, ScopeEnvironment.run)
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ExecutionDto })
  @ApiErrors(
    {
      404: [ErrorCode.EXECUTION_NOT_FOUND],
      409: [ErrorCode.EXECUTION_FINISHED],
      503: [ErrorCode.REPLICA_UNREACHABLE],
    },
    { 409: 'the run has already ended', 503: OWNER_UNREACHABLE },
  )
  cancelExecution(
    @Param('id', UuidParamPipe) id: string,
    @TokenEnvironments() environments: EnvironmentScope,
  ): Promise<ExecutionDto> {
    return this.executions.cancel(id, environments);
  }

  /**
   * Answers an approval the run waits on (see `approvals` and `pendingApprovals`): `allow` runs
   * the tool (with `updatedInput` when given; with `scope: session`, the same kind of tool use is
   * allowed for the rest of the session), `deny` does not and tells the model `message`.
   * Answers the run as it is then. Only the bearer token answers, never an events token.
   */
  @Post(':id/approvals/:requestId')
  @RequiresScope(TokenAction.run, ScopeEnvironment.run)
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ExecutionDto })
  @ApiErrors(
    {
      404: [ErrorCode.EXECUTION_NOT_FOUND, ErrorCode.APPROVAL_NOT_FOUND],
      409: [ErrorCode.APPROVAL_ANSWERED, ErrorCode.EXECUTION_FINISHED],
      503: [ErrorCode.REPLICA_UNREACHABLE],
    },
    {
      409: 'the approval was answered (or timed out), or the run has ended',
      503: OWNER_UNREACHABLE,
    },
  )
  answerApproval(
    @Param('id', UuidParamPipe) id: string,
    @Param('requestId', UuidParamPipe) requestId: string,
    @Body() answer: AnswerApprovalDto,
    @TokenEnvironments() environments: EnvironmentScope,
  ): Promise<ExecutionDto> {
    return this.executions.answerApproval(id, requestId, answer, environments);
  }

  /**
   * Answers the model's questions the run waits on (its `AskUserQuestion` tool, see
   * `pendingQuestions`): one answer per question, in order, with option labels in `selected`
   * and/or the person's own words in `text`. The model receives them as the user's choice.
   * Answers the run as it is then. Only the bearer token answers, never an events token.
   */
  @Post(':id/questions/:requestId')
  @RequiresScope(TokenAction.run, ScopeEnvironment.run)
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ExecutionDto })
  @ApiErrors(
    {
      404: [ErrorCode.EXECUTION_NOT_FOUND, ErrorCode.QUESTION_NOT_FOUND],
      409: [ErrorCode.QUESTION_ANSWERED, ErrorCode.EXECUTION_FINISHED],
      503: [ErrorCode.REPLICA_UNREACHABLE],
    },
    {
      409: 'the questions were answered (or timed out), or the run has ended',
      503: OWNER_UNREACHABLE,
    },
  )
  answerQuestion(
    @Param('id', UuidParamPipe) id: string,
    @Param('requestId', UuidParamPipe) requestId: string,
    @Body() answer: AnswerQuestionDto,
    @TokenEnvironments() environments: EnvironmentScope,
  ): Promise<ExecutionDto> {
    return this.executions.answerQuestion(id, requestId, answer, environments);
  }

  /**
   * The run's messages as Server-Sent Events: each event's `event:` is the message type
   * (`system`, `assistant`, `user`, `result`, `stream_event`…, and `approval_request` /
   * `approval_resolved`, `question_request` / `question_resolved` for a run with `approvals`),
   * its `id:` a per-run sequence
   * number and its `data:` the message as JSON. A reconnect with `Last-Event-ID` resumes after
   * that id; a finished run is replayed. A final `end` event carries the run's state, then the
   * stream closes. Comments keep idle connections open. Besides the bearer header, the
   * run-scoped `access_token` from `submitExecution` is accepted (for EventSource), until
   * EVENTS_TOKEN_GRACE_MS after the run ends. A token may hold SSE_MAX_STREAMS_PER_TOKEN streams
   * open at once (429 `TOO_MANY_STREAMS` past it).
   */
  @Get(':id/events')
  @RequiresScope(TokenAction.read, ScopeEnvironment.run)
  @AcceptsEventsToken()
  @ApiQuery({ name: 'access_token', required: false, description: 'The run-scoped eventsToken' })
  @ApiOkResponse({
    description: 'An event stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiErrors(
    { 404: [ErrorCode.EXECUTION_NOT_FOUND], 429: [ErrorCode.TOO_MANY_STREAMS] },
    { 429: 'SSE_MAX_STREAMS_PER_TOKEN streams of this token, or SSE_MAX_STREAMS in all, are open' },
  )
  streamExecutionEvents(
    @Param('id', UuidParamPipe) id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.events.stream(id, lastEventId, request, reply);
  }
}
