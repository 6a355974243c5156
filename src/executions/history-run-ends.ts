import { Injectable } from '@nestjs/common';
import { RunEnds } from '../common/auth/events-tokens';
import { ExecutionsRepository } from './executions.repository';

/** A run's end as the history records it, for the events tokens' grace. */
@Injectable()
export class HistoryRunEnds extends RunEnds {
  constructor(private readonly repository: ExecutionsRepository) {
    super();
  }

  async endedAt(runId: string): Promise<number | null> {
    const finishedAt = await this.repository.finishedAt(runId);
    return finishedAt === null ? null : Date.parse(finishedAt);
  }
}
