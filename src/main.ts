import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { loadConfigFromProcessEnv } from './common/config/config.module';
import { ConfigValidationError } from './common/config/load-config';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfigFromProcessEnv();
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const app = await createApp(config);
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  new Logger('main').log(`claudecode-api listening on http://${config.host}:${config.port}`);
}

void bootstrap();
