import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ReplicaBus } from '../common/coordination/replica-bus';
import { LivenessTimings } from '../common/coordination/replica-liveness';
import { ReplicaLocks } from '../common/coordination/replica-locks';
import { OrphanRuns } from './orphan-runs';

/** The lock that lets one replica at a time reap. */
const REAPER_LOCK = 'run-reaper';

/**
 * With replicas (REDIS_URL): every `reapEveryMs`, one replica at a time ends `interrupted` the
 * runs queued or running whose owner's key is gone (ReplicaLiveness), and kills their CLIs. A
 * dead replica's runs so end within TTL + period (15 s) of its last refresh. Without Redis there
 * is no other replica, and nothing to do.
 */
@Injectable()
export class RunReaper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RunReaper.name);
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | null = null;

  constructor(
    private readonly bus: ReplicaBus,
    private readonly locks: ReplicaLocks,
    private readonly orphans: OrphanRuns,
    private readonly timings: LivenessTimings,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.bus.shared) return;
    this.timer = setInterval(() => this.tick(), this.timings.reapEveryMs).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  /**
   * One pass: the ids of the runs it ended, or null when another replica's pass held the lock.
   * The lock expires after a period, so a replica that dies in a pass holds up no other for long.
   */
  reapOnce(): Promise<string[] | null> {
    if (!this.bus.shared) return Promise.resolve([]);
    return this.locks.exclusively(REAPER_LOCK, this.timings.reapEveryMs, () =>
      this.orphans.endRunsOfGoneReplicas(this.bus.replicaId),
    );
  }

  private tick(): void {
    if (this.pass) return;
    this.pass = this.reapOnce()
      .then(() => undefined)
      .catch((error: unknown) =>
        this.logger.warn(`Could not look for runs of replicas that are gone: ${String(error)}`),
      )
      .finally(() => (this.pass = null));
  }
}
