import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { TOKEN_ACTIONS, TokenAction } from '../../common/routes/required-scope.decorator';

/** `environments: ["*"]`: every environment, those configured later included. */
export const ALL_ENVIRONMENTS = '*';
export const MIN_TOKEN_TTL_SECONDS = 60;
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
export const DEFAULT_TOKEN_TTL_SECONDS = 60 * 60;

/** What a new scoped token may do, where, and for how long. */
export class MintTokenDto {
  /** Who or what holds it, e.g. the signed-in user; lists show it. 1 to 64 characters. */
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  name!: string;

  /** The configured environments it may act in, or `["*"]` for every one. */
  @ArrayNotEmpty()
  @ArrayMaxSize(64)
  @ArrayUnique()
  @Matches(/^(\*|[a-z0-9][a-z0-9-]{0,31})$/, {
    each: true,
    message: 'environments must list environment names, or be ["*"]',
  })
  environments!: string[];

  /**
   * What it may do: `read` (the GET routes), `run` (prompts, sessions, forks, cancels, answers,
   * starting a container), `admin` (stopping, creating and removing a container, the webhook log).
   */
  @ApiProperty({ enum: TokenAction, enumName: 'TokenAction', isArray: true })
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(TOKEN_ACTIONS, { each: true, message: `actions must be among ${TOKEN_ACTIONS.join(', ')}` })
  actions!: TokenAction[];

  /** Its lifetime in seconds, a minute to 30 days; an hour (3600) when not given. */
  @IsOptional()
  // No `default` here: the generated client would take the field for a required one.
  @ApiProperty({
    type: 'integer',
    minimum: MIN_TOKEN_TTL_SECONDS,
    maximum: MAX_TOKEN_TTL_SECONDS,
    required: false,
  })
  @IsInt()
  @Min(MIN_TOKEN_TTL_SECONDS)
  @Max(MAX_TOKEN_TTL_SECONDS)
  ttlSeconds?: number;
}

/** A scoped token as it is kept: everything but the token itself. */
abstract class TokenFieldsDto {
  /** Its id, not secret: revoke it with `DELETE /api/tokens/{id}`; its runs and limits count by it. */
  @ApiProperty({ format: 'uuid' })
  id!: string;

  name!: string;

  /** The environments it may act in; `["*"]`: every one. */
  environments!: string[];

  @ApiProperty({ enum: TokenAction, enumName: 'TokenAction', isArray: true })
  actions!: TokenAction[];

  /** ISO time it was minted. */
  createdAt!: string;

  /** ISO time from which it is refused (401). */
  expiresAt!: string;
}

/** A new token: `token` is shown this once (the service keeps only its SHA-256). */
export class MintedTokenDto extends TokenFieldsDto {
  /** The bearer token: `cca_` and 43 characters. */
  token!: string;
}

export class TokenDto extends TokenFieldsDto {
  /** ISO time it was revoked, or null. */
  revokedAt!: string | null;
}

/** A page of the scoped tokens, newest first: live, expired and revoked, until pruned. */
export class TokenListDto {
  items!: TokenDto[];

  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor!: string | null;
}
