import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { RunEnds } from '../common/auth/events-tokens';
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
import { RunAdmission } from './run-admission';
import { RunApprovals } from './run-approvals';
import { RunBudgets } from './run-budgets';
import { RunEventHub } from './run-event-hub';
import { RunLifecycle } from './run-lifecycle';
import { InProcessRunQueue, RunQueue } from './run-queue';
import { RunRecorder } from './run-recorder';
import { RunTelemetry } from './run-telemetry';
import { ShutdownDrain } from './shutdown-drain';

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
    RunAdmission,
    RunApprovals,
    RunBudgets,
    RunEventHub,
    RunLifecycle,
    RunRecorder,
    RunTelemetry,
    ShutdownDrain,
    StreamSlots,
    { provide: RunQueue, useClass: InProcessRunQueue },
    // For the auth guard: an events token expires a grace after its run's end.
    { provide: RunEnds, useClass: HistoryRunEnds },
  ],
  exports: [RunEnds],
})
export class ExecutionsModule {}
