import { IsBoolean, IsOptional } from 'class-validator';
import { ExecuteRequestDto } from './execute-request.dto';

/** The execute body, for a run that goes into the background. */
export class SubmitExecutionDto extends ExecuteRequestDto {
  /** Also stream token deltas (`stream_event` events) while Claude writes. */
  @IsOptional()
  @IsBoolean()
  includePartialMessages?: boolean;
}
