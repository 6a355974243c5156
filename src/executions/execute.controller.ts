import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { RunsClaude } from '../common/throttling/runs-claude.decorator';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecuteService } from './execute.service';

@ApiTags('execution')
@ApiAuthenticated()
@Controller('api')
export class ExecuteController {
  constructor(private readonly execution: ExecuteService) {}

  /**
   * Runs a prompt with Claude Code in the environment's container and waits for the answer.
   * Starts (and creates) the container when needed. A failure of Claude itself is a 200 with
   * `success: false`. Beyond MAX_CONCURRENT_PER_ENV the prompt waits in the environment's queue
   * (429 `QUEUE_FULL` when that is full).
   */
  @Post('execute')
  @RunsClaude()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ExecuteResponseDto })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED', type: ErrorResponseDto })
  @ApiNotFoundResponse({
    description: 'ENV_NOT_FOUND or SESSION_NOT_FOUND',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({
    description: 'SESSION_BUSY: the session runs a prompt',
    type: ErrorResponseDto,
  })
  @ApiPayloadTooLargeResponse({
    description: 'PROMPT_TOO_LARGE or PAYLOAD_TOO_LARGE (the body limit)',
    type: ErrorResponseDto,
  })
  @ApiServiceUnavailableResponse({
    description: 'DOCKER_UNAVAILABLE or CONTAINER_UNAVAILABLE',
    type: ErrorResponseDto,
  })
  executePrompt(@Body() request: ExecuteRequestDto): Promise<ExecuteResponseDto> {
    return this.execution.execute(request);
  }
}
