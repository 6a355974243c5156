import { Module } from '@nestjs/common';
import { ContainerStates } from './container-states';
import { ContainersController } from './containers.controller';
import { ContainersService } from './containers.service';
import { EnvironmentPipe } from './environment.pipe';

@Module({
  controllers: [ContainersController],
  providers: [ContainersService, ContainerStates, EnvironmentPipe],
  exports: [ContainersService, EnvironmentPipe],
})
export class ContainersModule {}
