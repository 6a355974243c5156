import { Global, Module } from '@nestjs/common';
import { EventsTokens } from './events-tokens';

/** The auth pieces the global guard and the features share. */
@Global()
@Module({ providers: [EventsTokens], exports: [EventsTokens] })
export class AuthModule {}
