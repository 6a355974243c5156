import { Injectable, Logger } from '@nestjs/common';

/** A run's end, as the history records it (without its prompt, which stays out of what is told). */
export interface RunEnded {
  id: string;
  env: string;
  sessionId: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: string | null;
  truncated: boolean;
  costUsd: number | null;
  /** What the run spent of its own (`costUsd` is the session's running total). */
  spentUsd: number | null;
  usage: Record<string, unknown> | null;
  /** With `outputSchema`: the answer's validated object. */
  structuredOutput: Record<string, unknown> | null;
  error: string | null;
  errorCode: string | null;
}

/** A run waits on a person: an approval of a tool use, or the answer to a question. */
export interface AskRequested {
  runId: string;
  kind: 'approval' | 'question';
  /** As the run's `approval_request` (`question_request`) event tells it: its requestId, expiry… */
  request: { requestId: string };
}

/** An environment's container was stopped because nothing had used it for IDLE_STOP_MS. */
export interface ContainerIdleStopped {
  env: string;
  /** ISO time since which nothing had used it. */
  idleSince: string;
  /** ISO time of the stop. */
  stoppedAt: string;
}

/** A session's transcripts and reservation were deleted (`DELETE /api/sessions/{env}/{id}`). */
export interface SessionDeleted {
  env: string;
  sessionId: string;
  /** ISO time of the delete. */
  deletedAt: string;
}

/** What happened in the service that someone outside it may want to know, by type. */
export interface ServiceEventMap {
  'run.ended': RunEnded;
  'ask.requested': AskRequested;
  'container.idle_stopped': ContainerIdleStopped;
  'session.deleted': SessionDeleted;
}

export type ServiceEventType = keyof ServiceEventMap;

/**
 * Every type of the map, for what listens to all of them (webhooks) or names them in settings.
 * The compiler refuses a type added to the map but not here.
 */
export const SERVICE_EVENT_TYPES = Object.keys({
  'run.ended': true,
  'ask.requested': true,
  'container.idle_stopped': true,
  'session.deleted': true,
} satisfies Record<ServiceEventType, true>) as ServiceEventType[];
export type ServiceEventListener<T extends ServiceEventType> = (event: ServiceEventMap[T]) => void;

/**
 * The in-process bus the features announce their facts on, and the outward-facing parts
 * (webhooks, metrics) listen to. Listeners run synchronously and must not block; one that throws
 * is logged, and never fails the feature that announced.
 */
@Injectable()
export class ServiceEvents {
  private readonly logger = new Logger(ServiceEvents.name);
  private readonly listeners = new Map<ServiceEventType, Set<(event: never) => void>>();

  on<T extends ServiceEventType>(type: T, listener: ServiceEventListener<T>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<T extends ServiceEventType>(type: T, event: ServiceEventMap[T]): void {
    for (const listener of this.listeners.get(type) ?? []) {
      try {
        (listener as ServiceEventListener<T>)(event);
      } catch (error) {
        this.logger.error(`A listener of ${type} failed: ${String(error)}`);
      }
    }
  }
}
