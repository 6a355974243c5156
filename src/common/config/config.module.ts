import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './app-config';
import { loadConfig } from './load-config';

/** Provides the validated `AppConfig` to every module under the `APP_CONFIG` token. */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}

/** The only place that reads `process.env`: everything else gets an `AppConfig`. */
export function loadConfigFromProcessEnv(): AppConfig {
  return loadConfig(process.env);
}
