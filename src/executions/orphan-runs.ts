import { Injectable, Logger } from '@nestjs/common';
import { RunExecutor } from '../agent/run-executor';
import { ReplicaLiveness } from '../common/coordination/replica-liveness';
import { ContainersService } from '../containers/containers.service';
import { endWithoutRun } from './execution-outcome';
import { ExecutionStatus } from './execution-status';
import { ExecutionEnd, ExecutionsRepository, InFlightRun } from './executions.repository';
import { RunRecorder } from './run-recorder';

/**
 * Ends the runs that no process runs any more: a crash left them in flight, or the replica that
 * owns them is gone. Each ends once, however many replicas try, and a running one's CLI is
 * killed, from whichever replica ends it (the runner finds it by its run marker).
 */
@Injectable()
export class OrphanRuns {
  private readonly logger = new Logger(OrphanRuns.name);

  constructor(
    private readonly repository: ExecutionsRepository,
    private readonly recorder: RunRecorder,
    private readonly containers: ContainersService,
    private readonly executor: RunExecutor,
    private readonly liveness: ReplicaLiveness,
  ) {}

  /**
   * Ends `interrupted` the runs in flight whose owner is another replica whose key is gone, and
   * logs each; answers their ids. Rejects when Redis does not answer (then it ends none).
   */
  async endRunsOfGoneReplicas(self: string): Promise<string[]> {
    const inFlight = await this.repository.inFlight();
    const owners = new Set<string>();
    for (const { ownerReplica } of inFlight) {
      if (ownerReplica !== null && ownerReplica !== self) owners.add(ownerReplica);
    }
    const alive = await this.liveness.aliveAmong([...owners]);
    const ended: string[] = [];
    for (const run of inFlight) {
      const owner = run.ownerReplica;
      if (owner === null || !owners.has(owner) || alive.has(owner)) continue;
      if (!(await this.end(run, endWithoutRun('owner_lost')))) continue;
      ended.push(run.id);
      this.logger.warn(
        `Ended run ${run.id} (${run.env}) interrupted: it was ${run.status} on replica ${owner}, which stopped answering`,
      );
    }
    return ended;
  }

  /**
   * Ends `run` with `end`, unless it is no longer as `run` says (it ended, or started, meanwhile);
   * then kills its CLI if it was running, and tells the end as every end is told. Answers whether
   * this call ended it.
   */
  async end(run: InFlightRun, end: ExecutionEnd): Promise<boolean> {
    // Streams, waiters and webhooks hear of it as of every end, from the recorder.
    if (!(await this.recorder.endedIfStill(run.status, run.id, end))) return false;
    if (run.status === ExecutionStatus.running) {
      this.executor
        .kill(this.containers.containerName(run.env), run.id, run.ownerReplica)
        .catch((error: unknown) =>
          this.logger.warn(`Could not stop the CLI of run ${run.id}: ${String(error)}`),
        );
    }
    return true;
  }
}
