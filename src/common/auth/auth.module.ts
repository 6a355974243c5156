import { Global, Module } from '@nestjs/common';
import { EventsTokens } from './events-tokens';
import { RouteTraitsReader } from '../routes/route-traits';

/** The auth pieces the global guard and the features share. */
@Global()
@Module({
  providers: [EventsTokens, RouteTraitsReader],
  exports: [EventsTokens, RouteTraitsReader],
})
export class AuthModule {}
