import { LowerCase } from '../../common/http/lower-case.decorator';
import { ApiProperty } from '@nestjs/swagger';
import { IsEnum, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/http/page-query.dto';
import { ExecutionStatus } from '../execution-status';

export class ListExecutionsQueryDto extends PageQueryDto {
  /** Only this environment's runs. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  env?: string;

  /** Only this session's runs. */
  @IsOptional()
  @LowerCase()
  @IsUUID('all')
  sessionId?: string;

  @IsOptional()
  @ApiProperty({ enum: ExecutionStatus, enumName: 'ExecutionStatus', required: false })
  @IsEnum(ExecutionStatus)
  status?: ExecutionStatus;
}
