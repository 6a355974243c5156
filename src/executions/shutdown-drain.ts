import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { endWithoutRun } from './execution-outcome';
import { RunLifecycle } from './run-lifecycle';
import { RunQueue } from './run-queue';

/**
 * SIGTERM: take no new runs, end the waiting ones, let the running ones finish within
 * SHUTDOWN_GRACE_MS, then stop the rest. Whatever did not finish ends `interrupted`.
 */
@Injectable()
export class ShutdownDrain implements BeforeApplicationShutdown {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queue: RunQueue,
    private readonly lifecycle: RunLifecycle,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.lifecycle.stopAccepting();
    const waitingEnded = this.queue.waiting().map(async (run) => {
      if (await this.queue.remove(run.id)) {
        await this.lifecycle.endQueued(run.id, endWithoutRun('shutdown'));
      }
    });
    await Promise.all([
      ...waitingEnded,
      this.lifecycle.drain(this.config.execution.shutdownGraceMs),
    ]);
  }
}
