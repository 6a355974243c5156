import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { TranscriptMessageType } from '../transcript';
import { SessionSummaryDto } from './session-summary.dto';

export class GetSessionQueryDto {
  /** Messages per page. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number = 100;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}

/** A tool the assistant called. */
export class ToolCallDto {
  /** The tool_use id its result refers to. */
  id!: string;

  /** The tool's name, e.g. `Bash`. */
  name!: string;

  /** The tool's arguments. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  input!: Record<string, unknown>;
}

/** What a tool answered, as the user turn that carries it back to the model. */
export class ToolResultDto {
  /** The id of the tool call it answers. */
  toolUseId!: string;

  /** Its text; images and other blocks appear as `[image]` etc. */
  content!: string;

  /** Whether the tool failed. */
  isError!: boolean;
}

/** One line of the conversation. */
export class SessionMessageDto {
  /** Position in the transcript's messages, from 0. */
  @ApiProperty({ type: 'integer' })
  index!: number;

  /** Who wrote it: `user` (prompts and tool results), `assistant`, or `system` (CLI notices). */
  @ApiProperty({ enum: TranscriptMessageType, enumName: 'SessionMessageType' })
  type!: TranscriptMessageType;

  /** The transcript's id of the message (its `uuid`), or null; fork a session here with it. */
  uuid!: string | null;

  /** ISO time the CLI wrote it, or null. */
  timestamp!: string | null;

  /** The message's text blocks, joined. */
  text?: string;

  toolCalls?: ToolCallDto[];

  toolResults?: ToolResultDto[];
}

/** A session with one page of its messages. */
export class SessionDetailDto extends SessionSummaryDto {
  messages!: SessionMessageDto[];

  /** Pass it as `cursor` for the next page of messages; null on the last one. */
  nextCursor!: string | null;

  /** Transcript lines that could not be read (e.g. a line the CLI is still writing). */
  @ApiProperty({ type: 'integer' })
  skippedLines!: number;
}
