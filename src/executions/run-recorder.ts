import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { RunEnded, ServiceEvents } from '../common/events/service-events';
import { ExecutionEnd, ExecutionsRepository, ExecutionSummary } from './executions.repository';
import { ExecutionStatus } from './execution-status';
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
 * message (numbered, stored within the run's bounds, always relayed) and its end. A run's writes
 * are made one after the other, in the order they were asked for, and each event is relayed once
 * it is stored: a stream that reads the store after subscribing misses none, and the end is
 * recorded after the last event.
 */
@Injectable()
export class RunRecorder {
  private readonly logger = new Logger(RunRecorder.name);
  /** Per run, the last write asked for; it settles when all of the run's writes are done. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly hub: RunEventHub,
    private readonly serviceEvents: ServiceEvents,
    private readonly telemetry: RunTelemetry,
  ) {}

  started(run: Pick<ExecutionSummary, 'id' | 'env' | 'createdAt'>): EventTally {
    const startedAt = new Date().toISOString();
    void this.inOrder(run.id, 'its start', () => this.repository.markRunning(run.id, startedAt));
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
    void this.inOrder(id, `event ${event.seq}`, async () => {
      let stored = false;
      try {
        await this.repository.appendEvent(id, event, store);
        stored = store;
      } finally {
        // Relayed even when it could not be stored: the live readers still get it (on this
        // replica only: the others read what they relay from the store).
        this.hub.publish(id, event, stored);
      }
    });
  }

  /**
   * Records the end, after the run's events, then announces it: the hub is the one way a run's
   * end is told to its streams and waiters, the service's events to what lies outside (webhooks,
   * metrics). Resolves once it is told; never rejects.
   */
  async ended(id: string, end: ExecutionEnd): Promise<void> {
    await this.endWith(id, () => this.repository.finish(id, end, new Date().toISOString()));
  }

  /**
   * As `ended`, but only while the run is still `status` (of replicas that end one run, one
   * does): answers whether this call ended it. An end not recorded is not announced again.
   */
  endedIfStill(status: ExecutionStatus, id: string, end: ExecutionEnd): Promise<boolean> {
    const finishedAt = new Date().toISOString();
    return this.endWith(id, () => this.repository.finishIfStill(status, id, end, finishedAt));
  }

  private async endWith(id: string, write: () => Promise<boolean>): Promise<boolean> {
    let recorded = false;
    await this.inOrder(id, 'its end', async () => {
      try {
        recorded = await write();
      } finally {
        this.hub.end(id);
      }
      // Ended elsewhere already (a reaper): that end was announced there.
      if (!recorded) return;
      const record = await this.repository.get(id);
      if (record) this.serviceEvents.emit('run.ended', runEnded(record));
    });
    return recorded;
  }

  /** Runs `write` after the run's earlier writes; a failure is logged, and the next goes on. */
  private inOrder(id: string, what: string, write: () => Promise<void>): Promise<void> {
    const written = (this.writes.get(id) ?? Promise.resolve())
      .then(write)
      .catch((error: unknown) => {
        this.logger.error(`Could not record ${what} of run ${id}: ${String(error)}`);
      });
    this.writes.set(id, written);
    void written.then(() => {
      if (this.writes.get(id) === written) this.writes.delete(id);
    });
    return written;
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
