import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { RunEnds } from '../common/auth/events-tokens';
import { ReplicaBus } from '../common/coordination/replica-bus';
import { StreamSlots } from '../common/http/stream-slots';
import { ContainersModule } from '../containers/containers.module';
import { SessionsModule } from '../sessions/sessions.module';
import { ExecuteController } from './execute.controller';
import { ExecuteService } from './execute.service';
import { ExecutionEvents } from './execution-events';
import { ExecutionsController } from './executions.controller';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionsService } from './executions.service';
import { HistoryMaintenance } from './history-maintenance';
import { HistoryRunEnds } from './history-run-ends';
import { OrphanRuns } from './orphan-runs';
import { RunAdmission } from './run-admission';
import { RunApprovals } from './run-approvals';
import { RunBudgets } from './run-budgets';
import { RunControl } from './run-control';
import { RunEventHub } from './run-event-hub';
import { RunLifecycle } from './run-lifecycle';
import { RunQueue } from './run-queue';
import { RunReaper } from './run-reaper';
import { RunRecorder } from './run-recorder';
import { RunsOfAllReplicas } from './runs-of-all-replicas';
import { RunTelemetry } from './run-telemetry';
import { runQueueFor } from './shared-run-queue';
import { runEventHubFor } from './shared-run-event-hub';
import { ShutdownDrain } from './shutdown-drain';
import { APP_CONFIG } from '../common/config/app-config';
import { RunRegistry } from '../sessions/run-registry';
import { SqlStore } from '../store/sql-store';
import { WarmSessionReleases } from './warm-session-releases';

/**
 * Runs of Claude Code: the synchronous `POST /api/execute` and the background runs, their
 * queue, history and events.
 */
@Module({
  imports: [AgentModule, ContainersModule, SessionsModule],
  controllers: [ExecuteController, ExecutionsController],
  providers: [
    ExecuteService,
    ExecutionsService,
    ExecutionsRepository,
    ExecutionEvents,
    HistoryMaintenance,
    OrphanRuns,
    RunAdmission,
    RunApprovals,
    RunBudgets,
    RunControl,
    RunLifecycle,
    RunReaper,
    RunRecorder,
    RunsOfAllReplicas,
    RunTelemetry,
    ShutdownDrain,
    StreamSlots,
    {
      provide: RunQueue,
      useFactory: runQueueFor,
      inject: [APP_CONFIG, SqlStore, ReplicaBus, RunRegistry],
    },
    {
      provide: RunEventHub,
      useFactory: runEventHubFor,
      inject: [ReplicaBus, ExecutionsRepository],
    },
    WarmSessionReleases,
    // For the auth guard: an events token expires a grace after its run's end.
    { provide: RunEnds, useClass: HistoryRunEnds },
  ],
  exports: [RunEnds],
})
export class ExecutionsModule {}
