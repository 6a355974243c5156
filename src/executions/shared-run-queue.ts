import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ReplicaBus, stringFieldsChannel, Unsubscribe } from '../common/coordination/replica-bus';
import { RunRegistry } from '../sessions/run-registry';
import { SqlExecutor, SqlStore, SqlTransaction } from '../store/sql-store';
import { InProcessRunQueue, QueuedRun, QueuePlace, queueFull, RunQueue } from './run-queue';

/** A wake-up for the replica `to`: a slot of `env` may be free for its run at the queue's head. */
export const QUEUE_WAKE = stringFieldsChannel('queue.wake', ['env', 'to']);

/**
 * How often a replica looks at the queues it has runs waiting in, whatever the bus said: a wake
 * lost while Redis was away, or a slot freed by a replica that ended another's run, is noticed
 * within this.
 */
export const QUEUE_POLL_MS = 1000;

/** A run in an environment's queue or running, as the dispatch reads it. */
interface InFlightRow {
  id: string;
  session_id: string;
  status: 'queued' | 'running';
  owner_replica: string | null;
}

/** Runs waiting (they joined the queue) or running, in queue order. */
const IN_QUEUE_OR_RUNNING = `(status = 'running' OR (status = 'queued' AND queue_seq IS NOT NULL))`;
const QUEUE_ORDER = 'queue_first DESC, queue_seq, id';

/**
 * The queue of runs shared by the API replicas, kept in the store's `executions` rows (so it is
 * as durable and as consistent as the history): per-environment FIFO, at most
 * MAX_CONCURRENT_PER_ENV running over all replicas, one running run per session over all
 * replicas. A run starts on the replica that took its submit (its owner: it holds the request,
 * the run's approvals and its warm CLI). Each dispatch takes the environment's lock, walks the
 * waiting runs in order and starts its own ones while slots are free; at a run another replica
 * owns it stops (FIFO holds) and wakes that owner over the bus.
 */
@Injectable()
export class SharedRunQueue
  extends RunQueue
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(SharedRunQueue.name);
  /** Runs owned here that joined the queue and wait. */
  private readonly local = new Map<string, QueuedRun>();
  /** Per environment, the dispatch in progress, and whether another pass was asked for. */
  private readonly dispatches = new Map<string, { again: boolean; done: Promise<void> }>();
  private unsubscribe: Unsubscribe = () => Promise.resolve();
  private poll?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: SqlStore,
    private readonly bus: ReplicaBus,
    private readonly registry: RunRegistry,
  ) {
    super();
    registry.onHoldReleased((env) => void this.dispatch(env));
    // Asked once this replica's own runs are checked: a running row is another replica's run.
    registry.seeRunsElsewhere(
      async (env, sessionId) => (await this.runningOf(env, sessionId)) !== undefined,
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(QUEUE_WAKE, ({ env, to }) => {
      if (to === this.bus.replicaId) void this.dispatch(env);
    });
    this.poll = setInterval(() => {
      for (const env of new Set([...this.local.values()].map((run) => run.env))) {
        void this.dispatch(env);
      }
    }, QUEUE_POLL_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.poll);
    await this.unsubscribe();
  }

  /**
   * Puts the recorded run (owned here) in its environment's queue, numbered after the runs there,
   * and resolves once the runs that can start (this one, maybe) have started.
   */
  async submit(run: QueuedRun, options: { first?: boolean } = {}): Promise<void> {
    const { maxQueuePerEnv, maxConcurrentPerEnv } = this.config.execution;
    await this.store.transaction(async (tx) => {
      await lockQueue(tx, run.env);
      const rows = await inFlight(tx, run.env);
      const waiting = rows.filter((row) => row.status === 'queued').length;
      const running = rows.filter((row) => row.status === 'running');
      // A run that can start now never waits, so it does not count against the queue's bound.
      const canStart =
        waiting === 0 &&
        running.length < maxConcurrentPerEnv &&
        !running.some((row) => row.session_id === run.sessionId);
      if (waiting >= maxQueuePerEnv && !canStart) throw queueFull(run.env, waiting);
      const { next } = (await tx.get<{ next: number }>(
        `SELECT COALESCE(MAX(queue_seq), 0) + 1 AS next FROM executions
         WHERE env = ? AND ${IN_QUEUE_OR_RUNNING}`,
        [run.env],
      )) ?? { next: 1 };
      await tx.run(
        `UPDATE executions SET queue_seq = ?, queue_first = ?
         WHERE id = ? AND status = 'queued' AND owner_replica = ?`,
        [next, options.first ? 1 : 0, run.id, this.bus.replicaId],
      );
    });
    // Known here only once it is in the store: a dispatch that sees it here finds its row.
    this.local.set(run.id, run);
    await this.dispatch(run.env);
  }

  async remove(id: string): Promise<boolean> {
    // The dispatch starts a run with a conditional update too: of the two, one wins.
    const { changes } = await this.store.run(
      `UPDATE executions SET queue_seq = NULL
       WHERE id = ? AND status = 'queued' AND queue_seq IS NOT NULL`,
      [id],
    );
    this.local.delete(id);
    return changes === 1;
  }

  isSessionBusy(env: string, sessionId: string): Promise<boolean> {
    if (this.registry.isSessionRunning(env, sessionId)) return Promise.resolve(true);
    return this.hasRunInFlight(env, sessionId);
  }

  async hasRunInFlight(env: string, sessionId: string): Promise<boolean> {
    const row = await this.store.get(
      `SELECT id FROM executions WHERE env = ? AND session_id = ? AND ${IN_QUEUE_OR_RUNNING} LIMIT 1`,
      [env, sessionId],
    );
    return row !== undefined;
  }

  async runningOf(env: string, sessionId: string): Promise<string | undefined> {
    const row = await this.store.get<{ id: string }>(
      `SELECT id FROM executions WHERE env = ? AND session_id = ? AND status = 'running'`,
      [env, sessionId],
    );
    return row?.id;
  }

  async placeOf(id: string): Promise<QueuePlace | undefined> {
    const run = await this.store.get<{ env: string; session_id: string }>(
      `SELECT env, session_id FROM executions
       WHERE id = ? AND status = 'queued' AND queue_seq IS NOT NULL`,
      [id],
    );
    if (!run) return undefined;
    const rows = await inFlight(this.store, run.env);
    const waiting = rows.filter((row) => row.status === 'queued');
    const index = waiting.findIndex((row) => row.id === id);
    if (index < 0) return undefined;
    const sameSession = (row: InFlightRow) => row.session_id === run.session_id;
    const ahead = waiting.slice(0, index).findLast(sameSession);
    const running = rows.find((row) => row.status === 'running' && sameSession(row));
    return { position: index + 1, behind: (ahead ?? running)?.id ?? null };
  }

  waiting(): QueuedRun[] {
    return [...this.local.values()];
  }

  /**
   * Looks at the environment's queue, and again if asked meanwhile (passes never overlap on one
   * replica; the store's lock keeps replicas apart). Resolves after the pass that was asked for.
   */
  private dispatch(env: string): Promise<void> {
    const current = this.dispatches.get(env);
    if (current) {
      current.again = true;
      return current.done;
    }
    const state = { again: true, done: Promise.resolve() };
    state.done = (async () => {
      try {
        while (state.again) {
          state.again = false;
          await this.dispatchOnce(env);
        }
      } catch (error) {
        // The poll tries again.
        this.logger.warn(`Could not look at the queue of ${env}: ${String(error)}`);
      } finally {
        this.dispatches.delete(env);
      }
    })();
    this.dispatches.set(env, state);
    return state.done;
  }

  /** One pass: starts this replica's runs that may start now, in order, and wakes an owner. */
  private async dispatchOnce(env: string): Promise<void> {
    const claimed: { run: QueuedRun; release: () => void }[] = [];
    let wake: string | undefined;
    try {
      await this.store.transaction(async (tx) => {
        await lockQueue(tx, env);
        const rows = await inFlight(tx, env);
        const running = rows.filter((row) => row.status === 'running');
        const busySessions = new Set(running.map((row) => row.session_id));
        let slots = this.config.execution.maxConcurrentPerEnv - running.length;
        const queued = new Set<string>();
        for (const row of rows) {
          if (row.status !== 'queued') continue;
          queued.add(row.id);
          if (slots <= 0 || wake || busySessions.has(row.session_id)) continue;
          const run = this.local.get(row.id);
          if (!run || row.owner_replica !== this.bus.replicaId) {
            // Its owner starts it (FIFO: nothing behind it goes first).
            if (row.owner_replica !== this.bus.replicaId && row.owner_replica)
              wake = row.owner_replica;
            else slots = 0;
            continue;
          }
          // A session held here (being deleted) waits for its hold to end.
          if (this.registry.isSessionRunning(env, row.session_id)) continue;
          const release = this.registry.claim(env, row.session_id);
          // Taken out of the queue (cancelled) since it was read: of the two, one wins.
          const { changes } = await tx.run(
            `UPDATE executions SET status = 'running', started_at = ?
             WHERE id = ? AND status = 'queued' AND queue_seq IS NOT NULL`,
            [new Date().toISOString(), row.id],
          );
          if (changes === 0) {
            release();
            this.local.delete(row.id);
            continue;
          }
          claimed.push({ run, release });
          busySessions.add(row.session_id);
          slots -= 1;
        }
        // Runs taken out of the queue elsewhere (cancelled on another replica, ended by a reaper).
        for (const [id, run] of this.local) {
          if (run.env === env && !queued.has(id)) this.local.delete(id);
        }
      });
    } catch (error) {
      for (const { release } of claimed) release();
      throw error;
    }
    for (const { run, release } of claimed) this.start(run, release);
    if (wake) {
      await this.bus.publish(QUEUE_WAKE, { env, to: wake }).catch((error: unknown) => {
        this.logger.warn(`Could not wake replica ${wake} for ${env}: ${String(error)}`);
      });
    }
  }

  private start(run: QueuedRun, release: () => void): void {
    this.local.delete(run.id);
    run
      .start()
      .catch((error: unknown) => this.logger.error(`run ${run.id} failed: ${String(error)}`))
      .finally(() => {
        release();
        void this.dispatch(run.env);
      });
  }
}

/** The queue shared by the replicas when they coordinate (REDIS_URL), else this process's. */
export function runQueueFor(
  config: AppConfig,
  store: SqlStore,
  bus: ReplicaBus,
  registry: RunRegistry,
): RunQueue {
  return bus.shared
    ? new SharedRunQueue(config, store, bus, registry)
    : new InProcessRunQueue(config, registry);
}

function lockQueue(tx: SqlTransaction, env: string): Promise<void> {
  return tx.lock(`queue:${env}`);
}

function inFlight(executor: SqlExecutor, env: string): Promise<InFlightRow[]> {
  return executor.all<InFlightRow>(
    `SELECT id, session_id, status, owner_replica FROM executions
     WHERE env = ? AND ${IN_QUEUE_OR_RUNNING} ORDER BY ${QUEUE_ORDER}`,
    [env],
  );
}
