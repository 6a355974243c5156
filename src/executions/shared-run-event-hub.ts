import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { BusChannel, ReplicaBus } from '../common/coordination/replica-bus';
import { isFinal } from './execution-status';
import { ExecutionsRepository } from './executions.repository';
import { LocalRunEventHub, RunEvent, RunEventHub, RunEventListener } from './run-event-hub';

/**
 * Told on the bus by the replica that recorded it: a run's event `seq` is stored, or its end is.
 * Only a position: the events themselves are read from the store.
 */
export type RunNotice =
  | {
      runId: string;
      seq: number;
      /**
       * Set once a notice of this run failed to leave its recorder: the first event that may
       * have gone untold, where a replica that starts following the run reads from.
       */
      since?: number;
    }
  | { runId: string; ended: true };

const RUN_ID = /^[\w-]{1,100}$/;
const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && Number(value) > 0;

export const RUN_NOTICES: BusChannel<RunNotice> = {
  name: 'runs.events',
  parse: (value) => {
    const { runId, seq, since, ended } = (value ?? {}) as Record<string, unknown>;
    if (typeof runId !== 'string' || !RUN_ID.test(runId)) throw new Error('runId is not a run id');
    if (ended === true) return { runId, ended };
    if (!isSeq(seq)) throw new Error('seq is not a positive integer');
    if (since === undefined) return { runId, seq };
    if (!isSeq(since) || since > seq) throw new Error('since is not a position up to seq');
    return { runId, seq, since };
  },
};

/** The hub for this replica: in this process alone, or over the bus when other replicas exist. */
export function runEventHubFor(bus: ReplicaBus, repository: ExecutionsRepository): RunEventHub {
  return bus.shared ? new SharedRunEventHub(bus, repository) : new LocalRunEventHub();
}

/** What this replica failed to tell the others of one run, to tell again once its link is back. */
interface Untold {
  /** The first event notice that failed, and the newest event told since. */
  since?: number;
  latest?: number;
  ended: boolean;
}

/**
 * The hub of replicas sharing a store and a bus (REDIS_URL): a run's events reach the streams and
 * waiters of every replica, whichever one runs it.
 *
 * The replica that records an event (its owner) tells its own listeners at once, as the local
 * hub does, and once the event is stored sends `{runId, seq}` on the bus; the one that records the
 * end (the owner, or a replica ending a dead one's runs) sends `{runId, ended}` after it is stored.
 * Another replica with listeners of that run reads the store after the last event it told them,
 * tells them the events in order, and the end once all before it are told: one run's deliveries
 * are made one after the other, and an event at or below the last one told is skipped, so none is
 * told twice or out of order.
 *
 * Where a replica starts reading: notices from one sender arrive in order, each after its event
 * is stored, and a listener subscribes before it reads the store (ExecutionEvents). So when the
 * first notice a new follower gets is `seq`, the notice of every event before it arrived before
 * the follower subscribed, hence that event was stored before its listener read the store:
 * reading after `seq - 1` leaves no gap (`since` moves that back when the sender lost notices).
 * It may tell a listener an event it also read (its notice was on the way): a stream skips
 * those. Events past the run's storage bounds are not
 * stored: they reach live streams on the owner only, and the others never see them.
 *
 * A replica whose link was down misses notices: when it is back, it reads each followed run's
 * events from the store again, and tells the end of those that ended meanwhile. A sender whose
 * notices failed sends them again then.
 */
export class SharedRunEventHub extends RunEventHub implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RunEventHub.name);
  private readonly follows = new Map<string, FollowedRun>();
  private readonly untold = new Map<string, Untold>();
  private stopListening: () => Promise<void> = () => Promise.resolve();

  constructor(
    private readonly bus: ReplicaBus,
    private readonly repository: ExecutionsRepository,
  ) {
    super();
  }

  // Awaited by Nest: no stream is served before this replica hears the others.
  async onModuleInit(): Promise<void> {
    const unsubscribe = await this.bus.subscribe(RUN_NOTICES, (notice, from) => {
      if (from !== this.bus.replicaId) this.noticed(notice);
    });
    const stopResync = this.bus.onReconnect(() => this.resync());
    this.stopListening = async () => {
      stopResync();
      await unsubscribe();
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopListening();
  }

  subscribe(runId: string, listener: RunEventListener): () => void {
    let follow = this.follows.get(runId);
    if (!follow) {
      const followed = new FollowedRun(runId, this.repository, this.logger, () => {
        if (this.follows.get(runId) === followed) this.follows.delete(runId);
      });
      this.follows.set(runId, followed);
      follow = followed;
    }
    const { listeners, forget } = follow;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) forget();
    };
  }

  publish(runId: string, event: RunEvent, stored: boolean): void {
    this.follows.get(runId)?.tell(event);
    // Only a stored event can be read elsewhere.
    if (stored) this.announceEvent(runId, event.seq);
  }

  end(runId: string): void {
    this.follows.get(runId)?.end({ fromStore: false });
    this.announceEnd(runId);
  }

  private noticed(notice: RunNotice): void {
    if ('ended' in notice) {
      // It has ended: nothing of ours is left to tell again.
      this.untold.delete(notice.runId);
      this.follows.get(notice.runId)?.end({ fromStore: true });
    } else {
      this.follows.get(notice.runId)?.stored(notice.seq, notice.since);
    }
  }

  private resync(): void {
    for (const follow of this.follows.values()) follow.resync();
    for (const [runId, untold] of this.untold) {
      if (untold.ended) this.announceEnd(runId);
      else if (untold.latest !== undefined) this.announceEvent(runId, untold.latest);
    }
  }

  private announceEvent(runId: string, seq: number): void {
    const untold = this.untold.get(runId);
    if (untold) untold.latest = seq;
    const since = untold?.since;
    this.announce({ runId, seq, ...(since === undefined ? {} : { since }) }, (missed) => {
      missed.since ??= seq;
      missed.latest = Math.max(missed.latest ?? seq, seq);
    });
  }

  private announceEnd(runId: string): void {
    this.announce({ runId, ended: true }, (missed) => (missed.ended = true));
  }

  /**
   * Sends without waiting (the notices of one sender keep their order on its one connection);
   * a failure is remembered for the resync, and lowers no guarantee a notice would have given.
   */
  private announce(notice: RunNotice, remember: (missed: Untold) => void): void {
    this.bus.publish(RUN_NOTICES, notice).then(
      () => {
        if ('ended' in notice) this.untold.delete(notice.runId);
      },
      (error: Error) => {
        let missed = this.untold.get(notice.runId);
        if (!missed) {
          missed = { ended: false };
          this.untold.set(notice.runId, missed);
          this.logger.warn(
            `Could not tell the other replicas of run ${notice.runId} (${error.message}); told again once the link is back`,
          );
        }
        remember(missed);
      },
    );
  }
}

/**
 * A run followed by listeners on this replica, and how far they were told: the last event told
 * (`told`), unknown until this replica tells one or hears of one. Deliveries from the store are
 * made one after the other (`later`); one told directly skips the line (see `tell`).
 */
class FollowedRun {
  readonly listeners = new Set<RunEventListener>();
  private told: number | undefined;
  /** Whether events were read from the store for it (they come from another replica). */
  private fedFromStore = false;
  private ended = false;
  private queue = Promise.resolve();
  private queued = 0;
  /** A read of the store is queued and not yet begun: it will read whatever is noticed meanwhile. */
  private readPending = false;

  constructor(
    private readonly runId: string,
    private readonly repository: ExecutionsRepository,
    private readonly logger: Logger,
    /** Takes it out of the hub: a later subscriber starts a follow of its own. */
    readonly forget: () => void,
  ) {}

  /**
   * Tells an event to the listeners, unless one at or after it was told. Direct from the recorder
   * it needs no queue: its recorder told every earlier event of its own before storing this one,
   * and a read of the store can only be ahead of it by this one event.
   */
  tell(event: RunEvent): void {
    if (this.ended || (this.told !== undefined && event.seq <= this.told)) return;
    this.told = event.seq;
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Another replica stored event `seq` (and those before it, from `since` on). */
  stored(seq: number, since = seq): void {
    // The first notice: every event before `since` was stored before the listeners read the store.
    this.told ??= since - 1;
    if (seq > this.told) this.readStore();
  }

  /**
   * Tells the end, after the events stored before it when they come from the store. No later
   * subscriber joins it: they read the end from the store.
   */
  end({ fromStore }: { fromStore: boolean }): void {
    this.forget();
    if (this.ended) return;
    if (this.queued === 0 && !fromStore && !this.fedFromStore) {
      this.tellEnd();
      return;
    }
    this.later('its end', async () => {
      try {
        if (this.told !== undefined) await this.readEvents();
      } finally {
        this.tellEnd();
      }
    });
  }

  /** After a lost link: reads what was missed, from the start when nothing was heard yet. */
  resync(): void {
    this.later('what was missed', async () => {
      this.told ??= 0;
      await this.readEvents();
      const run = await this.repository.get(this.runId);
      if (!run || isFinal(run.status)) this.tellEnd();
    });
  }

  private readStore(): void {
    if (this.readPending) return;
    this.readPending = true;
    this.later('its events', () => this.readEvents());
  }

  /** Tells the stored events after the last one told, page by page. */
  private async readEvents(): Promise<void> {
    this.readPending = false;
    this.fedFromStore = true;
    while (!this.ended && this.listeners.size > 0) {
      const page = await this.repository.eventsAfter(this.runId, this.told ?? 0);
      if (page.length === 0) return;
      page.forEach((event) => this.tell(event));
    }
  }

  private tellEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.forget();
    for (const listener of [...this.listeners]) listener(null);
    this.listeners.clear();
  }

  private later(what: string, job: () => Promise<void>): void {
    this.queued += 1;
    this.queue = this.queue
      .then(job)
      .catch((error: unknown) => {
        this.logger.warn(`Could not read ${what} of run ${this.runId}: ${String(error)}`);
      })
      .finally(() => (this.queued -= 1));
  }
}
