import { Module } from '@nestjs/common';
import { ContainersModule } from '../containers/containers.module';
import { RunRegistry } from './run-registry';
import { SessionForkService } from './session-fork.service';
import { SessionIndexer } from './session-indexer';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';
import { TranscriptsRepository } from './transcripts.repository';

@Module({
  imports: [ContainersModule],
  controllers: [SessionsController],
  providers: [
    SessionsService,
    SessionForkService,
    SessionsRepository,
    TranscriptsRepository,
    SessionIndexer,
    RunRegistry,
  ],
  exports: [SessionsService, RunRegistry],
})
export class SessionsModule {}
