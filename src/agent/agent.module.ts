import { Module } from '@nestjs/common';
import { RunExecutor } from './run-executor';
import { PooledRunExecutor } from './pooled-run-executor';

/**
 * The runner: everything that starts, drives and kills the Claude Code CLI in an agent
 * container. The rest of the service sees only `RunExecutor`.
 */
@Module({
  providers: [{ provide: RunExecutor, useClass: PooledRunExecutor }],
  exports: [RunExecutor],
})
export class AgentModule {}
