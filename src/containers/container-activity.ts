import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ContainerInfo } from '../docker/docker.types';

/**
 * What uses each environment's container now, and since when nothing has. Runs and event streams
 * hold their environment's container while they last; a running container that nothing holds is
 * idle since the latest of: the last hold let go (or another replica's run seen using it), its own
 * start, the service's boot (what came before is not known). Warm and spare CLIs do not hold it:
 * an idle warm CLI only waits to be recycled (WARM_IDLE_MS), and a spare waits for a session that
 * may never come.
 */
@Injectable()
export class ContainerActivity {
  private readonly holds = new Map<string, number>();
  private readonly lastLetGo = new Map<string, number>();
  private readonly bootedAt = Date.now();
  private readonly idleListeners: ((env: string) => void)[] = [];
  private runsOfAllReplicas: ((env: string) => Promise<boolean>) | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Holds the environment's container; the returned function lets go of it, once. */
  hold(env: string): () => void {
    this.holds.set(env, (this.holds.get(env) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.holds.get(env) ?? 1) - 1;
      if (left > 0) {
        this.holds.set(env, left);
        return;
      }
      this.holds.delete(env);
      this.lastLetGo.set(env, Date.now());
      for (const listener of this.idleListeners) listener(env);
    };
  }

  /** Calls `listener` with the environment each time the last hold of its container is let go. */
  onIdle(listener: (env: string) => void): void {
    this.idleListeners.push(listener);
  }

  /**
   * With replicas on one store, other replicas' runs use the containers too, unseen by this
   * process's holds: `inFlight` tells whether any replica has a run queued or running in an
   * environment. The runs' feature sets it; without replicas it stays unset.
   */
  countRunsOfAllReplicas(inFlight: (env: string) => Promise<boolean>): void {
    this.runsOfAllReplicas = inFlight;
  }

  /**
   * Whether a run of any replica uses the environment's container now (always false when only
   * this process's holds count). When one does, the container counts as used just now.
   */
  async usedByAnyReplica(env: string): Promise<boolean> {
    if (!this.runsOfAllReplicas || !(await this.runsOfAllReplicas(env))) return false;
    this.lastLetGo.set(env, Date.now());
    return true;
  }

  /** Since when (epoch ms) the container `info` describes has been idle; null while held or not running. */
  idleSince(env: string, info: ContainerInfo | null): number | null {
    if (!info?.running || this.holds.has(env)) return null;
    const started = info.startedAt === null ? 0 : Date.parse(info.startedAt);
    return Math.max(this.lastLetGo.get(env) ?? this.bootedAt, Number.isNaN(started) ? 0 : started);
  }

  /** When (epoch ms) a container idle since `idleSince` is due to stop; null when it is not idle or IDLE_STOP_MS is 0. */
  stopAt(idleSince: number | null): number | null {
    const { idleStopMs } = this.config;
    return idleSince === null || idleStopMs === 0 ? null : idleSince + idleStopMs;
  }
}
