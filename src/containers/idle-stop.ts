import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ServiceEvents } from '../common/events/service-events';
import { ContainerInfo } from '../docker/docker.types';
import { ContainerActivity } from './container-activity';
import { ContainerStates } from './container-states';
import { ContainersService } from './containers.service';

/** After a stop that failed (Docker away), when to try again. */
const RETRY_MS = 60_000;

/**
 * Stops an environment's container once nothing has used it for IDLE_STOP_MS (see
 * ContainerActivity), and tells so on the service's events; the next run starts it again as
 * usual. One timer per environment, set for when its container is due: armed whenever the last
 * hold is let go or the container's state is read, and checked again under the lifecycle lock
 * when it fires (ContainersService.stopIfIdle). With replicas, never while any replica has a run
 * queued or running in the environment (ContainerActivity.usedByAnyReplica).
 */
@Injectable()
export class IdleStop implements OnModuleDestroy {
  private readonly logger = new Logger(IdleStop.name);
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly activity: ContainerActivity,
    private readonly states: ContainerStates,
    private readonly containers: ContainersService,
    private readonly events: ServiceEvents,
  ) {
    if (config.idleStopMs === 0) return;
    states.onChange((env, info) => this.schedule(env, this.dueAt(env, info)));
    activity.onIdle((env) => void this.reschedule(env));
  }

  onModuleDestroy(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** When (epoch ms) the container `info` describes is due to stop; null: not idle. */
  private dueAt(env: string, info: ContainerInfo | null): number | null {
    return this.activity.stopAt(this.activity.idleSince(env, info));
  }

  /** Sets the environment's timer from the state kept. */
  private async reschedule(env: string): Promise<void> {
    try {
      this.schedule(env, this.dueAt(env, await this.states.get(env)));
    } catch {
      this.schedule(env, Date.now() + RETRY_MS);
    }
  }

  /** Sets the environment's timer for `at` (epoch ms), or clears it (null). */
  private schedule(env: string, at: number | null): void {
    clearTimeout(this.timers.get(env));
    this.timers.delete(env);
    if (at === null || this.closed) return;
    const timer = setTimeout(() => void this.stopIfDue(env), Math.max(0, at - Date.now()));
    this.timers.set(env, timer.unref());
  }

  private async stopIfDue(env: string): Promise<void> {
    this.timers.delete(env);
    try {
      // Another replica's run holds nothing here: the store tells (then due an IDLE_STOP_MS later).
      const stopped = (await this.activity.usedByAnyReplica(env))
        ? null
        : await this.containers.stopIfIdle(env);
      if (!stopped) {
        // Not due (held again, restarted since): set for when it is, if ever.
        await this.reschedule(env);
        return;
      }
      this.logger.log(`Stopped the container of ${env}: unused since ${stopped.idleSince}`);
      this.events.emit('container.idle_stopped', stopped);
    } catch (error) {
      this.logger.warn(`Could not stop the idle container of ${env}: ${String(error)}`);
      this.schedule(env, Date.now() + RETRY_MS);
    }
  }
}
