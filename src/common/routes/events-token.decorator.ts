import { SetMetadata } from '@nestjs/common';

export const EVENTS_TOKEN_KEY = 'claudecode:eventsToken';

/**
 * The route also accepts a run-scoped `?access_token=` (see EventsTokens) for its `:id`, since
 * the browser's EventSource cannot send an Authorization header. Never the main token in a URL.
 */
export const AcceptsEventsToken = (): MethodDecorator => SetMetadata(EVENTS_TOKEN_KEY, true);
