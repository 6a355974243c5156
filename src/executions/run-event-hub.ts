/** One message of a run, numbered in order (the SSE `id`), as JSON text. */
export interface RunEvent {
  seq: number;
  type: string;
  data: string;
}

/** Receives each event of a run as it is published, then `null` once the run has ended. */
export type RunEventListener = (event: RunEvent | null) => void;

/**
 * Live fan-out of the runs' events to the streams and waiters that follow them. The recorder
 * publishes each event once it is stored (or found past the run's storage bounds), then the end
 * once it is recorded. A listener subscribes before it reads the store, so an event is either in
 * what it reads or told to it afterwards.
 */
export abstract class RunEventHub {
  abstract subscribe(runId: string, listener: RunEventListener): () => void;
  /** `stored`: whether the event is in the store (false past the run's storage bounds). */
  abstract publish(runId: string, event: RunEvent, stored: boolean): void;
  abstract end(runId: string): void;
}

/** The hub of a single replica (no REDIS_URL): events are told in this process only. */
export class LocalRunEventHub extends RunEventHub {
  private readonly listeners = new Map<string, Set<RunEventListener>>();

  subscribe(runId: string, listener: RunEventListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) {
      set = new Set();
      this.listeners.set(runId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(runId) === set) this.listeners.delete(runId);
    };
  }

  publish(runId: string, event: RunEvent): void {
    this.listeners.get(runId)?.forEach((listener) => listener(event));
  }

  end(runId: string): void {
    this.listeners.get(runId)?.forEach((listener) => listener(null));
    this.listeners.delete(runId);
  }
}
