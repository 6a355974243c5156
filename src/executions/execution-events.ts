import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { SseFrame } from '../common/http/sse';
import { endSummary } from './execution-outcome';
import { isFinal } from './execution-status';
import { ExecutionRecord, ExecutionsRepository } from './executions.repository';
import { RunEvent, RunEventHub } from './run-event-hub';
import { executionNotFound } from './executions.errors';

/** A run's events as they are told: the stored ones, the live ones, and its end. */
@Injectable()
export class ExecutionEvents {
  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly hub: RunEventHub,
  ) {}

  /** Resolves with the run's final record. */
  async waitForEnd(id: string): Promise<ExecutionRecord> {
    let unsubscribe: () => void = () => undefined;
    // Subscribed before the status is read: an end in between cannot be missed.
    const ended = new Promise<void>((resolve) => {
      unsubscribe = this.hub.subscribe(id, (event) => {
        if (event === null) resolve();
      });
    });
    try {
      if (!isFinal(this.find(id).status)) await ended;
    } finally {
      unsubscribe();
    }
    return this.find(id);
  }

  /**
   * The run's events as SSE frames: the stored ones after `lastEventId`, then the live ones,
   * then a final `end` frame with the run's state. Throws 404 before anything is streamed.
   */
  open(
    id: string,
    lastEventId: string | undefined,
  ): (signal: AbortSignal) => AsyncGenerator<SseFrame> {
    const after = parseLastEventId(lastEventId);
    this.find(id);
    return (signal) => this.frames(id, after, signal);
  }

  private async *frames(
    id: string,
    lastEventId: number,
    signal: AbortSignal,
  ): AsyncGenerator<SseFrame> {
    const live: RunEvent[] = [];
    let ended = false;
    let wake: () => void = () => undefined;
    // Subscribed before reading the store: nothing published in between can be missed.
    const unsubscribe = this.hub.subscribe(id, (event) => {
      if (event) live.push(event);
      else ended = true;
      wake();
    });
    const onAbort = () => wake();
    signal.addEventListener('abort', onAbort);
    try {
      let last = lastEventId;
      for (const event of this.repository.eventsAfter(id, last)) {
        yield eventFrame(event);
        last = event.seq;
      }
      if (isFinal(this.find(id).status)) ended = true;
      while (!signal.aborted) {
        for (let event = live.shift(); event; event = live.shift()) {
          if (event.seq <= last) continue;
          yield eventFrame(event);
          last = event.seq;
        }
        if (ended) {
          yield { event: 'end', data: JSON.stringify(endSummary(this.find(id))) };
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  private find(id: string): ExecutionRecord {
    const record = this.repository.get(id);
    if (!record) throw executionNotFound(id);
    return record;
  }
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

function eventFrame(event: RunEvent): SseFrame {
  return { id: event.seq, event: event.type, data: event.data };
}
