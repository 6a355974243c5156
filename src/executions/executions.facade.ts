import { HttpStatus, Injectable } from '@nestjs/common';
import { EventsTokens } from '../common/auth/events-tokens';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { decodeCursor, encodeCursor } from '../common/http/cursor';
import { SseFrame } from '../common/http/sse';
import { ExecutionDto, ExecutionListDto, SubmittedExecutionDto } from './dto/execution.dto';
import { ListExecutionsQueryDto } from './dto/list-executions-query.dto';
import { SubmitExecutionDto } from './dto/submit-execution.dto';
import { ExecutionRecord } from './executions.repository';
import { ExecutionsService } from './executions.service';

interface ListCursor {
  createdAt: string;
  id: string;
}

/** What the executions routes see of ExecutionsService: DTOs, page cursors and events tokens. */
@Injectable()
export class ExecutionsFacade {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly eventsTokens: EventsTokens,
  ) {}

  async submit(request: SubmitExecutionDto): Promise<SubmittedExecutionDto> {
    const record = await this.executions.submit(request, { rejectBusySession: false });
    const { token, expiresAt } = this.eventsTokens.issue(record.id);
    return { ...toExecutionDto(record), eventsToken: token, eventsTokenExpiresAt: expiresAt };
  }

  get(id: string): ExecutionDto {
    return toExecutionDto(this.executions.get(id));
  }

  list(query: ListExecutionsQueryDto): ExecutionListDto {
    const limit = query.limit ?? 20;
    const before = query.cursor ? decodeCursor(query.cursor, isListCursor) : undefined;
    const records = this.executions.list({ ...query, before, limit: limit + 1 });
    const page = records.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toExecutionDto),
      nextCursor:
        records.length > limit && last
          ? encodeCursor({ createdAt: last.createdAt, id: last.id })
          : null,
    };
  }

  async cancel(id: string): Promise<ExecutionDto> {
    return toExecutionDto(await this.executions.cancel(id));
  }

  events(
    id: string,
    lastEventId: string | undefined,
  ): (signal: AbortSignal) => AsyncGenerator<SseFrame> {
    return this.executions.openEventStream(id, parseLastEventId(lastEventId));
  }
}

export function toExecutionDto(record: ExecutionRecord): ExecutionDto {
  return {
    id: record.id,
    env: record.env,
    sessionId: record.sessionId,
    status: record.status,
    prompt: record.request.prompt,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    exitCode: record.exitCode,
    result: record.result,
    truncated: record.truncated,
    costUsd: record.costUsd,
    usage: record.usage,
    error: record.error,
    errorCode: record.errorCode,
    eventCount: record.eventCount,
    eventsDropped: record.eventsDropped,
  };
}

function parseLastEventId(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,9}$/.test(value)) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      ErrorCode.VALIDATION_FAILED,
      'Last-Event-ID must be an event id of this stream',
    );
  }
  return Number(value);
}

function isListCursor(value: unknown): value is ListCursor {
  const cursor = value as Partial<ListCursor> | null;
  return typeof cursor?.createdAt === 'string' && typeof cursor.id === 'string';
}
