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
  usage: Record<string, unknown> | null;
  error: string | null;
  errorCode: string | null;
}

/** A run left the queue and started: `startedAt - createdAt` is how long it waited. */
export interface RunStarted {
  id: string;
  env: string;
  sessionId: string;
  createdAt: string;
  startedAt: string;
}

/** A run waits on a person: an approval of a tool use, or the answer to a question. */
export interface AskRequested {
  runId: string;
  kind: 'approval' | 'question';
  /** As the run's `approval_request` (`question_request`) event tells it: its requestId, expiry… */
  request: object;
}

/** What happened in the service that someone outside it may want to know, by type. */
export interface ServiceEventMap {
  'run.started': RunStarted;
  'run.ended': RunEnded;
  'ask.requested': AskRequested;
}

export type ServiceEventType = keyof ServiceEventMap;
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
