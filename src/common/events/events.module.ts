import { Global, Module } from '@nestjs/common';
import { ServiceEvents } from './service-events';

/** The service's event bus, for every module. */
@Global()
@Module({ providers: [ServiceEvents], exports: [ServiceEvents] })
export class EventsModule {}
