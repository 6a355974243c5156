import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { RunRegistry } from '../sessions/run-registry';

/** A run waiting for a slot. `start` runs it to its end. */
export interface QueuedRun {
  id: string;
  env: string;
  sessionId: string;
  start: () => Promise<void>;
}

/** Where a waiting run stands. */
export interface QueuePlace {
  /** Its place in its environment's queue, from 1. */
  position: number;
  /** The run of its own session it waits for (running, or waiting ahead of it), if any. */
  behind: string | null;
}

/**
 * Where runs wait for a slot: FIFO per environment, at most MAX_CONCURRENT_PER_ENV running,
 * one run per session at a time (a second one waits its turn). In this process by default
 * (InProcessRunQueue); across API replicas in the shared store (SharedRunQueue).
 */
export abstract class RunQueue {
  /**
   * Queues the recorded run and starts it when its turn comes; rejects with 429 QUEUE_FULL.
   * `first` puts it ahead of the waiting runs of its environment, behind those put there before
   * it (a steer takes the slot of the run it stops; two steers keep their order).
   */
  abstract submit(run: QueuedRun, options?: { first?: boolean }): Promise<void>;
  /** Takes a run out of the queue; false when it is not waiting (running, done, unknown). */
  abstract remove(id: string): Promise<boolean>;
  /** True while a run of the session is running or waiting (or the session is held here). */
  abstract isSessionBusy(env: string, sessionId: string): Promise<boolean>;
  /** True while a run of the session is running or waiting. */
  abstract hasRunInFlight(env: string, sessionId: string): Promise<boolean>;
  /** The id of the session's running run, if it has one. */
  abstract runningOf(env: string, sessionId: string): Promise<string | undefined>;
  /** Where a waiting run stands; undefined when it is not waiting. */
  abstract placeOf(id: string): Promise<QueuePlace | undefined>;
  /** The runs this process queued that still wait, oldest first. */
  abstract waiting(): QueuedRun[];
}

@Injectable()
export class InProcessRunQueue extends RunQueue {
  private readonly logger = new Logger(InProcessRunQueue.name);
  private readonly queues = new Map<string, QueuedRun[]>();
  private readonly running = new Map<string, QueuedRun>();
  private readonly placedFirst = new WeakSet<QueuedRun>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: RunRegistry,
  ) {
    super();
    // A run that waited for a session held outside the queue (being deleted) starts once it is let go.
    registry.onHoldReleased((env) => this.pump(env));
  }

  submit(run: QueuedRun, options: { first?: boolean } = {}): Promise<void> {
    return now(() => this.submitNow(run, options));
  }

  remove(id: string): Promise<boolean> {
    return now(() => this.removeNow(id));
  }

  isSessionBusy(env: string, sessionId: string): Promise<boolean> {
    return now(
      () =>
        this.registry.isSessionRunning(env, sessionId) ||
        this.queueOf(env).some((run) => run.sessionId === sessionId),
    );
  }

  hasRunInFlight(env: string, sessionId: string): Promise<boolean> {
    return now(
      () =>
        this.runningRunOf(env, sessionId) !== undefined ||
        this.queueOf(env).some((run) => run.sessionId === sessionId),
    );
  }

  runningOf(env: string, sessionId: string): Promise<string | undefined> {
    return now(() => this.runningRunOf(env, sessionId));
  }

  placeOf(id: string): Promise<QueuePlace | undefined> {
    return now(() => this.placeNow(id));
  }

  waiting(): QueuedRun[] {
    return [...this.queues.values()].flat();
  }

  private submitNow(run: QueuedRun, options: { first?: boolean }): void {
    const queue = this.queueOf(run.env);
    // A run that can start now never waits, so it does not count against the queue's bound.
    if (queue.length >= this.config.execution.maxQueuePerEnv && !this.canStart(run, queue)) {
      throw queueFull(run.env, queue.length);
    }
    if (options.first) {
      this.placedFirst.add(run);
      const firstOrdinary = queue.findIndex((waiting) => !this.placedFirst.has(waiting));
      queue.splice(firstOrdinary < 0 ? queue.length : firstOrdinary, 0, run);
    } else {
      queue.push(run);
    }
    this.pump(run.env);
  }

  private removeNow(id: string): boolean {
    for (const queue of this.queues.values()) {
      const index = queue.findIndex((run) => run.id === id);
      if (index >= 0) {
        queue.splice(index, 1);
        return true;
      }
    }
    return false;
  }

  private placeNow(id: string): QueuePlace | undefined {
    for (const queue of this.queues.values()) {
      const index = queue.findIndex((run) => run.id === id);
      if (index < 0) continue;
      const { env, sessionId } = queue[index];
      const ahead = queue.slice(0, index).findLast((run) => run.sessionId === sessionId);
      return {
        position: index + 1,
        behind: ahead?.id ?? this.runningRunOf(env, sessionId) ?? null,
      };
    }
    return undefined;
  }

  private runningRunOf(env: string, sessionId: string): string | undefined {
    for (const run of this.running.values()) {
      if (run.env === env && run.sessionId === sessionId) return run.id;
    }
    return undefined;
  }

  private queueOf(env: string): QueuedRun[] {
    let queue = this.queues.get(env);
    if (!queue) {
      queue = [];
      this.queues.set(env, queue);
    }
    return queue;
  }

  private canStart(run: QueuedRun, queue: QueuedRun[]): boolean {
    return (
      queue.length === 0 &&
      this.registry.runningCount(run.env) < this.config.execution.maxConcurrentPerEnv &&
      !this.registry.isSessionRunning(run.env, run.sessionId)
    );
  }

  /** Starts waiting runs in order while slots are free, skipping those whose session is busy. */
  private pump(env: string): void {
    const queue = this.queueOf(env);
    const limit = this.config.execution.maxConcurrentPerEnv;
    for (let index = 0; index < queue.length;) {
      if (this.registry.runningCount(env) >= limit) return;
      const run = queue[index];
      if (this.registry.isSessionRunning(env, run.sessionId)) {
        index += 1;
        continue;
      }
      queue.splice(index, 1);
      const release = this.registry.claim(env, run.sessionId);
      this.running.set(run.id, run);
      run
        .start()
        .catch((error: unknown) => this.logger.error(`run ${run.id} failed: ${String(error)}`))
        .finally(() => {
          this.running.delete(run.id);
          release();
          this.pump(env);
        });
    }
  }
}

/** 429 QUEUE_FULL: the environment's queue holds MAX_QUEUE_PER_ENV runs already. */
export function queueFull(env: string, waiting: number): ApiError {
  return new ApiError(
    HttpStatus.TOO_MANY_REQUESTS,
    ErrorCode.QUEUE_FULL,
    `Environment ${env} has ${waiting} runs waiting (MAX_QUEUE_PER_ENV); retry later`,
    { headers: { 'Retry-After': '10' } },
  );
}

/** `work`'s result as a promise, `work` done before this returns: the queue's state moves at once. */
function now<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}
