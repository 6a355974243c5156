import { Module } from '@nestjs/common';
import { ScopedTokens } from '../common/auth/scoped-tokens';
import { Clock, SystemClock } from '../common/clock';
import { LiveTokens } from './live-tokens';
import { TokensController } from './tokens.controller';
import { TokensRepository } from './tokens.repository';
import { TokensService } from './tokens.service';

/** Scoped tokens: minted, listed and revoked with a master token, and checked by the auth guard. */
@Module({
  controllers: [TokensController],
  providers: [
    TokensRepository,
    TokensService,
    LiveTokens,
    { provide: Clock, useClass: SystemClock },
    // For the auth guard, which must not depend on this feature.
    { provide: ScopedTokens, useExisting: LiveTokens },
  ],
  exports: [ScopedTokens],
})
export class TokensModule {}
