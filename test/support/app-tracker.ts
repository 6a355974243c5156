import { INestApplication } from '@nestjs/common';

/**
 * Registers an `afterEach` that closes every app the spec's tests created, so a failing test
 * never leaks one (nor its store, timers or port). Call it in a describe block and hand each app
 * to the returned function as soon as it exists, with what must happen before its close can
 * finish (ending a run still in flight, say). An app the test closed itself is waited for: that
 * close may still be under way when the test failed.
 */
export function trackApps() {
  const tracked = new Map<INestApplication, () => void>();
  afterEach(async () => {
    const apps = [...tracked];
    tracked.clear();
    await Promise.all(
      apps.map(([app, beforeClose]) => {
        beforeClose();
        return app.close();
      }),
    );
  });
  return <T extends INestApplication>(app: T, beforeClose: () => void = () => undefined): T => {
    tracked.set(app, beforeClose);
    // Closed once, whoever asks first; later calls wait for that close.
    const close = app.close.bind(app);
    let closing: Promise<void> | undefined;
    app.close = () => (closing ??= close());
    return app;
  };
}
