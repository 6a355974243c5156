import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { TokenId } from '../common/auth/token-id.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { ClientGone } from '../common/http/client-gone.decorator';
import { RunsClaude } from '../common/routes/runs-claude.decorator';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecuteService } from './execute.service';
import { ApiRunAdmissionErrors } from './executions.errors';
import {
  RequiresScope,
  ScopeEnvironment,
  TokenAction,
} from '../common/routes/required-scope.decorator';

@ApiTags('execution')
@ApiAuthenticated()
@Controller('api')
export class ExecuteController {
  constructor(private readonly execution: ExecuteService) {}

  /**
   * Runs a prompt with Claude Code in the environment's container and waits for the answer.
   * Starts (and creates) the container when needed. A failure of Claude itself is a 200 with
   * `success: false`. Beyond MAX_CONCURRENT_PER_ENV the prompt waits in the environment's queue
   * (429 `QUEUE_FULL` when that is full). A busy session answers 409 `SESSION_BUSY` unless
   * `whenSessionBusy` says to queue or steer. A client that disconnects before the answer cancels
   * the run, queued or running, and frees its session.
   */
  @Post('execute')
  @RequiresScope(TokenAction.run, ScopeEnvironment.body)
  @RunsClaude()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ExecuteResponseDto })
  @ApiRunAdmissionErrors()
  @ApiErrors(
    { 409: [ErrorCode.SESSION_BUSY] },
    { 409: 'the session runs a prompt (and whenSessionBusy is reject, the default)' },
  )
  executePrompt(
    @Body() request: ExecuteRequestDto,
    @ClientGone() clientGone: AbortSignal,
    @TokenId() tokenId: string,
  ): Promise<ExecuteResponseDto> {
    return this.execution.execute(request, clientGone, tokenId);
  }
}
