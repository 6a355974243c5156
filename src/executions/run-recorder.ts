import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { RunEnded, ServiceEvents } from '../common/events/service-events';
import { ExecutionEnd, ExecutionsRepository, ExecutionSummary } from './executions.repository';
import { RunEventHub } from './run-event-hub';
import { RunTelemetry } from './run-telemetry';

/** How far a run's stored events have come; the recorder numbers and bounds them with it. */
export interface EventTally {
  nextSeq: number;
  storedBytes: number;
  /** Once one event is past the bounds, none after it is stored: the stored ones are a prefix. */
  full: boolean;
}

/**
 * Writes what happens to a run into the history and tells the live listeners: its start, each
 * message (numbered, stored within the run's bounds, always relayed) and its end.
 */
@Injectable()
export class RunRecorder {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly hub: RunEventHub,
    private readonly serviceEvents: ServiceEvents,
    private readonly telemetry: RunTelemetry,
  ) {}

  started(run: Pick<ExecutionSummary, 'id' | 'env' | 'createdAt'>): EventTally {
    const startedAt = new Date().toISOString();
    this.repository.markRunning(run.id, startedAt);
    this.telemetry.started(run.env, run.createdAt, startedAt);
    return { nextSeq: 1, storedBytes: 0, full: false };
  }

  message(id: string, tally: EventTally, message: SDKMessage): void {
    this.event(id, tally, message.type, message);
  }

  /** An event of the run's own (an approval asked, answered), numbered with its messages. */
  event(id: string, tally: EventTally, type: string, payload: object): void {
    const data = JSON.stringify(payload);
    const event = { seq: tally.nextSeq, type, data };
    tally.nextSeq += 1;
    const { maxEventsPerRun, maxEventBytesPerRun } = this.config.history;
    tally.full ||=
      event.seq > maxEventsPerRun || tally.storedBytes + data.length > maxEventBytesPerRun;
    const store = !tally.full;
    if (store) tally.storedBytes += data.length;
    this.repository.appendEvent(id, event, store);
    this.hub.publish(id, event);
  }

  /**
   * Records the end, then announces it: the hub is the one way a run's end is told to its
   * streams and waiters, the service's events to what lies outside (webhooks, metrics).
   */
  ended(id: string, end: ExecutionEnd): void {
    this.repository.finish(id, end, new Date().toISOString());
    this.hub.end(id);
    const record = this.repository.get(id);
    if (record) this.serviceEvents.emit('run.ended', runEnded(record));
  }
}

function runEnded(record: ExecutionSummary): RunEnded {
  const { id, env, sessionId, status, createdAt, startedAt, finishedAt } = record;
  const { result, truncated, costUsd, spentUsd, usage, structuredOutput, error, errorCode } =
    record;
  return {
    ...{ id, env, sessionId, status, createdAt, startedAt, finishedAt },
    ...{ result, truncated, costUsd, spentUsd, usage, structuredOutput, error, errorCode },
  };
}
