import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { SessionSummaryDto } from './session-summary.dto';

/** Where to fork a session, and what to call the fork. */
export class ForkSessionDto {
  /**
   * The `uuid` of the message the fork ends with (included), as a session's page of messages
   * shows it; without it, the fork keeps the whole history.
   */
  @IsOptional()
  @IsUUID()
  upToMessageId?: string;

  /** A title for session lists; without it, the parent's title with " (fork)". */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  title?: string;
}

/** The session a fork started from. */
export class ForkOriginDto {
  /** The parent session's id. */
  sessionId!: string;

  /** The message the fork ends with, or null when it kept the whole history. */
  upToMessageId!: string | null;
}

/** A new session with a copy of its parent's history; resume it with `sessionId: id`. */
export class ForkedSessionDto extends SessionSummaryDto {
  forkedFrom!: ForkOriginDto;
}
