import { Injectable } from '@nestjs/common';
import { ExecutionRecord } from '../executions/executions.repository';
import { ExecutionStatus } from '../executions/execution-status';
import { ExecutionsService } from '../executions/executions.service';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { ExecuteResponseDto } from './dto/execute-response.dto';
import { ExecutionErrorCode } from './execution-error-codes';

/**
 * POST /api/execute: a run like any other (same queue, same history), waited for, and answered
 * in the shape the LifeOS web app and the desktop app share.
 */
@Injectable()
export class ExecutionService {
  constructor(private readonly executions: ExecutionsService) {}

  async execute(request: ExecuteRequestDto): Promise<ExecuteResponseDto> {
    const submitted = await this.executions.submit(request, { rejectBusySession: true });
    return toResponse(await this.executions.waitForEnd(submitted.id), request.jsonOutput === true);
  }
}

export function toResponse(record: ExecutionRecord, jsonOutput: boolean): ExecuteResponseDto {
  const response: ExecuteResponseDto = {
    success: record.status === ExecutionStatus.succeeded,
    sessionId: record.sessionId,
    exitCode: record.exitCode,
    durationMs: Date.parse(record.finishedAt ?? record.createdAt) - Date.parse(record.createdAt),
    truncated: record.truncated,
  };
  if (record.result) response.output = record.result;
  if (jsonOutput && record.resultMessage) response.json_output = record.resultMessage;
  if (!response.success) {
    response.error = record.error ?? 'The run failed';
    if (record.errorCode) response.code = record.errorCode as ExecutionErrorCode;
  }
  return response;
}
