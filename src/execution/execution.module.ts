import { Module } from '@nestjs/common';
import { ContainersModule } from '../containers/containers.module';
import { SessionsModule } from '../sessions/sessions.module';
import { ExecutionController } from './execution.controller';
import { ExecutionService } from './execution.service';
import { RunExecutor } from './run-executor';
import { SdkRunExecutor } from './sdk-run-executor';

@Module({
  imports: [ContainersModule, SessionsModule],
  controllers: [ExecutionController],
  providers: [ExecutionService, { provide: RunExecutor, useClass: SdkRunExecutor }],
})
export class ExecutionModule {}
