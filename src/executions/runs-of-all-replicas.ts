import { Injectable, OnModuleInit } from '@nestjs/common';
import { ReplicaBus } from '../common/coordination/replica-bus';
import { ContainerActivity } from '../containers/container-activity';
import { ExecutionsRepository } from './executions.repository';

/**
 * With replicas, tells the containers' activity about every replica's runs (the store has them),
 * so no replica stops a container for idleness while another's run uses it. Provided here, as the
 * containers feature knows nothing of runs.
 */
@Injectable()
export class RunsOfAllReplicas implements OnModuleInit {
  constructor(
    private readonly bus: ReplicaBus,
    private readonly activity: ContainerActivity,
    private readonly repository: ExecutionsRepository,
  ) {}

  onModuleInit(): void {
    if (!this.bus.shared) return;
    this.activity.countRunsOfAllReplicas((env) => this.repository.hasRunInFlight(env));
  }
}
