import { Module } from '@nestjs/common';
import { ContainersController } from './containers.controller';
import { ContainersService } from './containers.service';
import { EnvironmentPipe } from './environment.pipe';

@Module({
  controllers: [ContainersController],
  providers: [ContainersService, EnvironmentPipe],
  exports: [ContainersService, EnvironmentPipe],
})
export class ContainersModule {}
