import { Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecutionEvents } from './execution-events';
import { toExecuteResponse } from './execution-outcome';
import { WhenSessionBusy } from './execution-request';
import { ExecutionsService } from './executions.service';

/**
 * POST /api/execute: a run like any other (same queue, same history), waited for, and answered
 * in the shape the LifeOS web app and the desktop app share.
 */
@Injectable()
export class ExecuteService {
  private readonly logger = new Logger(ExecuteService.name);

  constructor(
    private readonly executions: ExecutionsService,
    private readonly events: ExecutionEvents,
  ) {}

  /**
   * When `clientGone` aborts (the client disconnected) before the run ends, the run is cancelled:
   * nobody waits for its answer, and its session would otherwise stay busy until it ends.
   */
  async execute(
    request: ExecuteRequestDto,
    clientGone: AbortSignal,
    tokenId: string,
  ): Promise<ExecuteResponseDto> {
    const submitted = await this.executions.submit(request, WhenSessionBusy.reject, tokenId);
    // The request's own run: its environment was checked at submit.
    const cancel = () =>
      void this.executions.cancel(submitted.id, null).catch((error: unknown) => {
        // A run that ended meanwhile has nothing left to cancel.
        if (error instanceof ApiError && error.code === ErrorCode.EXECUTION_FINISHED) return;
        this.logger.warn(`could not cancel run ${submitted.id}: ${String(error)}`);
      });
    if (clientGone.aborted) cancel();
    else clientGone.addEventListener('abort', cancel, { once: true });
    try {
      const finished = await this.events.waitForEnd(submitted.id);
      return toExecuteResponse(finished, request.jsonOutput === true);
    } finally {
      clientGone.removeEventListener('abort', cancel);
    }
  }
}
