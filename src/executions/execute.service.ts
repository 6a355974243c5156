import { Injectable } from '@nestjs/common';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecutionEvents } from './execution-events';
import { toExecuteResponse } from './execution-outcome';
import { ExecutionsService } from './executions.service';

/**
 * POST /api/execute: a run like any other (same queue, same history), waited for, and answered
 * in the shape the LifeOS web app and the desktop app share.
 */
@Injectable()
export class ExecuteService {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly events: ExecutionEvents,
  ) {}

  async execute(request: ExecuteRequestDto): Promise<ExecuteResponseDto> {
    const submitted = await this.executions.submit(request, { rejectBusySession: true });
    const finished = await this.events.waitForEnd(submitted.id);
    return toExecuteResponse(finished, request.jsonOutput === true);
  }
}
