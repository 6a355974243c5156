import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ContainerActivity } from './container-activity';
import { ContainerMcp } from './container-mcp';
import { ContainerPlacement } from './container-placement';
import { ContainerStates } from './container-states';
import { ContainersController } from './containers.controller';
import { ContainersService } from './containers.service';
import { EnvironmentPipe } from './environment.pipe';
import { IdleStop } from './idle-stop';

@Module({
  imports: [AgentModule],
  controllers: [ContainersController],
  providers: [
    ContainersService,
    ContainerActivity,
    ContainerMcp,
    ContainerPlacement,
    ContainerStates,
    EnvironmentPipe,
    IdleStop,
  ],
  // ContainerActivity: the runs' feature tells it of other replicas' runs.
  exports: [ContainersService, ContainerActivity, EnvironmentPipe],
})
export class ContainersModule {}
