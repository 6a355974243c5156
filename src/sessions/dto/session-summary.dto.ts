import { ApiProperty } from '@nestjs/swagger';
import { PageQueryDto } from '../../common/http/page-query.dto';

/** Where a session stands; see `SessionSummaryDto.status`. */
export enum SessionStatus {
  new = 'new',
  idle = 'idle',
  running = 'running',
}

/** One session of an environment: a reservation, a transcript on disk, or both. */
export class SessionSummaryDto {
  /** The session id (a UUID). */
  id!: string;

  /**
   * The title it was reserved with, else the one its transcript sets (a fork's), else its first
   * prompt cut to about 80 characters.
   */
  title!: string | null;

  /** ISO time of the reservation, else of the transcript's first line. */
  createdAt!: string;

  /** ISO time the transcript last changed (whole seconds), else the reservation's. */
  updatedAt!: string;

  /** User, assistant and system messages in the transcript. */
  @ApiProperty({ type: 'integer' })
  messageCount!: number;

  /** Size of the transcript file. */
  @ApiProperty({ type: 'integer' })
  sizeBytes!: number;

  /** `new`: reserved, nothing written yet; `running`: a prompt is in flight; `idle`: otherwise. */
  @ApiProperty({ enum: SessionStatus, enumName: 'SessionStatus' })
  status!: SessionStatus;
}

export class ListSessionsQueryDto extends PageQueryDto {}

/** A page of sessions, newest first. */
export class SessionListDto {
  items!: SessionSummaryDto[];

  /** Pass it as `cursor` for the next page; null on the last one. */
  nextCursor!: string | null;
}
