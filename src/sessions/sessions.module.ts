import { Module } from '@nestjs/common';
import { ContainersModule } from '../containers/containers.module';
import { RunRegistry } from './run-registry';
import { SessionReservations } from './session-reservations';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';

@Module({
  imports: [ContainersModule],
  controllers: [SessionsController],
  providers: [SessionsService, SessionReservations, RunRegistry],
  exports: [SessionsService, RunRegistry],
})
export class SessionsModule {}
