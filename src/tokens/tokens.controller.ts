import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated } from '../common/auth/api-authenticated.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { PageQueryDto } from '../common/http/page-query.dto';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { MasterOnly } from '../common/routes/required-scope.decorator';
import { MintedTokenDto, MintTokenDto, TokenListDto } from './dto/token.dto';
import { TokensService } from './tokens.service';

@ApiTags('tokens')
@ApiAuthenticated()
@ApiErrors({ 400: [ErrorCode.VALIDATION_FAILED] })
@Controller('api/tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  /**
   * Mints a scoped token: it may do only its `actions`, in its `environments`, until it expires
   * or is revoked. The token is in this answer only; the service keeps its SHA-256. Give a browser
   * such a token, short-lived, never a master token.
   */
  @Post()
  @MasterOnly()
  @ApiCreatedResponse({ type: MintedTokenDto })
  mintToken(@Body() body: MintTokenDto): MintedTokenDto {
    return this.tokens.mint(body);
  }

  /**
   * The scoped tokens, newest first, a page at a time (a token function mints one per sign-in),
   * with when each expires or was revoked (never the token).
   */
  @Get()
  @MasterOnly()
  @ApiOkResponse({ type: TokenListDto })
  listTokens(@Query() query: PageQueryDto): TokenListDto {
    return this.tokens.list(query);
  }

  /** Revokes a scoped token: its next request is refused (401). Revoking it again is harmless. */
  @Delete(':id')
  @MasterOnly()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiParam({ name: 'id', description: 'The token id', format: 'uuid' })
  @ApiErrors({ 404: [ErrorCode.TOKEN_NOT_FOUND] })
  revokeToken(@Param('id', UuidParamPipe) id: string): Promise<void> {
    return this.tokens.revoke(id);
  }
}
