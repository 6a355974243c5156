import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ReplicaBus } from '../common/coordination/replica-bus';
import { pruneHourly, retentionCutoff } from '../store/retention';
import { endWithoutRun } from './execution-outcome';
import { ExecutionsRepository } from './executions.repository';
import { OrphanRuns } from './orphan-runs';

/**
 * Keeps the history true and bounded: at boot, runs a crash left in flight are ended (their
 * CLIs killed; with replicas, never a live replica's runs); every hour, runs past HISTORY_RETENTION_DAYS are pruned.
 */
@Injectable()
export class HistoryMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HistoryMaintenance.name);
  private stopPruning: () => void = () => undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly orphans: OrphanRuns,
    private readonly bus: ReplicaBus,
  ) {}

  // Awaited by Nest: the application is ready once the history is true again.
  async onApplicationBootstrap(): Promise<void> {
    await this.recoverAfterCrash();
    this.stopPruning = await pruneHourly(() => this.prune(), this.logger);
  }

  onModuleDestroy(): void {
    this.stopPruning();
  }

  /**
   * Runs left `queued` or `running` by a crash: their CLIs are killed and they end `interrupted`.
   * With replicas, only the runs no live replica runs: this replica's own (REPLICA_ID may outlive
   * a restart), those of replicas that are gone, and those from before runs had owners.
   */
  private async recoverAfterCrash(): Promise<void> {
    const inFlight = await this.repository.inFlight();
    const self = this.bus.replicaId;
    const leftHere = this.bus.shared
      ? inFlight.filter(({ ownerReplica }) => ownerReplica === null || ownerReplica === self)
      : inFlight;
    let ended = 0;
    for (const orphan of leftHere) {
      if (await this.orphans.end(orphan, endWithoutRun('crash'))) ended += 1;
    }
    if (ended > 0) this.logger.warn(`Marked ${ended} run(s) left over by a crash as interrupted`);
    if (this.bus.shared) await this.endRunsOfGoneReplicas();
  }

  /** Ends the runs of other replicas that are gone; when Redis cannot tell, the reaper will. */
  private async endRunsOfGoneReplicas(): Promise<void> {
    try {
      await this.orphans.endRunsOfGoneReplicas(this.bus.replicaId);
    } catch (error) {
      this.logger.warn(
        `Could not tell which replicas are gone (${String(error)}): their runs are left to the reaper`,
      );
    }
  }

  private async prune(): Promise<void> {
    const { retentionDays } = this.config.history;
    const cutoff = retentionCutoff(retentionDays);
    const pruned = await this.repository.pruneBefore(cutoff);
    if (pruned > 0) this.logger.log(`Pruned ${pruned} run(s) older than ${retentionDays} days`);
  }
}
