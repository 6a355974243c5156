import { SessionStatus, SessionSummaryDto } from './dto/session-summary.dto';
import { SessionRecord } from './sessions.repository';

/** What a list shows of a session. */
export function toSessionSummary(record: SessionRecord, running: boolean): SessionSummaryDto {
  const { transcript } = record;
  return {
    id: record.id,
    title: record.title ?? transcript?.summary.title ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    messageCount: transcript?.summary.messageCount ?? 0,
    sizeBytes: transcript?.size ?? 0,
    status: running ? SessionStatus.running : transcript ? SessionStatus.idle : SessionStatus.new,
  };
}
