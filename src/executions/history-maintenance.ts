import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { RunExecutor } from '../agent/run-executor';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ContainersService } from '../containers/containers.service';
import { pruneHourly, retentionCutoff } from '../store/retention';
import { endWithoutRun } from './execution-outcome';
import { ExecutionStatus } from './execution-status';
import { ExecutionsRepository } from './executions.repository';
import { RunRecorder } from './run-recorder';

/**
 * Keeps the history true and bounded: at boot, runs a crash left in flight are ended (their
 * CLIs killed); every hour, runs past HISTORY_RETENTION_DAYS are pruned.
 */
@Injectable()
export class HistoryMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HistoryMaintenance.name);
  private stopPruning: () => void = () => undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ExecutionsRepository,
    private readonly recorder: RunRecorder,
    private readonly containers: ContainersService,
    private readonly executor: RunExecutor,
  ) {}

  // Awaited by Nest: the application is ready once the history is true again.
  async onApplicationBootstrap(): Promise<void> {
    await this.recoverAfterCrash();
    this.stopPruning = await pruneHourly(() => this.prune(), this.logger);
  }

  onModuleDestroy(): void {
    this.stopPruning();
  }

  /** Runs left `queued` or `running` by a crash: their CLIs are killed and they end `interrupted`. */
  private async recoverAfterCrash(): Promise<void> {
    const orphans = await this.repository.withStatus([
      ExecutionStatus.queued,
      ExecutionStatus.running,
    ]);
    for (const orphan of orphans) {
      if (orphan.status === ExecutionStatus.running) {
        this.executor
          .kill(this.containers.containerName(orphan.env), orphan.id)
          .catch((error: unknown) =>
            this.logger.warn(`could not stop the CLI of run ${orphan.id}: ${String(error)}`),
          );
      }
      await this.recorder.ended(orphan.id, endWithoutRun('crash'));
    }
    if (orphans.length > 0)
      this.logger.warn(`Marked ${orphans.length} run(s) left over by a crash as interrupted`);
  }

  private async prune(): Promise<void> {
    const { retentionDays } = this.config.history;
    const cutoff = retentionCutoff(retentionDays);
    const pruned = await this.repository.pruneBefore(cutoff);
    if (pruned > 0) this.logger.log(`Pruned ${pruned} run(s) older than ${retentionDays} days`);
  }
}
