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
 * one run per session at a time (a second one waits its turn). In-process here; a Redis-backed
 * queue can implement the same contract for several replicas.
 */
export abstract class RunQueue {
  /**
   * Queues the run and starts it when its turn comes; throws 429 QUEUE_FULL. `first` puts it
   * ahead of the waiting runs of its environment, behind those put there before it (a steer
   * takes the slot of the run it stops; two steers keep their order).
   */
  abstract submit(run: QueuedRun, options?: { first?: boolean }): void;
  /** Takes a run out of the queue; false when it is not waiting (running, done, unknown). */
  abstract remove(id: string): boolean;
  /** True while a run of the session is running or waiting. */
  abstract isSessionBusy(env: string, sessionId: string): boolean;
  /** The id of the session's running run, if it has one. */
  abstract runningOf(env: string, sessionId: string): string | undefined;
  /** Where a waiting run stands; undefined when it is not waiting. */
  abstract placeOf(id: string): QueuePlace | undefined;
  /** Everything still waiting, oldest first. */
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

  submit(run: QueuedRun, options: { first?: boolean } = {}): void {
    const queue = this.queueOf(run.env);
    const { maxQueuePerEnv } = this.config.execution;
    // A run that can start now never waits, so it does not count against the queue's bound.
    if (queue.length >= maxQueuePerEnv && !this.canStart(run, queue)) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        ErrorCode.QUEUE_FULL,
        `Environment ${run.env} has ${queue.length} runs waiting (MAX_QUEUE_PER_ENV); retry later`,
        { headers: { 'Retry-After': '10' } },
      );
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

  remove(id: string): boolean {
    for (const queue of this.queues.values()) {
      const index = queue.findIndex((run) => run.id === id);
      if (index >= 0) {
        queue.splice(index, 1);
        return true;
      }
    }
    return false;
  }

  isSessionBusy(env: string, sessionId: string): boolean {
    return (
      this.registry.isSessionRunning(env, sessionId) ||
      this.queueOf(env).some((run) => run.sessionId === sessionId)
    );
  }

  runningOf(env: string, sessionId: string): string | undefined {
    for (const run of this.running.values()) {
      if (run.env === env && run.sessionId === sessionId) return run.id;
    }
    return undefined;
  }

  placeOf(id: string): QueuePlace | undefined {
    for (const queue of this.queues.values()) {
      const index = queue.findIndex((run) => run.id === id);
      if (index < 0) continue;
      const { env, sessionId } = queue[index];
      const ahead = queue.slice(0, index).findLast((run) => run.sessionId === sessionId);
      return { position: index + 1, behind: ahead?.id ?? this.runningOf(env, sessionId) ?? null };
    }
    return undefined;
  }

  waiting(): QueuedRun[] {
    return [...this.queues.values()].flat();
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
