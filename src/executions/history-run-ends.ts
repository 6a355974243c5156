import { Injectable } from '@nestjs/common';
import { RunEnds } from '../common/auth/events-tokens';
import { ExecutionsRepository } from './executions.repository';

/** A run's end as the history records it, for the events tokens' grace. */
@Injectable()
export class HistoryRunEnds extends RunEnds {
  constructor(private readonly repository: ExecutionsRepository) {
    super();
  }

  endedAt(runId: string): number | null {
    const finishedAt = this.repository.finishedAt(runId);
    return finishedAt === null ? null : Date.parse(finishedAt);
  }
}
