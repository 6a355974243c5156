import { Module } from '@nestjs/common';
import { ContainersModule } from '../containers/containers.module';
import { RunExecutor } from '../execution/run-executor';
import { SdkRunExecutor } from '../execution/sdk-run-executor';
import { SessionsModule } from '../sessions/sessions.module';
import { ExecutionsController } from './executions.controller';
import { ExecutionsFacade } from './executions.facade';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionsService } from './executions.service';
import { RunEventHub } from './run-event-hub';
import { InProcessRunQueue, RunQueue } from './run-queue';

@Module({
  imports: [ContainersModule, SessionsModule],
  controllers: [ExecutionsController],
  providers: [
    ExecutionsService,
    ExecutionsFacade,
    ExecutionsRepository,
    RunEventHub,
    { provide: RunQueue, useClass: InProcessRunQueue },
    { provide: RunExecutor, useClass: SdkRunExecutor },
  ],
  exports: [ExecutionsService],
})
export class ExecutionsModule {}
