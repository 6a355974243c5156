import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { ExecutionStatus } from '../execution-status';

export class ListExecutionsQueryDto {
  /** Only this environment's runs. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  env?: string;

  /** Only this session's runs. */
  @IsOptional()
  @IsUUID('all')
  sessionId?: string;

  @IsOptional()
  @ApiProperty({ enum: ExecutionStatus, enumName: 'ExecutionStatus', required: false })
  @IsEnum(ExecutionStatus)
  status?: ExecutionStatus;

  /** Runs per page. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number = 20;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}
