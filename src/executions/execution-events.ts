import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AuthenticatedRequest,
  EnvironmentScope,
  environmentScopeOf,
  tokenIdOf,
} from '../common/auth/authenticated-request';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { sendSse, SseFrame } from '../common/http/sse';
import { StreamSlots } from '../common/http/stream-slots';
import { ContainersService } from '../containers/containers.service';
import { endSummary } from './execution-outcome';
import { isFinal } from './execution-status';
import { ExecutionRecord, ExecutionsRepository } from './executions.repository';
import { RunEvent, RunEventHub } from './run-event-hub';
import { visibleRun } from './executions.errors';

/** What one stream holds of live events its reader has not taken yet (see LiveEvents). */
export const LIVE_BUFFER_BYTES = 256 * 1024;

/** A run's events as they are told: the stored ones, the live ones, and its end. */
@Injectable()
export class ExecutionEvents {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly hub: RunEventHub,
    private readonly slots: StreamSlots,
    private readonly containers: ContainersService,
  ) {}

  /**
   * Streams the run's events to the client (see `frames`) while holding one of the open-stream
   * slots of the request's token. 404 and 429 are answered before anything is streamed.
   */
  async stream(
    id: string,
    lastEventId: string | undefined,
    request: AuthenticatedRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const after = parseLastEventId(lastEventId);
    const { env } = await this.find(id, environmentScopeOf(request));
    const release = this.slots.acquire(tokenIdOf(request));
    // Someone follows the environment's work: its container is not stopped for idleness meanwhile.
    const letGo = this.containers.hold(env);
    try {
      const source = (signal: AbortSignal) => this.frames(id, after, signal);
      await sendSse(request, reply, source, this.config.history.heartbeatMs);
    } finally {
      letGo();
      release();
    }
  }

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
      if (!isFinal((await this.find(id)).status)) await ended;
    } finally {
      unsubscribe();
    }
    return this.find(id);
  }

  /**
   * The run's events as SSE frames: the stored ones after `lastEventId`, then the live ones,
   * then a final `end` frame with the run's state.
   */
  private async *frames(
    id: string,
    lastEventId: number,
    signal: AbortSignal,
  ): AsyncGenerator<SseFrame> {
    const live = new LiveEvents(LIVE_BUFFER_BYTES);
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
      let fromStore = true;
      while (!signal.aborted) {
        // First, and whenever the live buffer let events go while this reader was behind: the
        // stored ones are read back, page by page (a run may hold 16 MiB of them).
        if (live.takeOverflow() || fromStore) {
          for (let page = await this.repository.eventsAfter(id, last); page.length > 0;) {
            for (const event of page) {
              yield eventFrame(event);
              last = event.seq;
            }
            if (signal.aborted) return;
            page = await this.repository.eventsAfter(id, last);
          }
          if (fromStore && isFinal((await this.find(id)).status)) ended = true;
          fromStore = false;
        }
        while (!live.overflowed) {
          const event = live.shift();
          if (!event) break;
          if (event.seq <= last) continue;
          yield eventFrame(event);
          last = event.seq;
        }
        if (live.overflowed) continue;
        if (ended && live.isEmpty) {
          yield { event: 'end', data: JSON.stringify(endSummary(await this.find(id))) };
          return;
        }
        // A client that left during a read above woke nobody: it is checked before sleeping.
        if (live.isEmpty && !signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  private async find(id: string, environments: EnvironmentScope = null): Promise<ExecutionRecord> {
    return visibleRun(await this.repository.get(id), id, environments);
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

/**
 * A stream's live events not yet written, held up to a size: a reader slower than the run (a
 * stalled socket waits for its drain) must not grow the service's memory with it. Past the size
 * the oldest are let go; the reader then reads the stored ones back from the store, and those
 * past the run's storage bounds are lost to it (as `eventsDropped` counts them).
 */
class LiveEvents {
  private readonly events: RunEvent[] = [];
  private bytes = 0;
  /** Set when events were let go, until `takeOverflow`. */
  overflowed = false;

  constructor(private readonly maxBytes: number) {}

  get isEmpty(): boolean {
    return this.events.length === 0;
  }

  push(event: RunEvent): void {
    this.events.push(event);
    this.bytes += event.data.length;
    // The newest event always stays, however large: a reader that keeps up loses nothing.
    while (this.bytes > this.maxBytes && this.events.length > 1) {
      this.overflowed = true;
      this.shift();
    }
  }

  shift(): RunEvent | undefined {
    const event = this.events.shift();
    if (event) this.bytes -= event.data.length;
    return event;
  }

  /** True once after events were let go. */
  takeOverflow(): boolean {
    const overflowed = this.overflowed;
    this.overflowed = false;
    return overflowed;
  }
}
