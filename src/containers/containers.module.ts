import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ContainerStates } from './container-states';
import { ContainersController } from './containers.controller';
import { ContainersService } from './containers.service';
import { EnvironmentPipe } from './environment.pipe';

@Module({
  imports: [AgentModule],
  controllers: [ContainersController],
  providers: [ContainersService, ContainerStates, EnvironmentPipe],
  exports: [ContainersService, EnvironmentPipe],
})
export class ContainersModule {}
