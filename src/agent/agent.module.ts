import { Module } from '@nestjs/common';
import { RunExecutor } from './run-executor';
import { SdkRunExecutor } from './sdk-run-executor';

/**
 * The runner: everything that starts, drives and kills the Claude Code CLI in an agent
 * container. The rest of the service sees only `RunExecutor`.
 */
@Module({
  providers: [{ provide: RunExecutor, useClass: SdkRunExecutor }],
  exports: [RunExecutor],
})
export class AgentModule {}
