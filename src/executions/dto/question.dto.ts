import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** One choice of a question, as the model wrote it. */
export class QuestionOptionDto {
  /** What a person picks; answer with it in `selected`. */
  label!: string;

  /** What choosing it means. */
  description!: string;

  /** Content to show beside the option (a mockup, a snippet), when the model gave one. */
  preview?: string;
}

/** One question of the model's `AskUserQuestion`, with all its options. */
export class QuestionDto {
  /** The full question, e.g. "Which library should we use for dates?". */
  question!: string;

  /** A very short label for it, e.g. "Library". */
  header!: string;

  /** True when several options may be picked together. */
  multiSelect!: boolean;

  /** The choices (a person may also answer in their own words, with `text`). */
  options!: QuestionOptionDto[];
}

/** Questions the model asks a person (its `AskUserQuestion` tool); the run waits for the answers. */
export class PendingQuestionDto {
  /** Answer with `POST /api/executions/{id}/questions/{requestId}`. */
  @ApiProperty({ format: 'uuid' })
  requestId!: string;

  /** The model's id for this tool call. */
  toolUseId!: string;

  questions!: QuestionDto[];

  requestedAt!: string;

  /** When the questions are declined if nobody answers them (APPROVAL_TIMEOUT_MS). */
  expiresAt!: string;
}

/** A person's answer to one question: the options picked, their own words, or both. */
export class QuestionAnswerDto {
  /** Labels of the question's options (one at most unless it is `multiSelect`). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(1000, { each: true })
  selected?: string[];

  /** An answer in the person's own words, instead of or beside the options. */
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  text?: string;
}

/** The answers to a pending question request, one per question, in the questions' order. */
export class AnswerQuestionDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => QuestionAnswerDto)
  answers!: QuestionAnswerDto[];
}
